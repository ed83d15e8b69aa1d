"""BM25: Lucene's variant (as bm25s scores it) over term frequencies kept per chunk row, with document
frequencies and length normalisation computed at query time, so that adding a document tokenises only
that document and deleting one only marks its rows. Pure functions over arrays, and the postings that own
them: a packed block (CSC: rows and frequencies per term id) and the rows added since, packed on first use
and merged into the block once they reach a quarter of it."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

K1, B = 1.5, 0.75        # bm25s's defaults, which every measured figure of this project was taken with
MERGE_AT = 0.25          # recent postings merged into the packed block past this fraction of it


def idf(df: int, n: int) -> float:
    """BM25's inverse document frequency of a token found in df of n chunks (Lucene's form, never negative)."""
    return float(np.log(1 + (max(n, 1) - df + 0.5) / (df + 0.5)))


def weights(tf: np.ndarray, lengths: np.ndarray, mean_length: float, term_idf: float) -> np.ndarray:
    """One term's BM25 contribution to each chunk holding it (float32, as bm25s stores its scores)."""
    return (term_idf * tf / (K1 * ((1 - B) + B * lengths / mean_length) + tf)).astype(np.float32)


@dataclass(frozen=True)
class Counts:
    """Term frequencies of some rows as COO arrays over their own words (what a segment stores)."""
    words: list[str]
    rows: np.ndarray       # row of each (row, term) pair, from 0
    terms: np.ndarray      # index into words
    tf: np.ndarray
    lengths: np.ndarray    # tokens per row


def count(token_rows: list[list[str]]) -> Counts:
    """The term frequencies of rows of tokens."""
    ids: dict[str, int] = {}
    rows, terms, tf = [], [], []
    for i, tokens in enumerate(token_rows):
        for token, n in Counter(tokens).items():
            rows.append(i)
            terms.append(ids.setdefault(token, len(ids)))
            tf.append(n)
    return Counts(list(ids), np.array(rows, np.int64), np.array(terms, np.int64), np.array(tf, np.float64),
                  np.array([len(t) for t in token_rows], np.float64))


def pack(rows: np.ndarray, terms: np.ndarray, tf: np.ndarray, n_terms: int) -> tuple[np.ndarray, ...]:
    """COO postings (row, term id, frequency) as CSC arrays: indptr per term id, rows and frequencies."""
    order = np.argsort(terms, kind="stable")           # rows stay ascending within a term
    indptr = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    return indptr, rows[order], tf[order]


class Postings:
    """The BM25 side of one store: a growing vocabulary, each row's length and whether it is alive."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.lengths = np.zeros(0, np.float64)
        self.alive = np.zeros(0, bool)
        self._packed = (np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        self._recent: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._recent_packed: tuple[np.ndarray, ...] | None = None

    @property
    def rows(self) -> int:
        """Rows ever added (alive or deleted): positions stay valid while the store is open."""
        return len(self.lengths)

    def add(self, counts: Counts) -> None:
        """Append rows (the next positions, in order) with their term frequencies."""
        ids = np.array([self.vocab.setdefault(w, len(self.vocab)) for w in counts.words], np.int64)
        self._recent.append((counts.rows + self.rows, ids[counts.terms] if len(ids) else counts.terms,
                             counts.tf.astype(np.float64)))
        self.lengths = np.concatenate([self.lengths, counts.lengths.astype(np.float64)])
        self.alive = np.concatenate([self.alive, np.ones(len(counts.lengths), bool)])
        self._recent_packed = None
        if sum(len(r) for r, _, _ in self._recent) > MERGE_AT * len(self._packed[1]):
            self._merge()

    def delete(self, rows: np.ndarray) -> None:
        """Mark rows deleted: they score nothing and count in no statistic."""
        self.alive[rows] = False

    def _merge(self) -> None:
        indptr, rows, tf = self._packed
        terms = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        parts = [(rows, terms, tf), *self._recent]
        self._packed = pack(*(np.concatenate([p[k] for p in parts]) for k in range(3)), len(self.vocab))
        self._recent, self._recent_packed = [], None

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """The alive rows holding a token, ascending, with its frequency in each."""
        tid = self.vocab.get(token)
        if tid is None:
            return np.zeros(0, np.int64), np.zeros(0)
        if self._recent and self._recent_packed is None:
            self._recent_packed = pack(*(np.concatenate([p[k] for p in self._recent]) for k in range(3)),
                                       len(self.vocab))
        blocks = [self._packed] + ([self._recent_packed] if self._recent else [])
        rows = np.concatenate([b[1][b[0][tid]:b[0][tid + 1]] for b in blocks if tid < len(b[0]) - 1])
        tf = np.concatenate([b[2][b[0][tid]:b[0][tid + 1]] for b in blocks if tid < len(b[0]) - 1])
        keep = self.alive[rows]
        return rows[keep], tf[keep]

    def df(self, token: str) -> int:
        """In how many alive rows a token occurs."""
        return len(self.postings(token)[0])

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every row for a query's tokens (a repeated token counts again, as in bm25s)."""
        out = np.zeros(self.rows, np.float32)
        n = int(self.alive.sum())
        if not n:
            return out
        mean_length = float(self.lengths[self.alive].mean())
        for token in tokens:
            rows, tf = self.postings(token)
            if len(rows):
                out[rows] += weights(tf, self.lengths[rows], mean_length, idf(len(rows), n))
        return out
