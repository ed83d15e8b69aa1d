"""The second stage: a rescoring of the top fused candidates, behind one small protocol with two
implementations — the rule stage (year/place checks and term proximity, qa.rerank) and the learned stage
(a cross-encoder trained here, qa.encoders.cross_e5, with the same year/place checks)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from .documents.document import Chunk, Document
from .passages import Passages
from .query import Query
from .rerank import MISMATCH_PENALTY, RERANK_DEPTH, proximity, rerank_score, unsupported

Stage = Literal["learned", "rules"]

# The learned stage's constants, chosen on the dev splits of both gold corpora (docs/evaluation.md):
LEARNED_DEPTH = 16        # fused candidates the cross-encoder reads (cost grows with it: bench --quick)
FUSED_WEIGHT = 0.1        # x the fused score, added to the probability (breaks near-ties toward retrieval)


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
    """A passage as the cross-encoder reads it: title, date and heading path, then the text as written
    (training/build_pairs.py reads its passages through this too)."""
    head = " ".join(part for part in (f"《{document.title}》" if document.title else "", document.date,
                                      chunk.heading) if part)
    return f"{head}：{chunk.text}" if head else chunk.text


class RuleStage:
    """Fused score, minus a penalty for an unmet year/place or an unasked header, plus term proximity."""
    name: Stage = "rules"
    depth = RERANK_DEPTH
    abstain_below = 0.0       # unused: the rule stage's answers abstain by the calibration (qa.decide)

    def rescore(self, query: Query, positions: np.ndarray, fused: np.ndarray, passages: Passages) -> Rescored:
        out = fused.astype(float).copy()
        for i, pos in enumerate(positions):
            context = passages.context(int(pos))
            out[i] = rerank_score(fused[i], len(unsupported(query.wanted, context.text, context.date)),
                                  proximity(query.terms, context.normalized),
                                  context.header and query.wanted.wants != "who")
        return Rescored(out)


class LearnedStage:
    """The cross-encoder's probability that a passage answers, 0 where the passage and its document lack a
    year or place the question names; ordered by that plus a little of the fused score."""
    name: Stage = "learned"

    def __init__(self, model, depth: int = LEARNED_DEPTH):
        self.model = model            # a qa.encoders.cross_e5.CrossEncoder (or anything with probabilities())
        self.depth = depth
        self.abstain_below = float(model.meta["abstain_below"])   # chosen on the dev splits (its model card)

    def rescore(self, query: Query, positions: np.ndarray, fused: np.ndarray, passages: Passages) -> Rescored:
        texts, met = [], []
        for pos in positions:
            chunk = passages.chunk(int(pos))
            texts.append(model_text(passages.store.document(chunk.doc_id), chunk))
            context = passages.context(int(pos))
            met.append(not unsupported(query.wanted, context.text, context.date))
        p = self.model.probabilities(query.text, texts).astype(float)
        met = np.array(met, bool)
        return Rescored(p - MISMATCH_PENALTY * ~met + FUSED_WEIGHT * fused, np.where(met, p, 0.0))
