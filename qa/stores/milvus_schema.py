"""Milvus schema: the two collections of a corpus and their rows. `<name>` holds a row per chunk (text
as written, document metadata, dense vector, BM25 over a jieba analyzer); `<name>_terms` a row per
document and term, with the chunks of that document that use the term: their sum is the term's
document frequency, kept without any process reading the chunks (adding or deleting a document adds or
deletes its own rows, so two writers never update one row)."""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager

import numpy as np

try:
    import pymilvus            # the optional "milvus" extra
except ImportError:
    pymilvus = None
from ..documents.document import Chunk, Document, index_text
from ..text import STOPWORDS, Tokenizer, corpus_terms, searchable, year_of
from .base import Filters, StoreError, signature

PUNCTUATION = [*"，。、；：？！‘’（）《》【】「」『』…—·,.;:?!()[]'-/%›", "……", "......"]
DOC_FIELDS = ["doc_id", "title", "date", "author", "source", "district"]
CHUNK_FIELDS = ["id", "doc_id", "body", "paragraph", "heading", "page", "seq", *DOC_FIELDS[1:]]
HEAD_FIELDS = [*DOC_FIELDS, "passages", "terms", "signature", "model"]   # kept on each document's first row


class MilvusError(StoreError):
    """Milvus cannot be reached or used; the message says what to install or start."""


def terms_collection(collection: str) -> str:
    return f"{collection}_terms"


