"""Milvus store: the corpus's chunks in a Milvus collection (Milvus Lite in a .db file, or a Milvus server
or cluster), with Milvus's own BM25 over the text (jieba analyzer fed with the corpus dictionary) and dense
search, both filtered server-side. The second stage and the answer stay in Python (qa.search)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .embeddings import Encoder
from .index import BIGRAMS, fingerprint, index_text
from .ingest import Chunk, Document, load_corpus
from .store import Candidates, Filters
from .text import STOPWORDS, Tokenizer, corpus_terms, searchable

BATCH = 64                  # chunks embedded and inserted at a time
PUNCTUATION = [*"，。、；：？！‘’（）《》【】「」『』…—·,.;:?!()[]'-/%›", "……", "......"]


class MilvusError(RuntimeError):
    """Milvus cannot be reached or used; the message says what to install or start."""


def _client(uri: str, token: str | None = None):
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusError("the Milvus store needs pymilvus (and milvus-lite for a .db file): "
                          "pip install \"reform-qa[milvus]\"") from None
    try:
        return MilvusClient(uri=uri, token=token or "")
    except Exception as e:
        where = "is another process using this .db file? Milvus Lite opens one per process; run " \
                "`milvus-lite server` for several" if uri.endswith(".db") else "is the Milvus server running?"
        raise MilvusError(f"cannot open Milvus at {uri} ({e}): {where}") from None


def _year(date: str) -> int:
    found = re.match(r"(\d{4})", date or "")
    return int(found.group(1)) if found else 0


class MilvusStore:
    """One collection per corpus: chunk id, document metadata, text (BM25 via Milvus), dense vector."""

    def __init__(self, client, collection: str, documents: list[Document], chunks: list[Chunk],
                 tokenizer: Tokenizer, model: str, embedded: int = 0):
        self.client, self.collection = client, collection
        self.documents, self.chunks, self.tokenizer, self.model = documents, chunks, tokenizer, model
        self.fingerprint, self.embedded = fingerprint(documents, chunks), embedded
        self._position = {c.id: i for i, c in enumerate(chunks)}
        df = Counter(t for c in chunks for t in set(tokenizer(index_text(c))))   # for the second stage's IDF
        self._df, self._n = df, max(len(chunks), 1)

    # -- opening and keeping up to date ------------------------------------------------------------
    @classmethod
    def open(cls, uri: str, data_dir: Path, encoder: Encoder, collection: str, token: str | None = None,
             rebuild: bool = False, progress: bool = True) -> "MilvusStore":
        """Open (creating it if needed) the collection for a corpus folder and bring it up to date: chunks
        no longer in the corpus are deleted, new ones embedded and inserted, document by document."""
        documents, chunks = load_corpus(data_dir)
        tokenizer = Tokenizer(corpus_terms(c.text for c in chunks), bigrams=BIGRAMS)
        client = _client(uri, token)
        try:
            if client.has_collection(collection) and (rebuild or _built_by(client, collection) not in
                                                      ("", f"{encoder.name}/{encoder.dim}")):
                client.drop_collection(collection)   # another model's vectors: rebuilt, as the local index is
            if not client.has_collection(collection):
                _create(client, collection, encoder.dim, tokenizer.words)
            client.load_collection(collection)
            store = cls(client, collection, documents, chunks, tokenizer, encoder.name)
            store.embedded = store.sync(encoder, progress)
        except MilvusError:
            raise
        except Exception as e:   # pymilvus errors: say where and what to do, never a traceback
            raise MilvusError(f"Milvus at {uri} failed on collection {collection!r} ({e}); check the server, "
                              "or rebuild with `reform-qa --store … index --rebuild`") from None
        return store

    def stored_ids(self) -> dict[str, str]:
        """chunk id -> document id of every row in the collection (paged: a query returns 16,384 at most)."""
        found: dict[str, str] = {}
        pages = self.client.query_iterator(self.collection, batch_size=4096, filter='id != ""',
                                           output_fields=["id", "doc_id"])
        while rows := pages.next():
            found.update((r["id"], r["doc_id"]) for r in rows)
        pages.close()
        return found

    def sync(self, encoder: Encoder, progress: bool = True) -> int:
        """Delete stale chunks, add missing ones (each document whole or not at all); returns chunks embedded."""
        stored = self.stored_ids()
        wanted = {c.id for c in self.chunks}
        stale = [i for i in stored if i not in wanted]
        if stale:
            self.client.delete(self.collection, ids=stale)
        docs = {d.doc_id: d for d in self.documents}
        todo: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            if c.id not in stored:
                todo.setdefault(c.doc_id, []).append(c)
        count = sum(map(len, todo.values()))
        with tqdm(total=count, desc="embedding new chunks for Milvus", unit="chunk",
                  disable=not progress or not todo) as bar:
            for doc_id, chunks in todo.items():
                self.add_document(docs[doc_id], chunks, encoder, bar.update)
        if stale or todo:
            self.client.flush(self.collection)
        return count

    def add_document(self, doc: Document, chunks: list[Chunk], encoder: Encoder, done=lambda n: None) -> None:
        """Upsert one document's chunks by chunk id; if any batch fails, the rows of this document written
        so far are deleted again, so no partial document is left behind."""
        try:
            for start in range(0, len(chunks), BATCH):
                batch = chunks[start:start + BATCH]
                vectors = encoder.encode([index_text(c) for c in batch])
                self.client.upsert(self.collection, [_row(doc, c, v, encoder) for c, v in zip(batch, vectors)])
                done(len(batch))
        except Exception:
            self.client.delete(self.collection, ids=[c.id for c in chunks])
            raise

    # -- the Store protocol ------------------------------------------------------------------------
    def knows(self, token: str) -> bool:
        return token in self._df

    def idf(self, token: str) -> float:
        df = self._df.get(token, 0)
        return float(np.log(1 + (self._n - df + 0.5) / (df + 0.5)))

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        try:
            return self._retrieve(text, extra, extra_weight, vector, n, filters)
        except Exception as e:
            raise MilvusError(f"search in Milvus collection {self.collection!r} failed ({e}): is the server up?") from None

    def _retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                  filters: Filters) -> Candidates:
        """Milvus's BM25 top n (the glossary forms searched apart, at extra_weight) and dense top n under the
        filters as a server-side expression; the cosine of BM25-only candidates is computed from their
        vectors, the BM25 of dense-only ones is 0 (they are outside its top n)."""
        expr = _expression(filters)
        bm25: dict[str, float] = {}
        for query, weight in ((text, 1.0), (extra, extra_weight)):
            if query.strip():
                for hit in self._search(searchable(query), "sparse", "BM25", n, expr):
                    bm25[hit["id"]] = bm25.get(hit["id"], 0.0) + weight * abs(hit["distance"])
        dense = {hit["id"]: float(hit["distance"])
                 for hit in self._search(vector.astype(np.float32).tolist(), "dense", "IP", n, expr)}
        missing = [i for i in bm25 if i not in dense]
        if missing:
            for row in self.client.get(self.collection, ids=missing, output_fields=["dense"]):
                dense[row["id"]] = float(np.asarray(row["dense"], np.float32) @ vector)
        # ids deleted meanwhile (a reload or another process) have no vector or no position: skipped
        ids = [i for i in dict.fromkeys([*dense, *bm25]) if i in self._position and i in dense]
        return Candidates(np.array([self._position[i] for i in ids], dtype=int),
                          np.array([bm25.get(i, 0.0) for i in ids]), np.array([dense[i] for i in ids]))

    def _search(self, data, field: str, metric: str, n: int, expr: str) -> list[dict]:
        results = self.client.search(self.collection, data=[data], anns_field=field, limit=n, filter=expr,
                                     search_params={"metric_type": metric}, output_fields=["id"])
        return [{"id": h.get("id") or h["entity"]["id"], "distance": h["distance"]} for h in results[0]]


def _quoted(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _expression(filters: Filters) -> str:
    """A Milvus boolean expression for the filters (evaluated server-side); "" for none."""
    parts = []
    if filters.doc_ids:
        parts.append(f"doc_id in [{', '.join(_quoted(d) for d in sorted(filters.doc_ids))}]")
    if filters.district:
        parts.append(f"district == {_quoted(filters.district)}")
    if filters.year:
        parts.append(f"year == {int(filters.year)}")
    return " and ".join(parts)


def _cut(text: str, limit: int) -> str:
    """Text cut to fit a VARCHAR field of `limit` bytes (Milvus counts UTF-8 bytes; 3 per Chinese character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _row(doc: Document, chunk: Chunk, vector: np.ndarray, encoder: Encoder) -> dict:
    return {"id": chunk.id, "doc_id": _cut(doc.doc_id, 256), "district": _cut(doc.district, 64),
            "year": _year(doc.date), "title": _cut(doc.title, 4096), "date": _cut(doc.date, 32),
            "author": _cut(doc.author, 4096), "paragraph": chunk.paragraph, "page": chunk.page,
            "heading": _cut(chunk.heading, 4096), "text": _cut(searchable(index_text(chunk)), 65535),
            "model": f"{encoder.name}/{encoder.dim}", "dense": np.asarray(vector, np.float32).tolist()}


def _built_by(client, collection: str) -> str:
    """“model/dim” of the vectors in a collection ("" when it is empty)."""
    rows = client.query(collection, filter='id != ""', output_fields=["model"], limit=1)
    return rows[0]["model"] if rows else ""


def analyzer(words: list[str]) -> dict:
    """Milvus's jieba analyzer in search mode with the corpus dictionary (the local index's user words),
    dropping our stopwords and punctuation; text is made `searchable` first, as the local tokenizer does."""
    return {"tokenizer": {"type": "jieba", "dict": ["_default_", *words], "mode": "search"},
            "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS) + PUNCTUATION}]}


def _create(client, collection: str, dim: int, words: list[str]) -> None:
    from pymilvus import DataType, Function, FunctionType
    schema = client.create_schema(auto_id=False, description="reform-qa chunks")
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    for name, length in (("doc_id", 256), ("district", 64), ("date", 32)):
        schema.add_field(name, DataType.VARCHAR, max_length=length)
    for name in ("title", "author", "heading"):
        schema.add_field(name, DataType.VARCHAR, max_length=4096)
    schema.add_field("model", DataType.VARCHAR, max_length=256)   # “name/dim” of the encoder
    for name in ("year", "paragraph", "page"):
        schema.add_field(name, DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params=analyzer(words))
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    # FLAT: exact, and filtered searches keep every matching row (HNSW lost rows under a selective filter
    # in Milvus Lite); parameters nested under "params", which Lite reads (flat ones it drops silently).
    index.add_index("dense", index_type="FLAT", metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"params": {"bm25_k1": 1.5, "bm25_b": 0.75}})
    client.create_collection(collection, schema=schema, index_params=index)
