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
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..documents.document import Chunk, Document, index_text
from ..documents.folder import load_corpus
from ..encoders import Encoder
from ..progress import Progress
from ..text import Tokenizer, corpus_terms, searchable
from .base import Candidates, Filters, Plan, Report, contents, idf, plan, shipped_vectors
from .milvus_schema import (CHUNK_FIELDS, MilvusError, check_model, chunk_of, chunk_rows, connect, create, cut,
                            document_of, expression, heads, quoted, term_rows, terms_collection)

# pymilvus logs each failed call with its traceback before raising it: our MilvusError says what to do instead
logging.getLogger("pymilvus").setLevel(logging.CRITICAL + 1)

BATCH = 64            # chunks embedded and inserted at a time
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
        self.refresh()

    def refresh(self) -> None:
        """Re-read the documents (one row each), and forget the term counts if they changed: what another
        process added or removed is seen from here on."""
        with self._lock, _talking(self.collection):
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
        words = sorted({*(self._words or []), *corpus_terms(c.text for _, cs in work for c in cs)})
        with Progress(count, f"embedding {count} new chunks for Milvus", progress, callback) as done:
            for doc, doc_chunks in work:
                self.add_document(doc, doc_chunks, encoder, done.update, shipped, words)
        if work:
            self._flush()
            self.refresh()
        return count

    def remove(self, doc_ids: list[str]) -> list[str]:
        """Delete these documents' rows from both collections; returns the ids it held."""
        self.refresh()
        held = [d for d in dict.fromkeys(doc_ids) if d in self._documents]
        if held:
            try:
                self._delete(held)
                self._flush()
            except Exception as e:
                raise MilvusError(f"could not delete {', '.join(held)} from Milvus collection "
                                  f"{self.collection!r} ({e}): is the server up?") from None
            self.refresh()
        return held

    def _delete(self, doc_ids: list[str]) -> None:
        expr = f"doc_id in [{', '.join(quoted(d) for d in doc_ids)}]"
        self.client.delete(self.collection, filter=expr)
        self.client.delete(terms_collection(self.collection), filter=expr)

    def _flush(self) -> None:
        for name in (self.collection, terms_collection(self.collection)):
            self.client.flush(name)

    def stored_ids(self) -> dict[str, str]:
        """chunk id -> document id of every row in the collection (for tests and checks: reads them all)."""
        out: dict[str, str] = {}
        pages = self.client.query_iterator(self.collection, batch_size=4096, filter='id != ""',
                                           output_fields=["id", "doc_id"])
        while page := pages.next():
            out.update((r["id"], r["doc_id"]) for r in page)
        pages.close()
        return out

    def add_document(self, doc: Document, chunks: list[Chunk], encoder: Encoder, done=lambda n: None,
                     known: dict[str, np.ndarray] | None = None, words: list[str] | None = None) -> None:
        """Replace one document's rows: its earlier ones deleted, its term counts, then its chunks by chunk
        id (embedding those without a `known` vector); if any batch fails, the rows of this document written
        so far are deleted again: no partial document is left (nor its earlier version). `words`: the corpus terms to count with (all the documents being
        added, so that each is tokenised as the whole corpus will be)."""
        known = known or {}
        self._delete([doc.doc_id])      # an earlier version, or rows a crashed write left
        try:
            rows = term_rows(doc.doc_id, chunks, self._counting(words or [], chunks))
            for start in range(0, len(rows), 1000):
                self.client.upsert(terms_collection(self.collection), rows[start:start + 1000])
            # the first chunk's row (which lists the document) last: a document is listed only when whole,
            # so a rerun after a crash (reform-qa ingest) writes it again
            for start in reversed(range(0, len(chunks), BATCH)):
                batch = chunks[start:start + BATCH]
                new = [c for c in batch if c.id not in known]
                made = dict(zip((c.id for c in new), encoder.encode([index_text(c) for c in new])))
                vectors = [known[c.id] if c.id in known else made[c.id] for c in batch]
                self.client.upsert(self.collection, chunk_rows(doc, batch, vectors, encoder, start, chunks))
                done(len(new))
        except Exception:
            self.client.delete(self.collection, ids=[c.id for c in chunks])
            self.client.delete(terms_collection(self.collection), filter=f"doc_id == {quoted(doc.doc_id)}")
            raise

    def _counting(self, words: list[str], chunks: list[Chunk]) -> Tokenizer:
        """The tokenizer that counts a document's terms: the store's words, the given ones and its own."""
        vocabulary = tuple(sorted({*(self._words or []), *words, *corpus_terms(c.text for c in chunks)}))
        if getattr(self, "_counter", (None,))[0] != vocabulary:      # one jieba set-up per vocabulary
            self._counter = (vocabulary, Tokenizer(vocabulary))
        return self._counter[1]

    def drop(self) -> None:
        """Drop this store's collections (the bench's scratch collections)."""
        for name in (self.collection, terms_collection(self.collection)):
            self.client.drop_collection(name)

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
        with _talking(self.collection):
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
            with _talking(self.collection):
                rows = self.client.query(terms_collection(self.collection), output_fields=["chunks"], limit=16384,
                                         filter=f"term == {quoted(cut(token, 256))}")
            self._df[token] = sum(int(r["chunks"]) for r in rows)
        return self._df[token]

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        with self._lock, _talking(self.collection):
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


@contextmanager
def _talking(collection: str):
    """Any failure of a call to Milvus as a MilvusError saying what to check (a 503 in the API)."""
    try:
        yield
    except MilvusError:
        raise
    except Exception as e:
        raise MilvusError(f"Milvus collection {collection!r} did not answer ({e}): is the server up?") from None