def quoted(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def cut(text: str, limit: int) -> str:
    """Text cut to fit a VARCHAR field of `limit` bytes (Milvus counts UTF-8 bytes; 3 per Chinese character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def chunk_rows(doc: Document, chunks: list[Chunk], vectors: list[np.ndarray], model: str, start: int,
               total: list[Chunk]) -> list[dict]:
    """Rows for chunks[start:start + len(vectors)] of a document whose chunks are `total`; the first row
    also carries the document's passage count, corpus terms and chunk-id signature."""
    rows = []
    for i, (chunk, vector) in enumerate(zip(chunks, vectors), start):
        head = i == 0
        rows.append({"id": chunk.id, "doc_id": cut(doc.doc_id, 256), "district": cut(doc.district, 64),
                     "year": int(year_of(doc.date) or 0), "title": cut(doc.title, 4096), "date": cut(doc.date, 32),
                     "author": cut(doc.author, 4096), "source": cut(doc.source, 4096), "paragraph": chunk.paragraph,
                     "page": chunk.page, "seq": i, "heading": cut(chunk.heading, 4096), "body": cut(chunk.text, 65535),
                     "text": cut(searchable(index_text(chunk)), 65535), "model": model,
                     "passages": len(total) if head else 0,
                     "terms": cut(json.dumps(corpus_terms(c.text for c in total), ensure_ascii=False), 65535)
                     if head else "",
                     "signature": signature([c.id for c in total]) if head else "",
                     "dense": np.asarray(vector, np.float32).tolist()})
    return rows


def term_rows(doc_id: str, chunks: list[Chunk], tokenizer: Tokenizer) -> list[dict]:
    """One row per term of a document: in how many of its chunks the term occurs."""
    counts = Counter(t for c in chunks for t in set(tokenizer(index_text(c))))
    return [{"id": cut(f"{doc_id}\t{term}", 512), "doc_id": cut(doc_id, 256), "term": cut(term, 256), "chunks": n,
             "v": [0.0, 0.0]} for term, n in counts.items()]


def document_of(row: dict) -> Document:
    return Document(row["doc_id"], row["title"], row["date"], row["author"], row["source"], row["district"])


def chunk_of(row: dict) -> Chunk:
    return Chunk(row["id"], row["doc_id"], row["body"], row["paragraph"], row["heading"], row["page"])


def heads(client, collection: str) -> list[dict]:
    """Each document's first row (its metadata, passage count, terms and signature), by document id."""
    fields = {f["name"] for f in client.describe_collection(collection)["fields"]}
    if "signature" not in fields or not client.has_collection(terms_collection(collection)):
        raise MilvusError(f"Milvus collection {collection!r} was made by an older reform-qa (no per-document "
                          "statistics): rebuild it with `reform-qa --store … index --rebuild`, or name another "
                          "collection with QA_MILVUS_COLLECTION")
    rows: list[dict] = []
    pages = client.query_iterator(collection, batch_size=4096, filter="seq == 0", output_fields=HEAD_FIELDS)
    while page := pages.next():
        rows.extend(page)
    pages.close()
    return sorted(rows, key=lambda r: r["doc_id"])


def check_model(client, collection: str, model: str, dim: int) -> None:
    """Refuse a collection whose vectors another model made (searching them with ours would mislead)."""
    rows = client.query(collection, filter='id != ""', output_fields=["model"], limit=1)
    made = rows[0]["model"] if rows else ""
    if made and made != f"{model}/{dim}":
        raise MilvusError(f"Milvus collection {collection!r} holds vectors of {made}, this process embeds with "
                          f"{model}/{dim}: use the same model, another collection "
                          "(QA_MILVUS_COLLECTION), or re-embed it with `reform-qa --store … index --rebuild`")


def analyzer(words: list[str]) -> dict:
    """Milvus's jieba analyzer in search mode with the corpus dictionary (the local index's user words),
    dropping our stopwords and punctuation; text is made `searchable` first, as the local tokenizer does."""
    return {"tokenizer": {"type": "jieba", "dict": ["_default_", *words], "mode": "search"},
            "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS) + PUNCTUATION}]}


def create(client, collection: str, dim: int, words: list[str]) -> None:
    """Both collections of a corpus, indexed and loaded."""
    DataType, Function, FunctionType = pymilvus.DataType, pymilvus.Function, pymilvus.FunctionType
    schema = client.create_schema(auto_id=False, description="reform-qa chunks")
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    for name, length in (("doc_id", 256), ("district", 64), ("date", 32), ("signature", 32)):
        schema.add_field(name, DataType.VARCHAR, max_length=length)
    for name in ("title", "author", "source", "heading"):
        schema.add_field(name, DataType.VARCHAR, max_length=4096)
    schema.add_field("body", DataType.VARCHAR, max_length=65535)   # the passage as written, for citations
    schema.add_field("terms", DataType.VARCHAR, max_length=65535)  # the document's corpus terms (first row)
    schema.add_field("model", DataType.VARCHAR, max_length=256)   # “name/dim” of the encoder
    for name in ("year", "paragraph", "page", "seq", "passages"):   # seq: the chunk's place in its document
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
    terms = client.create_schema(auto_id=False, description="reform-qa term counts per document")
    terms.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    terms.add_field("doc_id", DataType.VARCHAR, max_length=256)
    terms.add_field("term", DataType.VARCHAR, max_length=256)
    terms.add_field("chunks", DataType.INT64)
    terms.add_field("v", DataType.FLOAT_VECTOR, dim=2)     # Milvus wants a vector in every collection
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="L2")
    index.add_index("term", index_type="INVERTED")
    client.create_collection(terms_collection(collection), schema=terms, index_params=index)
    for name in (collection, terms_collection(collection)):
        client.load_collection(name)


def connect(uri: str, token: str | None = None):
    """A pymilvus client for a .db file (Milvus Lite) or a server's address, or an error saying what to do."""
    if pymilvus is None:
        raise MilvusError("the Milvus store needs pymilvus (and milvus-lite for a .db file): "
                          "pip install \"reform-qa[milvus]\"")
    try:
        return pymilvus.MilvusClient(uri=uri, token=token or "")
    except Exception as e:
        where = "is another process using this .db file? Milvus Lite opens one per process; run " \
                "`milvus-lite server` for several" if uri.endswith(".db") else "is the Milvus server running?"
        raise MilvusError(f"cannot open Milvus at {uri} ({e}): {where}") from None


def expression(filters: Filters) -> str:
    """A Milvus boolean expression for the filters (evaluated server-side); "" for none."""
    parts = []
    if filters.doc_ids:
        parts.append(f"doc_id in [{', '.join(quoted(d) for d in sorted(filters.doc_ids))}]")
    if filters.district:
        parts.append(f"district == {quoted(filters.district)}")
    if filters.year:
        parts.append(f"year == {int(filters.year)}")
    return " and ".join(parts)


@contextmanager
def talking(collection: str):
    """Any failure of a call to Milvus as a MilvusError saying what to check (a 503 in the API)."""
    try:
        yield
    except MilvusError:
        raise
    except Exception as e:
        raise MilvusError(f"Milvus collection {collection!r} did not answer ({e}): is the server up?") from None
