"""Store: the seam between the engine and where chunks are indexed. Two real stores: the local folder
(FAISS + bm25s, `qa.index.Index`) and Milvus (`qa.milvus_store.MilvusStore`: Milvus Lite in a .db file, or
a Milvus server or cluster). Both keep the corpus's documents and chunks in memory; a store answers
`retrieve` (candidates with BM25 and dense scores, filtered) and the term statistics of the second stage."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .embeddings import Encoder
from .ingest import Chunk, Document
from .settings import Settings
from .text import Tokenizer


@dataclass(frozen=True)
class Filters:
    """Which chunks a search may return: of these documents, this district, this year (empty: all)."""
    doc_ids: frozenset[str] = frozenset()
    district: str = ""
    year: str = ""

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.district or self.year)


@dataclass(frozen=True)
class Candidates:
    """Chunk positions (into the store's chunks) worth fusing, with their raw BM25 and cosine scores."""
    positions: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray


class Store(Protocol):
    """What the engine needs of an index of the corpus."""
    documents: list[Document]
    chunks: list[Chunk]
    tokenizer: Tokenizer
    model: str
    fingerprint: str
    embedded: int          # chunks embedded when it was opened (0: everything came from the index)

    def knows(self, token: str) -> bool:
        """Whether the corpus uses a token (it is in the BM25 vocabulary)."""
        ...

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a token (unknown tokens get the largest)."""
        ...

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        """The BM25 top n for `text` (plus `extra`, the glossary forms, at `extra_weight`) with the dense top
        n for `vector`, both within `filters`, with both scores for every candidate."""
        ...


def open_store(settings: Settings, encoder: Encoder, rebuild: bool = False, progress: bool = True) -> Store:
    """The store the settings name: store None -> the local index folder; a path ending .db -> Milvus Lite
    in that file; http(s)://host:19530 -> a Milvus server or cluster. Brought up to date with the corpus."""
    if not settings.store:
        from .index import open_index
        return open_index(settings.data_dir, settings.index_dir, encoder, rebuild=rebuild, progress=progress)
    from .milvus_store import MilvusStore
    return MilvusStore.open(settings.store, settings.data_dir, encoder, settings.collection, settings.token,
                            rebuild=rebuild, progress=progress)
