"""The alternatives measured beside the cross-encoder, on the same training questions: a logistic
regression over the rule stage's own features (fused score, BM25, cosine, proximity, coverage, the
year/place check, header, rank, answer kind), fitted here, then ranked and thresholded on the gold dev
splits like the learned stage.

    python -m training.alternatives
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qa.engine import Engine
from qa.evaluate import CORPORA, evaluate, learned_threshold, load_questions
from qa.ranking.rerank import gives, proximity, unsupported
from qa.ranking.second_stage import Rescored
from training.build_pairs import HERE, WORK, corpus, squash

DEPTH = 20


def features(engine: Engine, query, positions: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """One row of features per candidate."""
    rows = []
    top = float(fused.max()) if len(fused) else 1.0
    for rank, (pos, f) in enumerate(zip(positions, fused)):
        ctx = engine.passages.context(int(pos))
        rows.append([1.0, f, f / max(top, 1e-9), proximity(query.terms, ctx.normalized), query.terms.share(ctx.text),
                     float(bool(unsupported(query.wanted, ctx.text, ctx.date))), float(ctx.header),
                     1.0 / (rank + 1), float(gives(query.wanted.wants, ctx.text))])
    return np.array(rows, float)


class FeatureStage:
    """The fitted logistic regression as a second stage."""
    name = "learned"
    depth = DEPTH
    abstain_below = 0.5

    def __init__(self, engine: Engine, weights: np.ndarray):
        self.engine, self.weights = engine, weights

    def rescore(self, query, positions, fused, passages) -> Rescored:
        p = 1 / (1 + np.exp(-features(self.engine, query, positions, fused) @ self.weights))
        return Rescored(p, p)


def training_rows(engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for qfile in sorted((HERE / "questions").glob("*.jsonl")):
        for line in qfile.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            query = engine.query(row["question"])
            ranking = engine.rank(query, "hybrid")
            pos, fused = ranking.positions[:DEPTH], ranking.scores[:DEPTH]
            span = squash(row.get("answer"))
            ys += [float(bool(span) and engine.store.chunk(int(p)).doc_id == qfile.stem
                         and span in squash(engine.store.chunk(int(p)).text)) for p in pos]
            xs.append(features(engine, query, pos, fused))
    return np.concatenate(xs), np.array(ys)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 3000) -> np.ndarray:
    """Logistic regression by gradient descent (features are on similar scales)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ (p - y) / len(y) + l2 * w)
    return w


def main() -> None:
    engine = Engine(data_dir=corpus(HERE / "documents"), index_dir=WORK / "index", progress=False)
    x, y = training_rows(engine)
    w = fit(x, y)
    print(f"fitted on {len(y)} candidates ({int(y.sum())} answers): weights {np.round(w, 3).tolist()}")
    rows = []
    for name, folder in CORPORA.items():
        dev = load_questions(folder / "eval" / "questions.jsonl", "dev")
        target = Engine(data_dir=folder, index_dir=Path(engine.settings.index_dir).parent / f"alt-{name}",
                        encoder=engine.encoder, progress=False)
        target.use_stage(FeatureStage(target, w))
        m = evaluate(target, dev, "learned")
        print(f"{name} dev: hit@1 {m['hit@1']:.3f} MRR@10 {m['mrr@10']:.3f} (at threshold 0.5: abstain recall "
              f"{m['abstain_recall']:.3f}, answer rate {m['answer_rate']:.3f})")
        rows.append((target, dev))
    threshold, figures = learned_threshold(rows)
    print(f"pooled dev threshold {threshold}: {json.dumps(figures)}")


if __name__ == "__main__":
    main()
