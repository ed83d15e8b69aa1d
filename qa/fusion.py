"""Fusion: one score per candidate from its BM25 and dense scores (pure functions, documented constants)."""
from __future__ import annotations

import numpy as np

BM25_WEIGHT = 0.8   # share of the max-normalised BM25 score in the fused score; dense gets the rest
                    # (0.5-0.9 tried on the dev split: 0.8 best, see README "Quality")
RRF_K = 60          # reciprocal-rank-fusion constant (Cormack et al. 2009), kept for comparison


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale scores to [0, 1]; all-equal scores become 0."""
    if not len(scores):
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    return (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)


def weighted_fusion(bm25: np.ndarray, dense: np.ndarray, bm25_weight: float = BM25_WEIGHT) -> np.ndarray:
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
