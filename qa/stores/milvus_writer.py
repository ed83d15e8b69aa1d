"""Milvus writes: a document into a corpus's two collections whole or not at all, and deletions. A
document's earlier rows go first, its term counts next, its chunks last with its first row (the one that
lists it) at the very end, so a document is listed only once all its rows are in."""
from __future__ import annotations

import numpy as np

from ..documents.document import Chunk, Document
from ..text import Tokenizer, corpus_terms
from .milvus_schema import chunk_rows, quoted, term_rows, terms_collection

BATCH = 64            # chunks inserted at a time


class Writer:
    """Writes to one corpus's collections (the chunks and `<name>_terms`)."""

    def __init__(self, client, collection: str):
        self.client, self.collection = client, collection
        self._counter: tuple[tuple[str, ...], Tokenizer] | None = None

    def delete(self, doc_ids: list[str]) -> None:
        expr = f"doc_id in [{', '.join(quoted(d) for d in doc_ids)}]"
        self.client.delete(self.collection, filter=expr)
        self.client.delete(terms_collection(self.collection), filter=expr)

    def flush(self) -> None:
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

    def add_document(self, doc: Document, chunks: list[Chunk], vectors: list[np.ndarray], model: str,
                     words: list[str]) -> None:
        """Replace one document's rows: its earlier ones deleted, its term counts, then its chunks by chunk
        id; if any batch fails, the rows of this document written so far are deleted again: no partial
        document is left (nor its earlier version). `words`: the corpus terms to count with (the store's
        and those of all the documents being added, so that each is tokenised as the whole corpus will
        be); `model`: "name/dim" of the vectors."""
        self.delete([doc.doc_id])      # an earlier version, or rows a crashed write left
        try:
            rows = term_rows(doc.doc_id, chunks, self._counting(words, chunks))
            for start in range(0, len(rows), 1000):
                self.client.upsert(terms_collection(self.collection), rows[start:start + 1000])
            # the first chunk's row (which lists the document) last: a document is listed only when whole,
            # so a rerun after a crash writes it again
            for start in reversed(range(0, len(chunks), BATCH)):
                self.client.upsert(self.collection, chunk_rows(doc, chunks[start:start + BATCH],
                                                               vectors[start:start + BATCH], model, start, chunks))
        except Exception:
            self.delete([doc.doc_id])   # its earlier rows went first: these are the ones just written
            raise

    def vectors(self, doc_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these documents' chunks, by chunk id."""
        out: dict[str, np.ndarray] = {}
        pages = self.client.query_iterator(self.collection, batch_size=1024, output_fields=["id", "dense"],
                                           filter=f"doc_id in [{', '.join(quoted(d) for d in doc_ids)}]")
        while page := pages.next():
            out.update((r["id"], np.asarray(r["dense"], np.float32)) for r in page)
        pages.close()
        return out

    def _counting(self, words: list[str], chunks: list[Chunk]) -> Tokenizer:
        """The tokenizer that counts a document's terms: the given words and the document's own."""
        vocabulary = tuple(sorted({*words, *corpus_terms(c.text for c in chunks)}))
        if self._counter is None or self._counter[0] != vocabulary:     # one jieba set-up per vocabulary
            self._counter = (vocabulary, Tokenizer(vocabulary))
        return self._counter[1]

    def drop(self) -> None:
        """Drop both collections (the bench's scratch collections)."""
        for name in (self.collection, terms_collection(self.collection)):
            self.client.drop_collection(name)
