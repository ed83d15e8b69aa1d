"""Milvus: the corpus in Milvus (Milvus Lite in a .db file, or a Milvus server or cluster), with Milvus's
own BM25 (jieba analyzer fed with the corpus dictionary) and dense search, both filtered server-side.
A process holds nothing but the address: opening reads one row per document; the chunks a search
returns are fetched by id, their neighbours on demand, and term frequencies from the terms collection.
The second stage and the answer stay in Python (qa.engine)."""
from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np

from ..documents.document import Chunk
from ..text import Tokenizer, corpus_terms, searchable
from .base import Candidates, Filters, Listing, Rows, fingerprint
from .bm25 import idf
from .milvus_schema import (CHUNK_FIELDS, MilvusError, check_model, chunk_of, connect, create, cut, document_of,
                            expression, heads, quoted, talking, terms_collection)
from .milvus_writer import Writer

# pymilvus logs each failed call with its traceback before raising it: our MilvusError says what to do instead
logging.getLogger("pymilvus").setLevel(logging.CRITICAL + 1)

FRESH = 10.0          # seconds the list of documents and term counts are trusted before they are re-read
CACHE = 100_000       # chunks held per process; the cache starts afresh past this, before a search


class MilvusTerms:
    """The Milvus store's Vocabulary: the corpus dictionary of its documents, and document frequencies
    summed from the terms collection (cached while the documents stay the same)."""

    def __init__(self, store: "MilvusStore"):
        self.store = store
        self.tokenizer = Tokenizer()

    def knows(self, token: str) -> bool:
        return self.store.frequency(token) > 0

    def idf(self, token: str) -> float:
        return idf(self.store.frequency(token), max(self.store.listing().count, 1))


