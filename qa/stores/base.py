"""Base: the two small protocols a store implements (txtai's `ann/` pattern: a narrow interface, one file
per backend, the factory alone knows them): a Searcher answers retrieval, a Writer takes whole documents.
Also what both stores share: the filters a search may carry, the candidates it returns, the listing of
what a store holds, and the errors that say what to do."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from ..documents.document import Chunk, Document
from ..text import Tokenizer, digest


class StoreError(RuntimeError):
    """A store that cannot be opened or searched; the message says what to run, install or start."""


class StoreWriteError(StoreError):
    """An index could not be written (a full disk, no permission); what was there is kept."""


@dataclass(frozen=True)
class Filters:
    """Which chunks a search may return: of these documents, this district, this year (empty: all)."""
    doc_ids: frozenset[str] = frozenset()
    district: str = ""
    year: str = ""

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.district or self.year)

    @classmethod
    def of(cls, doc_ids=None, district: str | None = None, year=None) -> "Filters":
        """Filters from what a caller gives: any iterable of ids, a district, a year as 2019, "2019" or
        "2019年" (a year that is not one is a ValueError naming it)."""
        return cls(frozenset(doc_ids or ()), district or "", filter_year(year))


@dataclass(frozen=True)
class Candidates:
    """Chunk positions (into the store's chunks) worth fusing, with their raw BM25 and cosine scores."""
    positions: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray


@dataclass(frozen=True)
class Listing:
    """What a store holds, as last read: its documents with their chunk counts and chunk signatures."""
    model: str
    documents: tuple[Document, ...] = ()
    passages: dict[str, int] = field(default_factory=dict)      # chunks per document id
    signatures: dict[str, str] = field(default_factory=dict)    # chunk-id signature per document id
    fingerprint: str = ""                                        # changes whenever the documents do

    @property
    def count(self) -> int:
        """Chunks in the store."""
        return sum(self.passages.values())

    @cached_property
    def by_id(self) -> dict[str, Document]:
        """The listed documents by id."""
        return {d.doc_id: d for d in self.documents}


@dataclass(frozen=True)
class Rows:
    """One document as a store takes it: the document, its chunks in order and their vectors."""
    document: Document
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray


class Vocabulary(Protocol):
    """The corpus's terms as BM25 sees them."""
    tokenizer: Tokenizer

    def knows(self, token: str) -> bool:
        """Whether the corpus uses a token (some chunk holds it)."""
        ...

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a token (unknown tokens get the largest)."""
        ...


class Searcher(Protocol):
    """What ranking needs of a store. Positions number the chunks a store has handed out (every chunk it
    loaded, for the local folder; those retrieved so far, for Milvus) and stay valid while it is open."""
    vocabulary: Vocabulary

    def listing(self) -> Listing:
        """The documents the store holds now."""
        ...

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        """The BM25 top n for `text` (plus `extra`, the glossary forms, at `extra_weight`) with the dense top
        n for `vector`, both within `filters`, with both scores for every candidate."""
        ...

    def chunk(self, pos: int) -> Chunk:
        """The chunk at a position."""
        ...

    def neighbours(self, chunk_id: str) -> tuple[str, str]:
        """The texts of the chunks just before and after one a search handed out, in its document ("" at
        either end, or for a chunk the store no longer holds)."""
        ...

    def refresh(self) -> None:
        """See what other processes wrote since this one last read (their documents in, deletions out)."""
        ...


class Writer(Protocol):
    """What indexing needs of a store: whole documents in and out, each visible whole or not at all."""

    def listing(self) -> Listing:
        """The documents the store holds now."""
        ...

    def put(self, rows: list[Rows]) -> None:
        """Add these documents (replacing any held under the same id), all visible together once written;
        StoreWriteError leaves the store as it was."""
        ...

    def delete(self, doc_ids: list[str]) -> list[str]:
        """Delete these documents; returns the ids it held."""
        ...

    def vectors(self, doc_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these documents' chunks, by chunk id."""
        ...


class Store(Searcher, Writer, Protocol):
    """A store is both: the factory opens one, indexing writes it, ranking searches it."""


def signature(chunk_ids: list[str]) -> str:
    """A document's chunk ids in order, hashed: what changes when its text does."""
    return digest("\n".join(chunk_ids), 16)


def fingerprint(documents: list[Document], signatures: dict[str, str]) -> str:
    """Hash of what a store holds: each document's metadata (but its file path) and chunk signature."""
    rows = [[d.doc_id, d.title, d.date, d.author, d.source, d.district, signatures.get(d.doc_id, "")]
            for d in documents]
    return digest(json.dumps(rows, ensure_ascii=False), 20)


def filter_year(year) -> str:
    """A year filter as four digits (2019, "2019", "2019年" alike; 2100 filters to nothing); "" for none."""
    if year in (None, ""):
        return ""
    found = re.search(r"(?<!\d)\d{4}(?!\d)", str(year))
    if not found:
        raise ValueError(f"year {year!r} is not a year: give four digits, such as 2019")
    return found.group(0)
