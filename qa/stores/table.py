"""Table: the rows a process holds of the local store, in the order they were loaded or added: chunks,
their vectors (FAISS, exact or HNSW), their BM25 postings and the tokenizer that made them. Rows are only
appended; a deleted or replaced document's rows are marked dead and never returned again."""
from __future__ import annotations

import faiss
import numpy as np

from ..documents.document import Chunk, index_text
from ..text import Tokenizer
from .base import Candidates
from .bm25 import Counts, Postings, count, idf

HNSW_ABOVE = 200_000        # exact flat search up to this many chunks, HNSW beyond (see `reform-qa bench`)
FAISS_THREADS = 1           # one query at a time: a second OpenMP thread only contends with the encoder's
                            # threads (measured at 100K chunks: flat search p50 28 ms with 2 threads, 7 ms with 1)
faiss.omp_set_num_threads(FAISS_THREADS)


def dense_index(dim: int, rows: int) -> faiss.Index:
    """Inner-product FAISS index over L2-normalised vectors: flat (exact) or HNSW for large corpora."""
    if rows > HNSW_ABOVE:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
        return index
    return faiss.IndexFlatIP(dim)


class Table:
    """Chunks with their vectors and postings, by row; each live document's rows are one range."""

    def __init__(self, dim: int):
        self.dim = dim
        self.chunks: list[Chunk] = []
        self.dense = dense_index(dim, 0)
        self.postings = Postings()
        self.tokenizer = Tokenizer()
        self._buffer = np.zeros((0, dim), np.float32)   # the rows' vectors, grown by doubling
        self._rows: dict[str, range] = {}               # live document -> its rows
        self._row_doc: list[str] = []
        self._positions: dict[str, int] = {}            # live chunk id -> its row

    @property
    def embeddings(self) -> np.ndarray:
        """Every row's vector (dead rows included), in row order."""
        return self._buffer[:len(self.chunks)]

    def counts(self, chunks: list[Chunk]) -> Counts:
        """A document's term counts as this table tokenises (its tokenizer knows the corpus's terms)."""
        return count([self.tokenizer(index_text(c)) or ["∅"] for c in chunks])

    def rows(self, doc_id: str) -> range:
        """A live document's rows (empty for one the table does not hold)."""
        return self._rows.get(doc_id, range(0))

    def neighbours(self, chunk_id: str) -> tuple[str, str]:
        """The texts of the rows before and after a live chunk's, in its document."""
        pos = self._positions.get(chunk_id)
        if pos is None:
            return "", ""
        rows = self.rows(self._row_doc[pos])
        before = self.chunks[pos - 1].text if pos - 1 in rows else ""
        after = self.chunks[pos + 1].text if pos + 1 in rows else ""
        return before, after

    def vectors(self, doc_ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors of these documents' rows, by chunk id."""
        return {self.chunks[i].id: self._buffer[i] for d in doc_ids for i in self.rows(d)}

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a token over the live rows."""
        return idf(self.postings.df(token), int(self.postings.alive.sum()))

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 allowed: np.ndarray | None) -> Candidates:
        """The dense top n with the BM25 top n over the live rows, or every live row `allowed` marks."""
        alive = self.postings.alive
        bm25 = self.postings.scores(self.tokenizer(text))
        if extra:
            bm25 = bm25 + extra_weight * self.postings.scores(self.tokenizer(extra))
        if allowed is not None:
            cand = np.flatnonzero(alive & allowed)
        else:
            live = np.flatnonzero(alive)
            n = min(n, len(live))
            if not n:
                return Candidates(*(np.zeros(0),) * 3)
            dead = len(alive) - len(live)
            _, found = self.dense.search(vector[None, :].astype(np.float32), min(n + dead, len(alive)))
            dense_top = [i for i in found[0] if i >= 0 and alive[i]][:n]
            lexical = live[np.argpartition(-bm25[live], n - 1)[:n]]
            cand = np.union1d(np.array(dense_top, dtype=np.int64), lexical)
        return Candidates(cand, bm25[cand].astype(np.float64), self.embeddings[cand] @ vector)

    def mask(self, doc_ids) -> np.ndarray:
        """Rows of these live documents, as a mask over all rows."""
        out = np.zeros(len(self.chunks), bool)
        for d in doc_ids:
            out[self.rows(d).start:self.rows(d).stop] = True
        return out

    def append(self, loaded: list[tuple[str, list[Chunk], np.ndarray, Counts]]) -> None:
        """Add documents' rows at the end: (document id, chunks, vectors, term counts) each."""
        if not loaded:
            return
        start = len(self.chunks)
        added = np.concatenate([v for _, _, v, _ in loaded]).astype(np.float32).reshape(-1, self.dim)
        if start + len(added) > len(self._buffer):
            grown = np.zeros((max(start + len(added), 2 * len(self._buffer), 1024), self.dim), np.float32)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:start + len(added)] = added
        for doc_id, chunks, _, counts in loaded:
            self._rows[doc_id] = range(len(self.chunks), len(self.chunks) + len(chunks))
            self._positions.update((c.id, len(self.chunks) + i) for i, c in enumerate(chunks))
            self.chunks.extend(chunks)
            self._row_doc.extend([doc_id] * len(chunks))
            self.postings.add(counts)
        if self.dense.ntotal == 0 and len(self.chunks) > HNSW_ABOVE:
            self.dense = dense_index(self.dim, len(self.chunks))
        if len(added):
            self.dense.add(np.ascontiguousarray(added))

    def drop(self, doc_id: str) -> None:
        """Mark a document's rows dead (its chunks are never returned again)."""
        rows = self._rows.pop(doc_id, None)
        if rows is not None and len(rows):
            self.postings.delete(np.arange(rows.start, rows.stop))
            for i in rows:
                if self._positions.get(self.chunks[i].id) == i:
                    del self._positions[self.chunks[i].id]