class MilvusStore:
    """One corpus in Milvus, as this process sees it: the documents, and the chunks handed out so far."""

    def __init__(self, client, collection: str, model: str, dim: int, uri: str = ""):
        self.client, self.collection, self.model, self.dim, self.uri = client, collection, model, dim, uri
        self._chunks: list[Chunk] = []
        self._positions: dict[str, int] = {}
        self._seq: dict[str, int] = {}
        self._words: list[str] | None = None
        self._df: dict[str, int] = {}
        self._heads: dict[str, dict] = {}
        self._listing = Listing(model)
        self._read_at = 0.0
        self._lock = threading.RLock()     # the caches, against threads asking at once
        self.vocabulary = MilvusTerms(self)
        self.writer = Writer(client, collection)
        self.refresh()

    @classmethod
    def open(cls, uri: str, model: str, dim: int, collection: str, token: str | None = None,
             fresh: bool = False) -> "MilvusStore":
        """The collection as it is (none yet: an empty store, made by the first write); a collection of
        another model, or one made by an older reform-qa, is refused. Opening writes nothing, but with
        `fresh` (a rebuild), which drops the collections first."""
        client = connect(uri, token)
        try:
            for name in (collection, terms_collection(collection)) if fresh else ():
                if client.has_collection(name):
                    client.drop_collection(name)
            for name in (collection, terms_collection(collection)):   # another process's are "released" here
                if client.has_collection(name):
                    client.load_collection(name)
            if client.has_collection(collection):
                check_model(client, collection, model, dim)
            return cls(client, collection, model, dim, uri)
        except MilvusError:
            raise
        except Exception as e:   # pymilvus errors: say where and what to do, never a traceback
            raise cls.failed(uri, collection, e) from None

    @staticmethod
    def failed(uri: str, collection: str, e: Exception) -> MilvusError:
        return MilvusError(f"Milvus at {uri} failed on collection {collection!r} ({e}); check the server, "
                           "or rebuild with `reform-qa --store … index --rebuild`")

    def refresh(self) -> None:
        """Re-read the documents (one row each), and forget the term counts if they changed: what another
        process added or removed is seen from here on."""
        with self._lock, talking(self.collection):
            rows = heads(self.client, self.collection) if self.client.has_collection(self.collection) else []
            self._refresh(rows)

    def _refresh(self, rows: list[dict]) -> None:
        self._heads = {r["doc_id"]: r for r in rows}
        documents = [document_of(r) for r in rows]
        signatures = {r["doc_id"]: r["signature"] for r in rows}
        words = sorted({t for r in rows for t in json.loads(r["terms"] or "[]")})
        if words != self._words:
            learned = set(self.vocabulary.tokenizer.words) - set(self._words or [])   # an ingest's corpus terms
            self.vocabulary.tokenizer, self._words = Tokenizer(sorted({*words, *learned})), words
        listing = Listing(self.model, tuple(documents), {r["doc_id"]: int(r["passages"]) for r in rows}, signatures,
                          fingerprint(documents, signatures))
        if listing.fingerprint != self._listing.fingerprint:    # term counts change only with the documents
            self._df = {}
        self._listing = listing
        self._read_at = time.monotonic()

    # -- Writer --------------------------------------------------------------------------------------
    def listing(self) -> Listing:
        if time.monotonic() - self._read_at > FRESH:
            self.refresh()
        return self._listing

    def put(self, rows: list[Rows]) -> None:
        """Write each document whole (see milvus_writer.Writer.add_document), its terms counted with the
        corpus dictionary of the store and of these documents; the collection is made by the first write."""
        if not rows:
            return
        words = corpus_terms(c.text for r in rows for c in r.chunks)
        try:
            with talking(self.collection):
                if not self.client.has_collection(self.collection):
                    create(self.client, self.collection, self.dim, Tokenizer(words).words)
                counted = [*self.vocabulary.tokenizer.words, *words]
                for r in rows:
                    self.writer.add_document(r.document, list(r.chunks), list(r.vectors), f"{self.model}/{self.dim}",
                                             counted)
                self.writer.flush()
        except MilvusError:
            raise
        except Exception as e:
            raise self.failed(self.uri, self.collection, e) from None
        self.refresh()

    def delete(self, doc_ids: list[str]) -> list[str]:
        """Delete these documents' rows from both collections; returns the ids it held."""
        self.refresh()
        held = [d for d in dict.fromkeys(doc_ids) if d in self._heads]
        if held:
            try:
                self.writer.delete(held)
                self.writer.flush()
            except Exception as e:
                raise MilvusError(f"could not delete {', '.join(held)} from Milvus collection "
                                  f"{self.collection!r} ({e}): is the server up?") from None
            self.refresh()
        return held

    def vectors(self, doc_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these documents' chunks, by chunk id."""
        held = [d for d in doc_ids if d in self._heads]
        if not held:
            return {}
        with talking(self.collection):
            return self.writer.vectors(held)

    def stored_ids(self) -> dict[str, str]:
        """chunk id -> document id of every row in the collection (for tests and checks: reads them all)."""
        return self.writer.stored_ids()

    def drop(self) -> None:
        """Drop this store's collections (the bench's scratch collections)."""
        self.writer.drop()

    # -- the Store protocol ------------------------------------------------------------------------
    def chunk(self, pos: int) -> Chunk:
        return self._chunks[pos]

    def neighbours(self, chunk_id: str) -> tuple[str, str]:
        with self._lock:
            pos = self._positions.get(chunk_id)
            if pos is None:                    # the cache started afresh since the chunk was handed out
                return "", ""
            c = self._chunks[pos]
            seq = self._seq[c.id]
        with talking(self.collection):
            rows = self.client.query(self.collection, output_fields=["seq", "body"],
                                     filter=f"doc_id == {quoted(c.doc_id)} and seq in [{seq - 1}, {seq + 1}]")
        text = {r["seq"]: r["body"] for r in rows}
        return text.get(seq - 1, ""), text.get(seq + 1, "")

    def frequency(self, token: str) -> int:
        """In how many chunks a token occurs: the sum of its per-document rows (cached while the documents
        stay the same; they are re-read every FRESH seconds)."""
        self.listing()
        if token not in self._df:
            with talking(self.collection):
                rows = self.client.query(terms_collection(self.collection), output_fields=["chunks"], limit=16384,
                                         filter=f"term == {quoted(cut(token, 256))}")
            self._df[token] = sum(int(r["chunks"]) for r in rows)
        return self._df[token]

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        if not self._heads:
            return Candidates(*(np.zeros(0),) * 3)
        with self._lock, talking(self.collection):
            return self._retrieve(text, extra, extra_weight, vector, n, filters)

    def _retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                  filters: Filters) -> Candidates:
        """Milvus's BM25 top n (the glossary forms searched apart, at extra_weight) and dense top n under the
        filters as a server-side expression; the candidates' rows are fetched by id (their vectors too,
        for the cosine of BM25-only ones; the BM25 of dense-only ones is 0: outside its top n)."""
        if len(self._chunks) > CACHE:
            self._chunks, self._positions, self._seq = [], {}, {}
        expr = expression(filters)
        bm25: dict[str, float] = {}
        for query, weight in ((text, 1.0), (extra, extra_weight)):
            if query.strip():
                for hit in self._search(searchable(query), "sparse", "BM25", n, expr):
                    bm25[hit["id"]] = bm25.get(hit["id"], 0.0) + weight * abs(hit["distance"])
        dense = {hit["id"]: float(hit["distance"])
                 for hit in self._search(vector.astype(np.float32).tolist(), "dense", "IP", n, expr)}
        wanted = [i for i in dict.fromkeys([*dense, *bm25]) if i not in self._positions or i not in dense]
        if wanted:
            fields = CHUNK_FIELDS + (["dense"] if any(i not in dense for i in wanted) else [])
            for row in self.client.get(self.collection, ids=wanted, output_fields=fields):
                if row["id"] not in dense:
                    dense[row["id"]] = float(np.asarray(row["dense"], np.float32) @ vector)
                self._hold(row)
        listed = self._listing.by_id
        if any(self._chunks[self._positions[i]].doc_id not in listed for i in wanted if i in self._positions):
            self._refresh(heads(self.client, self.collection))   # another process added a document
        # ids deleted meanwhile have no row, and rows of a document not listed (being written, or left by a
        # crashed write) are not yet the corpus's: both skipped
        ids = [i for i in dict.fromkeys([*dense, *bm25]) if i in self._positions and i in dense
               and self._chunks[self._positions[i]].doc_id in self._listing.by_id]
        return Candidates(np.array([self._positions[i] for i in ids], dtype=int),
                          np.array([bm25.get(i, 0.0) for i in ids]), np.array([dense[i] for i in ids]))

    def _hold(self, row: dict) -> None:
        """Keep a fetched chunk."""
        if row["id"] not in self._positions:
            self._positions[row["id"]] = len(self._chunks)
            self._chunks.append(chunk_of(row))
            self._seq[row["id"]] = int(row["seq"])

    def _search(self, data, field: str, metric: str, n: int, expr: str) -> list[dict]:
        results = self.client.search(self.collection, data=[data], anns_field=field, limit=n, filter=expr,
                                     search_params={"metric_type": metric}, output_fields=["id"])
        return [{"id": h.get("id") or h["entity"]["id"], "distance": h["distance"]} for h in results[0]]
