"""Milvus: the corpus's chunks in a Milvus collection (Milvus Lite in a .db file, or a Milvus server
or cluster), with Milvus's own BM25 over the text (jieba analyzer fed with the corpus dictionary) and dense
search, both filtered server-side. The second stage and the answer stay in Python (qa.engine)."""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np

try:
    import pymilvus            # the optional "milvus" extra
except ImportError:
    pymilvus = None
from ..documents.document import Chunk, Document, index_text
from ..documents.folder import load_corpus
from ..encoders import Encoder
from ..progress import Progress
from ..text import STOPWORDS, Tokenizer, corpus_terms, searchable, year_of
from .base import Candidates, Filters, Plan, Report, StoreError, fingerprint, idf, plan, shipped_vectors

# pymilvus logs each failed call with its traceback before raising it: our MilvusError says what to do instead
logging.getLogger("pymilvus").setLevel(logging.CRITICAL + 1)

BATCH = 64                  # chunks embedded and inserted at a time
PUNCTUATION = [*"，。、；：？！‘’（）《》【】「」『』…—·,.;:?!()[]'-/%›", "……", "......"]


class MilvusError(StoreError):
    """Milvus cannot be reached or used; the message says what to install or start."""


def _client(uri: str, token: str | None = None):
    if pymilvus is None:
        raise MilvusError("the Milvus store needs pymilvus (and milvus-lite for a .db file): "
                          "pip install \"reform-qa[milvus]\"")
    try:
        return pymilvus.MilvusClient(uri=uri, token=token or "")
    except Exception as e:
        where = "is another process using this .db file? Milvus Lite opens one per process; run " \
                "`milvus-lite server` for several" if uri.endswith(".db") else "is the Milvus server running?"
        raise MilvusError(f"cannot open Milvus at {uri} ({e}): {where}") from None


class MilvusStore:
    """One collection per corpus: each row a chunk with its document's metadata, its text as written (for
    citations), its text for Milvus's BM25, and its dense vector."""

    def __init__(self, client, collection: str, documents: list[Document], chunks: list[Chunk], model: str,
                 embedded: int = 0, report: Report = Report()):
        self.client, self.collection, self.model = client, collection, model
        self.embedded, self.report = embedded, report
        self._index(documents, chunks)

    def _index(self, documents: list[Document], chunks: list[Chunk]) -> None:
        """Hold the documents and chunks in the store (each document's chunks together and in order), with
        the tokenizer and document frequencies of the second stage."""
        self.documents, self.chunks = documents, chunks
        self.tokenizer = Tokenizer(corpus_terms(c.text for c in chunks))
        self.fingerprint = fingerprint(documents, chunks)
        self._position = {c.id: i for i, c in enumerate(chunks)}
        self._df = Counter(t for c in chunks for t in set(self.tokenizer(index_text(c))))
        self._n = max(len(chunks), 1)

    # -- opening and keeping up to date ------------------------------------------------------------
    @classmethod
    def open(cls, uri: str, data_dir: Path, encoder: Encoder, collection: str, token: str | None = None,
             update: str = "add", progress: bool = True, callback=None) -> "MilvusStore":
        """Open (creating it if needed) the collection, read what it holds, and bring the corpus folder's
        documents in as `update` says (stores.base.plan): opening adds new documents and never deletes; a
        collection of another model, or one made by an older reform-qa, is refused unless rebuilt."""
        documents, chunks = load_corpus(data_dir)
        client = _client(uri, token)
        try:
            stored_docs, stored_chunks = [], []
            if client.has_collection(collection):
                client.load_collection(collection)   # a collection another process made is "released" here
                stored_docs, stored_chunks = _read(client, collection)
                if update != "rebuild":
                    _check(client, collection, encoder)
            todo = plan(stored_docs, stored_chunks, documents, chunks, update)
            if update == "rebuild" and client.has_collection(collection):
                client.drop_collection(collection)
                stored_docs, stored_chunks = [], []
            if not client.has_collection(collection):
                _create(client, collection, encoder.dim, Tokenizer(corpus_terms(c.text for c in chunks)).words)
                client.load_collection(collection)
            store = cls(client, collection, stored_docs, stored_chunks, encoder.name, report=todo.report)
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
        if todo.replace:
            self._delete(todo.replace)
        work = [(folder[d], [c for c in chunks if c.doc_id == d]) for d in (*todo.replace, *todo.add)]
        shipped = shipped_vectors(data_dir, encoder.name, encoder.dim) if work else {}
        count = sum(1 for _, cs in work for c in cs if c.id not in shipped)
        with Progress(count, f"embedding {count} new chunks for Milvus", progress, callback) as done:
            for doc, doc_chunks in work:
                self.add_document(doc, doc_chunks, encoder, done.update, shipped)
        if work:
            self.client.flush(self.collection)
            kept = [d for d in self.documents if d.doc_id not in todo.replace]
            self._index(kept + [d for d, _ in work],
                        [c for c in self.chunks if c.doc_id not in todo.replace] + [c for _, cs in work for c in cs])
        return count

    def remove(self, doc_ids: list[str]) -> list[str]:
        """Delete these documents' rows from the collection; returns the ids it held."""
        held = [d.doc_id for d in self.documents if d.doc_id in set(doc_ids)]
        if held:
            try:
                self._delete(held)
                self.client.flush(self.collection)
            except Exception as e:
                raise MilvusError(f"could not delete {', '.join(held)} from Milvus collection "
                                  f"{self.collection!r} ({e}): is the server up?") from None
            self._index([d for d in self.documents if d.doc_id not in held],
                        [c for c in self.chunks if c.doc_id not in held])
        return held

    def _delete(self, doc_ids: list[str]) -> None:
        self.client.delete(self.collection, filter=f"doc_id in [{', '.join(_quoted(d) for d in doc_ids)}]")

    def stored_ids(self) -> dict[str, str]:
        """chunk id -> document id of every row in the collection."""
        return {c.id: c.doc_id for c in _read(self.client, self.collection)[1]}

    def add_document(self, doc: Document, chunks: list[Chunk], encoder: Encoder, done=lambda n: None,
                     known: dict[str, np.ndarray] | None = None) -> None:
        """Upsert one document's chunks by chunk id (embedding those without a `known` vector); if any batch
        fails, the rows of this document written so far are deleted again: no partial document is left."""
        known = known or {}
        try:
            for start in range(0, len(chunks), BATCH):
                batch = chunks[start:start + BATCH]
                new = [c for c in batch if c.id not in known]
                made = dict(zip((c.id for c in new), encoder.encode([index_text(c) for c in new])))
                vectors = [known[c.id] if c.id in known else made[c.id] for c in batch]
                self.client.upsert(self.collection, [_row(doc, c, start + i, v, encoder)
                                                     for i, (c, v) in enumerate(zip(batch, vectors))])
                done(len(new))
        except Exception:
            self.client.delete(self.collection, ids=[c.id for c in chunks])
            raise

    def drop(self) -> None:
        """Drop this store's collection (the bench's scratch collections)."""
        self.client.drop_collection(self.collection)

    # -- the Store protocol ------------------------------------------------------------------------
    def knows(self, token: str) -> bool:
        return token in self._df

    def idf(self, token: str) -> float:
        return idf(self._df.get(token, 0), self._n)

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


