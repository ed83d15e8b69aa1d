"""Milvus: the corpus in Milvus (Milvus Lite in a .db file, or a Milvus server or cluster), with Milvus's
own BM25 (jieba analyzer fed with the corpus dictionary) and dense search, both filtered server-side.
A process holds nothing but the address: opening reads one row per document; the chunks a search
returns are fetched by id, their neighbours on demand, and term frequencies from the terms collection.
The second stage and the answer stay in Python (qa.engine)."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path

import numpy as np

from ..documents.document import Chunk, Document
from ..documents.folder import load_corpus
from ..encoders import Encoder
from ..progress import Progress
from ..text import Tokenizer, corpus_terms, searchable
from .base import Candidates, Filters, Plan, Report, contents, idf, plan, shipped_vectors
from .milvus_schema import (CHUNK_FIELDS, MilvusError, check_model, chunk_of, connect, create, cut, document_of,
                            expression, heads, quoted, talking, terms_collection)
from .milvus_writer import Writer

# pymilvus logs each failed call with its traceback before raising it: our MilvusError says what to do instead
logging.getLogger("pymilvus").setLevel(logging.CRITICAL + 1)

FRESH = 10.0          # seconds the list of documents and term counts are trusted before they are re-read
CACHE = 100_000       # chunks held per process; the cache starts afresh past this, before a search


class MilvusStore:
    """One corpus in Milvus, as this process sees it: the documents, and the chunks handed out so far."""

    def __init__(self, client, collection: str, model: str, embedded: int = 0, report: Report = Report()):
        self.client, self.collection, self.model = client, collection, model
        self.embedded, self.report = embedded, report
        self._chunks: list[Chunk] = []
        self._positions: dict[str, int] = {}
        self._seq: dict[str, int] = {}
        self._words: list[str] | None = None
        self._lock = threading.RLock()     # the caches, against threads asking at once
        self.writer = Writer(client, collection)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the documents (one row each), and forget the term counts if they changed: what another
        process added or removed is seen from here on."""
        with self._lock, talking(self.collection):
            self._refresh(heads(self.client, self.collection))

    def _refresh(self, rows: list[dict]) -> None:
        self._heads = {r["doc_id"]: r for r in rows}
        self.documents = [document_of(r) for r in rows]
        self._documents = {d.doc_id: d for d in self.documents}
        self._counts = {r["doc_id"]: int(r["passages"]) for r in rows}
        self.count = sum(self._counts.values())
        words = sorted({t for r in rows for t in json.loads(r["terms"] or "[]")})
        if words != self._words:
            self.tokenizer, self._words = Tokenizer(words), words
        fingerprint = hashlib.sha256(json.dumps([[r[k] for k in ("doc_id", "signature", "title", "date", "author",
                                                                  "source", "district")] for r in rows],
                                                ensure_ascii=False).encode()).hexdigest()[:20]
        if fingerprint != getattr(self, "fingerprint", None):    # term counts change only with the documents
            self._df: dict[str, int] = {}
        self.fingerprint = fingerprint
        self._read_at = time.monotonic()

    # -- opening and keeping up to date ------------------------------------------------------------
    @classmethod
    def open(cls, uri: str, data_dir: Path, encoder: Encoder, collection: str, token: str | None = None,
             update: str = "add", progress: bool = True, callback=None) -> "MilvusStore":
        """Open (creating it if needed) the collection and bring the corpus folder's documents in as
        `update` says (stores.base.plan): opening adds new documents and never deletes; a collection of
        another model, or one made by an older reform-qa, is refused unless rebuilt. No folder (or an
        empty one) opens the collection as it is."""
        documents, chunks = load_corpus(data_dir) if Path(data_dir).is_dir() else ([], [])
        client = connect(uri, token)
        try:
            if update == "rebuild":
                for name in (collection, terms_collection(collection)):
                    if client.has_collection(name):
                        client.drop_collection(name)
            if not client.has_collection(collection):
                create(client, collection, encoder.dim, Tokenizer(corpus_terms(c.text for c in chunks)).words)
            for name in (collection, terms_collection(collection)):   # another process's are "released" here
                if client.has_collection(name):
                    client.load_collection(name)
            check_model(client, collection, encoder)
            store = cls(client, collection, encoder.name)
            had = {d: (store._documents[d], r["signature"]) for d, r in store._heads.items()}
            todo = plan(had, contents(documents, chunks), update)
            store.report = todo.report if Path(data_dir).is_dir() else Report()   # no folder: nothing to compare
            store.embedded = store._apply(todo, documents, chunks, encoder, data_dir, progress, callback)
        except MilvusError:
            raise
        except Exception as e:   # pymilvus errors: say where and what to do, never a traceback
            raise MilvusError(f"Milvus at {uri} failed on collection {collection!r} ({e}); check the server, "
                              "or rebuild with `reform-qa --store … index --rebuild`") from None
        return store

    def _apply(self, todo: Plan, documents: list[Document], chunks: list[Chunk], encoder: Encoder,
               data_dir: Path, progress: bool, callback) -> int:
        """Replace and add the planned documents, each whole or not at all, embedding only the chunks the
        corpus folder carries no vector for; returns chunks embedded."""
        folder = {d.doc_id: d for d in documents}
        work = [(folder[d], [c for c in chunks if c.doc_id == d]) for d in (*todo.replace, *todo.add)]
        shipped = shipped_vectors(data_dir, encoder.name, encoder.dim) if work else {}
        count = sum(1 for _, cs in work for c in cs if c.id not in shipped)
        words = corpus_terms(c.text for _, cs in work for c in cs)   # add_document adds the store's own
        with Progress(count, f"embedding {count} new chunks for Milvus", progress, callback) as done:
            for doc, doc_chunks in work:
                self.add_document(doc, doc_chunks, encoder, done.update, shipped, words)
        if work:
            self.writer.flush()
            self.refresh()
        return count

    def remove(self, doc_ids: list[str]) -> list[str]:
        """Delete these documents' rows from both collections; returns the ids it held."""
        self.refresh()
        held = [d for d in dict.fromkeys(doc_ids) if d in self._documents]
        if held:
            try:
                self.writer.delete(held)
                self.writer.flush()
            except Exception as e:
                raise MilvusError(f"could not delete {', '.join(held)} from Milvus collection "
                                  f"{self.collection!r} ({e}): is the server up?") from None
            self.refresh()
        return held

    def add_document(self, doc: Document, chunks: list[Chunk], encoder: Encoder, done=lambda n: None,
                     known: dict[str, np.ndarray] | None = None, words: list[str] | None = None) -> None:
        """Write one document whole (see Writer.add_document), its terms counted with this store's words."""
        self.writer.add_document(doc, chunks, encoder, done, known, [*(self._words or []), *(words or [])])

    def stored_ids(self) -> dict[str, str]:
        """chunk id -> document id of every row in the collection (for tests and checks: reads them all)."""
        return self.writer.stored_ids()

    def drop(self) -> None:
        """Drop this store's collections (the bench's scratch collections)."""
        self.writer.drop()

    # -- the Store protocol ------------------------------------------------------------------------
    def chunk(self, pos: int) -> Chunk:
        return self._chunks[pos]

    def position(self, chunk_id: str) -> int | None:
        return self._positions.get(chunk_id)

    def document(self, doc_id: str) -> Document:
        return self._documents[doc_id]

    def per_document(self) -> dict[str, int]:
        return dict(self._counts)

    def signatures(self) -> dict[str, str]:
        """Each listed document's chunk-id signature (stores.base.signature), as last read."""
        return {d: r["signature"] for d, r in self._heads.items()}

    def neighbours(self, pos: int) -> tuple[str, str]:
        with self._lock:
            if pos >= len(self._chunks):       # the cache started afresh since the position was handed out
                return "", ""
            c = self._chunks[pos]
            seq = self._seq[c.id]
        with talking(self.collection):
            rows = self.client.query(self.collection, output_fields=["seq", "body"],
                                     filter=f"doc_id == {quoted(c.doc_id)} and seq in [{seq - 1}, {seq + 1}]")
        text = {r["seq"]: r["body"] for r in rows}
        return text.get(seq - 1, ""), text.get(seq + 1, "")

    def knows(self, token: str) -> bool:
        return self._frequency(token) > 0

    def idf(self, token: str) -> float:
        return idf(self._frequency(token), max(self.count, 1))

    def _frequency(self, token: str) -> int:
        """In how many chunks a token occurs: the sum of its per-document rows (cached while the documents
        stay the same; they are re-read every FRESH seconds)."""
        if time.monotonic() - self._read_at > FRESH:
            self.refresh()
        if token not in self._df:
            with talking(self.collection):
                rows = self.client.query(terms_collection(self.collection), output_fields=["chunks"], limit=16384,
                                         filter=f"term == {quoted(cut(token, 256))}")
            self._df[token] = sum(int(r["chunks"]) for r in rows)
        return self._df[token]

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
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
        if any(self._chunks[self._positions[i]].doc_id not in self._documents for i in wanted if i in self._positions):
            self._refresh(heads(self.client, self.collection))   # another process added a document
        # ids deleted meanwhile have no row, and rows of a document not listed (being written, or left by a
        # crashed write) are not yet the corpus's: both skipped
        ids = [i for i in dict.fromkeys([*dense, *bm25]) if i in self._positions and i in dense
               and self._chunks[self._positions[i]].doc_id in self._documents]
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
