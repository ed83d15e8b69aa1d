"""Fusion: one score per candidate from its BM25 and dense scores (pure functions; the BM25 weight is the
model's calibration, see qa/calibration.py)."""
from __future__ import annotations

import numpy as np

RRF_K = 60          # reciprocal-rank-fusion constant (Cormack et al. 2009), kept for comparison


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale scores to [0, 1]; all-equal scores become 0."""
    if not len(scores):
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    return (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)


def weighted_fusion(bm25: np.ndarray, dense: np.ndarray, bm25_weight: float) -> np.ndarray:
    """Fused score per candidate: w * bm25/max(bm25) + (1 - w) * minmax(dense).

    BM25 is divided by its maximum (not min-max) so a query whose terms match nothing stays at 0,
    while dense cosines are min-max scaled because their floor is far above 0 on any text.
    """
    top = float(bm25.max(initial=0.0))
    lexical = bm25 / top if top > 0 else np.zeros_like(bm25)
    return bm25_weight * lexical + (1 - bm25_weight) * minmax(dense)


def rrf_fusion(bm25: np.ndarray, dense: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Reciprocal rank fusion: sum over retrievers of 1 / (k + rank), rank starting at 1."""
    def ranks(s: np.ndarray) -> np.ndarray:
        r = np.empty(len(s))
        r[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
        return r
    return 1.0 / (k + ranks(bm25)) + 1.0 / (k + ranks(dense))