def _row(doc: Document, chunk: Chunk, seq: int, vector: np.ndarray, encoder: Encoder) -> dict:
    return {"id": chunk.id, "doc_id": _cut(doc.doc_id, 256), "district": _cut(doc.district, 64),
            "year": int(year_of(doc.date) or 0), "title": _cut(doc.title, 4096), "date": _cut(doc.date, 32),
            "author": _cut(doc.author, 4096), "source": _cut(doc.source, 4096), "paragraph": chunk.paragraph,
            "page": chunk.page, "seq": seq, "heading": _cut(chunk.heading, 4096), "body": _cut(chunk.text, 65535),
            "text": _cut(searchable(index_text(chunk)), 65535), "model": f"{encoder.name}/{encoder.dim}",
            "dense": np.asarray(vector, np.float32).tolist()}


ROW_FIELDS = ["id", "doc_id", "district", "title", "date", "author", "source", "paragraph", "page", "seq",
              "heading", "body"]


def _read(client, collection: str) -> tuple[list[Document], list[Chunk]]:
    """The documents and chunks a collection holds (paged: one query returns 16,384 rows at most), each
    document's chunks in order."""
    fields = {f["name"] for f in client.describe_collection(collection)["fields"]}
    if "body" not in fields:
        raise MilvusError(f"Milvus collection {collection!r} was made by an older reform-qa (no passage text "
                          "stored): rebuild it with `reform-qa --store … index --rebuild`, or name another "
                          "collection with QA_MILVUS_COLLECTION")
    rows: list[dict] = []
    pages = client.query_iterator(collection, batch_size=4096, filter='id != ""', output_fields=ROW_FIELDS)
    while page := pages.next():
        rows.extend(page)
    pages.close()
    rows.sort(key=lambda r: (r["doc_id"], r["seq"]))
    documents: dict[str, Document] = {}
    chunks = []
    for r in rows:
        documents.setdefault(r["doc_id"], Document(r["doc_id"], r["title"], r["date"], r["author"], r["source"],
                                                   r["district"]))
        chunks.append(Chunk(r["id"], r["doc_id"], r["body"], r["paragraph"], r["heading"], r["page"]))
    return list(documents.values()), chunks


def _check(client, collection: str, encoder: Encoder) -> None:
    """Refuse a collection whose vectors another model made (searching them with ours would mislead)."""
    rows = client.query(collection, filter='id != ""', output_fields=["model"], limit=1)
    made = rows[0]["model"] if rows else ""
    if made and made != f"{encoder.name}/{encoder.dim}":
        raise MilvusError(f"Milvus collection {collection!r} holds vectors of {made}, this process embeds with "
                          f"{encoder.name}/{encoder.dim}: use the same model, another collection "
                          "(QA_MILVUS_COLLECTION), or re-embed it with `reform-qa --store … index --rebuild`")


def analyzer(words: list[str]) -> dict:
    """Milvus's jieba analyzer in search mode with the corpus dictionary (the local index's user words),
    dropping our stopwords and punctuation; text is made `searchable` first, as the local tokenizer does."""
    return {"tokenizer": {"type": "jieba", "dict": ["_default_", *words], "mode": "search"},
            "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS) + PUNCTUATION}]}


def _create(client, collection: str, dim: int, words: list[str]) -> None:
    DataType, Function, FunctionType = pymilvus.DataType, pymilvus.Function, pymilvus.FunctionType
    schema = client.create_schema(auto_id=False, description="reform-qa chunks")
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    for name, length in (("doc_id", 256), ("district", 64), ("date", 32)):
        schema.add_field(name, DataType.VARCHAR, max_length=length)
    for name in ("title", "author", "source", "heading"):
        schema.add_field(name, DataType.VARCHAR, max_length=4096)
    schema.add_field("body", DataType.VARCHAR, max_length=65535)   # the passage as written, for citations
    schema.add_field("model", DataType.VARCHAR, max_length=256)   # “name/dim” of the encoder
    for name in ("year", "paragraph", "page", "seq"):   # seq: the chunk's place in its document
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
