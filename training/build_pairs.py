"""Rebuild the training file (training/pairs.jsonl.gz) from the documents and questions in this folder.

    python -m training.build_pairs

Each question (training/questions/<doc>.jsonl, written from that document alone) is asked of an engine
over all the training documents. An answerable question's positives are the passages of its document that
hold its answer span; its negatives are the engine's own top candidates that do not (neighbours, other
years and places, targets against achieved figures, headings). A close miss (answer null) gets the passage
that nearly answers it and the engine's top candidates, all labelled 0. Documents are split by name:
every eighth is held back as the validation set training reports on.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import shutil
from pathlib import Path

from qa.engine import Engine
from qa.ranking.second_stage import model_text

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"                # the index and checkpoints: rebuilt, never committed
PAIRS = HERE / "pairs.jsonl.gz"
DEPTH = 24                          # engine candidates a question's negatives come from
HARDEST = 5                         # the top-ranked wrong passages always taken
SAMPLED = 2                         # and this many more drawn from the rest of the top DEPTH


def split_of(doc: str) -> str:
    """"val" for every eighth document by a stable hash of its name, else "train"."""
    return "val" if int(hashlib.sha1(doc.encode()).hexdigest(), 16) % 8 == 0 else "train"


def corpus(folder: Path) -> Path:
    """A corpus folder of the training documents, with a catalog giving each its year from its name."""
    out = WORK / "corpus"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    catalog = {}
    for path in sorted(folder.glob("*.txt")):
        shutil.copy(path, out / path.name)
        year = re.search(r"(19|20)\d\d", path.stem)
        title = next((line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()), path.stem)
        catalog[path.stem] = {"title": title[:80], "date": year.group(0) if year else ""}
    (out / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def pairs_for(engine: Engine, row: dict, doc: str, rng: random.Random) -> list[dict]:
    """The labelled (question, passage) pairs of one question; [] when its answer span is in no passage."""
    store = engine.store
    query = engine.query(row["question"])
    ranking = engine.rank(query, "hybrid")
    candidates = [int(p) for p in ranking.positions[:DEPTH]]
    text = lambda pos: model_text(store.document(store.chunk(pos).doc_id), store.chunk(pos))
    mine = [pos for pos in range(store.count) if store.chunk(pos).doc_id == doc]
    span = squash(row.get("answer") or row.get("near"))
    holding = [pos for pos in mine if span and span in squash(store.chunk(pos).text)]
    if not holding:
        return []
    answerable = row.get("answer") is not None
    wrong = [pos for pos in candidates if not (answerable and pos in holding)]
    chosen = wrong[:HARDEST] + rng.sample(wrong[HARDEST:], min(SAMPLED, len(wrong[HARDEST:])))
    if not answerable:
        chosen = list(dict.fromkeys(holding[:1] + chosen))
    out = [{"q": row["question"], "p": text(pos), "y": 0} for pos in chosen]
    if answerable:
        out += [{"q": row["question"], "p": text(pos), "y": 1} for pos in holding[:2]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(PAIRS))
    args = parser.parse_args()
    folder = corpus(HERE / "documents")
    engine = Engine(data_dir=folder, index_dir=WORK / "index", progress=True)
    rng = random.Random(13)
    rows, missed, asked = [], [], 0
    for qfile in sorted((HERE / "questions").glob("*.jsonl")):
        doc = qfile.stem
        if not (folder / f"{doc}.txt").is_file():
            continue
        for n, line in enumerate(qfile.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            row = json.loads(line)
            asked += 1
            made = pairs_for(engine, row, doc, rng)
            if not made:
                missed.append(f"{doc}:{n + 1}")
            for pair in made:
                rows.append({**pair, "qid": f"{doc}:{n + 1}", "doc": doc, "split": split_of(doc),
                             "answerable": row.get("answer") is not None})
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for pair in rows:
            out.write(json.dumps(pair, ensure_ascii=False) + "\n")
    positives = sum(p["y"] for p in rows)
    print(f"{asked} questions, {len(rows)} pairs ({positives} positive) -> {args.out}; "
          f"{len(missed)} questions whose span is in no passage: {', '.join(missed[:20])}")


if __name__ == "__main__":
    main()
