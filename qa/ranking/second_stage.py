"""The second stage: a rescoring of the top fused candidates, behind one small protocol with two
implementations — the rule stage (year/place checks and term proximity, qa.rerank) and the learned stage
(a cross-encoder trained here, qa.encoders.cross_e5, with the same year/place checks)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from ..documents.document import Chunk, Document
from ..text import cn_figures
from .passages import Passages
from .query import Query
from .rerank import RERANK_DEPTH, asks_header, proximity, rerank_score, states_target, unsupported, wants_result

Stage = Literal["learned", "rules"]

# The learned stage's constants, chosen on the dev splits of both gold corpora (docs/evaluation.md):
LEARNED_DEPTH = 12        # fused candidates the cross-encoder reads: dev MRR@10 ningbo / other-cities 0.887 / 0.887
                          # at 12 against 0.881 / 0.879 at 16, and 3/4 of the cost (16: 209 ms, 21x hybrid)
CROSS_WEIGHT = 0.1        # x the cross-encoder's logit, added to the rule stage's score. Dev MRR@10 ningbo /
                          # other-cities (the shipped model): rules alone 0.917 / 0.749 (tuned on ningbo's dev),
                          # the model alone 0.791 / 0.865; rules + 0.1 logit 0.884 / 0.879, + 0.2 logit
                          # 0.868 / 0.903, + 0.5 logit 0.827 / 0.910; rules + 0.3 p 0.909 / 0.830, + 1.0 p
                          # 0.886 / 0.861. Chosen: the best pooled MRR with the two corpora within 0.05.


@dataclass(frozen=True)
class Rescored:
    """The rescored candidates' new scores (higher first) and, from the learned stage, the chance each
    answers the question with the year/place checks applied (0 where a named year or place is absent)."""
    scores: np.ndarray
    answers: np.ndarray | None = None


class SecondStage(Protocol):
    """Rescores the top fused candidates of a query; a stage that gives probabilities (Rescored.answers)
    abstains under its own `abstain_below`."""
    name: Stage
    depth: int
    abstain_below: float

    def rescore(self, query: Query, positions: np.ndarray, fused: np.ndarray, passages: Passages) -> Rescored: ...


def model_text(document: Document, chunk: Chunk) -> str:
    """A passage as the cross-encoder reads it: title, date and heading path, then the text as written but
    with Chinese-numeral figures as digits (二〇〇三年 -> 2003年; training/build_pairs.py reads through this)."""
    head = " ".join(part for part in (f"《{document.title}》" if document.title else "", document.date,
                                      chunk.heading) if part)
    return cn_figures(f"{head}：{chunk.text}" if head else chunk.text)


class RuleStage:
    """Fused score, minus a penalty for an unmet year/place, an unasked header or a target where a result is
    asked, plus term proximity."""
    name: Stage = "rules"
    depth = RERANK_DEPTH
    abstain_below = 0.0       # unused: the rule stage's answers abstain by the calibration (qa.decide)

    def rescore(self, query: Query, positions: np.ndarray, fused: np.ndarray, passages: Passages) -> Rescored:
        out = fused.astype(float).copy()
        result = wants_result(query.text, query.wanted)
        for i, pos in enumerate(positions):
            context = passages.context(int(pos))
            out[i] = rerank_score(fused[i], len(unsupported(query.wanted, context.text, context.date)),
                                  proximity(query.terms, context.normalized),
                                  context.header and not asks_header(query.text, query.wanted.wants),
                                  result and states_target(query.terms, context.normalized))
        return Rescored(out)


class LearnedStage:
    """The rule stage's score plus the cross-encoder's logit that the passage answers; its probability (0 where the passage and its document lack a year or place the question names) is what
    the answer abstains on."""
    name: Stage = "learned"

    def __init__(self, model, depth: int = LEARNED_DEPTH, weight: float = CROSS_WEIGHT):
        self.model = model            # a qa.encoders.cross_e5.CrossEncoder (or anything with probabilities())
        self.depth, self.weight = depth, weight
        self.abstain_below = float(model.meta["abstain_below"])   # chosen on the dev splits (its model card)
        self._rules = RuleStage()

    def rescore(self, query: Query, positions: np.ndarray, fused: np.ndarray, passages: Passages) -> Rescored:
        texts, met = [], []
        for pos in positions:
            chunk = passages.chunk(int(pos))
            texts.append(model_text(passages.document(chunk.doc_id), chunk))
            context = passages.context(int(pos))
            met.append(not unsupported(query.wanted, context.text, context.date))
        logits = self.model.logits(query.text, texts).astype(float)
        p = 1.0 / (1.0 + np.exp(-logits))
        ruled = self._rules.rescore(query, positions, fused, passages).scores
        return Rescored(ruled + self.weight * logits, np.where(np.array(met, bool), p, 0.0))
