"""Base: the Store protocol (what the engine needs of an index of the corpus) and what both stores share:
the filters a search may carry, the candidates it returns, and the fingerprint of what was indexed."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..documents.document import Chunk, Document, index_text
from ..encoders import Encoder
from ..progress import Progress
from ..text import Tokenizer

FORMAT = "v1 bigrams=True"   # what a fingerprint is computed under; a change makes every index stale
UPDATES = ("add", "sync", "rebuild", "none")   # what opening a store may do with the corpus folder (see plan())


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


@dataclass(frozen=True)
class Candidates:
    """Chunk positions (into the store's chunks) worth fusing, with their raw BM25 and cosine scores."""
    positions: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray


class Store(Protocol):
    """What the engine needs of an index of the corpus. Positions number the chunks a store has handed out
    (every chunk, for the local folder; those retrieved so far, for Milvus) and stay valid while it is open."""
    documents: list[Document]
    count: int               # chunks in the store
    tokenizer: Tokenizer
    model: str
    fingerprint: str
    embedded: int            # chunks embedded when it was opened (0: everything came from the index)
    report: Report           # how it stands against the corpus folder it was opened with

    def chunk(self, pos: int) -> Chunk:
        """The chunk at a position."""
        ...

    def position(self, chunk_id: str) -> int | None:
        """A chunk's position, if this store has handed it out."""
        ...

    def document(self, doc_id: str) -> Document:
        """A document of the store, by id."""
        ...

    def neighbours(self, pos: int) -> tuple[str, str]:
        """The texts of the chunks just before and after one, in its document ("" at either end)."""
        ...

    def per_document(self) -> dict[str, int]:
        """Chunks per document id."""
        ...

    def remove(self, doc_ids: list[str]) -> list[str]:
        """Delete these documents' chunks from the store; returns the ids it held."""
        ...

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


@dataclass(frozen=True)
class Report:
    """How an opened store stands against the corpus folder it was opened with, and what opening changed.
    Opening never deletes: rows leave a store only through remove() or an explicit rebuild."""
    added: tuple[str, ...] = ()              # documents new to the store, embedded and added now
    replaced: tuple[str, ...] = ()           # changed in the folder and re-indexed (`reform-qa index`)
    removed: tuple[str, ...] = ()            # deleted from the store (a rebuild of a folder that lacks them)
    only_in_store: tuple[str, ...] = ()      # kept: the folder lacks them (another folder's, or deleted there)
    changed_in_folder: tuple[str, ...] = ()  # kept as indexed: the folder has another version
    not_written: str = ""                    # why the folder's new documents are not in the index yet

    def notices(self) -> list[str]:
        """What a person should know about the differences, one line each, with the command that acts."""
        lines = []
        if self.removed:
            lines.append(f"removed from the index: {', '.join(self.removed)}")
        if self.only_in_store:
            lines.append(f"the index has {len(self.only_in_store)} documents the corpus folder lacks, kept and "
                         f"searchable: {', '.join(self.only_in_store[:10])}{' …' if len(self.only_in_store) > 10 else ''}"
                         "; `reform-qa remove ID` deletes one")
        if self.not_written:
            lines.append(self.not_written)
        if self.changed_in_folder:
            lines.append(f"{len(self.changed_in_folder)} documents differ from the corpus folder and are searched "
                         f"as indexed: {', '.join(self.changed_in_folder[:10])}; `reform-qa index` re-indexes them")
        return lines


@dataclass(frozen=True)
class Plan:
    """What opening a store does with a corpus folder: the documents to add, replace and remove."""
    add: list[str]
    replace: list[str]
    remove: list[str]
    report: Report


def plan(had: dict[str, tuple[Document, str]], has: dict[str, tuple[Document, str]], update: str) -> Plan:
    """Compare a store with a corpus folder. update "add" (any open) adds the folder's new documents;
    "sync" (`reform-qa index`) also replaces the ones that changed; "rebuild" makes the store the folder,
    removing what the folder lacks; "none" (an app's search worker, beside the process that writes) reads
    the store as it is. had and has are contents(): documents count as changed when their metadata (but
    the file path) or chunk ids differ."""
    if update not in UPDATES:
        raise ValueError(f"unknown update {update!r}: use one of {', '.join(UPDATES)}")
    new = [d for d in has if d not in had]
    changed = [d for d in has if d in had and had[d] != has[d]]
    missing = [d for d in had if d not in has]
    if update == "rebuild":
        return Plan(list(has), [], missing, Report(added=tuple(new), replaced=tuple(changed), removed=tuple(missing)))
    replace = changed if update == "sync" else []
    if update == "none":
        new = []
    return Plan(new, replace, [], Report(tuple(new), tuple(replace), (), tuple(missing),
                                         tuple(d for d in changed if d not in replace)))


def contents(documents: list[Document], chunks: list[Chunk]) -> dict[str, tuple[Document, str]]:
    """Each document (without its file path) with the signature of its chunk ids, as plan() compares them."""
    ids: dict[str, list[str]] = {d.doc_id: [] for d in documents}
    for c in chunks:
        ids.setdefault(c.doc_id, []).append(c.id)
    return {d.doc_id: (replace(d, path=""), signature(ids[d.doc_id])) for d in documents}


def signature(chunk_ids: list[str]) -> str:
    """A document's chunk ids in order, hashed: what changes when its text does."""
    return hashlib.sha256("\n".join(chunk_ids).encode()).hexdigest()[:16]


def embed(chunks: list[Chunk], encoder: Encoder, what: str, progress: bool = True,
          callback: Callable[[int, int], None] | None = None, batch: int = 64,
          keep: Callable[[dict[str, np.ndarray]], None] | None = None) -> dict[str, np.ndarray]:
    """Each chunk's vector (of its heading path and text) by chunk id, a batch at a time, with progress;
    `keep` gets each batch as it is made (pending vectors, so a killed build resumes)."""
    vectors: dict[str, np.ndarray] = {}
    with Progress(len(chunks), what, progress, callback) as done:
        for start in range(0, len(chunks), batch):
            part = chunks[start:start + batch]
            made = dict(zip((c.id for c in part), encoder.encode([index_text(c) for c in part])))
            if keep:
                keep(made)
            vectors.update(made)
            done.update(len(part))
    return vectors


def shipped_vectors(folder: Path, model: str, dim: int) -> dict[str, np.ndarray]:
    """The vectors a corpus folder carries for its chunks (vectors-<model>.npz, by chunk id; empty for any
    other model): the shipped corpus has them, so a new data home answers without embedding it first."""
    path = Path(folder) / f"vectors-{model}.npz"
    if not path.is_file():
        return {}
    with np.load(path) as stored:
        if str(stored["model"]) != model or stored["vectors"].shape[1] != dim:
            return {}
        return dict(zip(stored["ids"].tolist(), stored["vectors"]))


def ship_vectors(folder: Path, model: str, chunks: list[Chunk], vectors: dict[str, np.ndarray]) -> Path:
    """Write the vectors of a corpus folder's chunks into it (`reform-qa index --ship-vectors`)."""
    path = Path(folder) / f"vectors-{model}.npz"
    ids = [c.id for c in chunks]
    np.savez_compressed(path, model=np.array(model), ids=np.array(ids),
                        vectors=np.array([vectors[i] for i in ids], np.float32))
    return path


def fingerprint(documents: list[Document], chunks: list[Chunk]) -> str:
    """Hash of everything an index is built from: chunk ids and document metadata."""
    h = hashlib.sha256(FORMAT.encode())
    for d in documents:
        h.update(json.dumps(asdict(d), ensure_ascii=False, sort_keys=True).encode())
    for c in chunks:
        h.update(c.id.encode())
    return h.hexdigest()[:20]


def idf(df: int, n: int) -> float:
    """BM25's inverse document frequency of a token found in df of n chunks (Lucene's form, never negative)."""
    return float(np.log(1 + (max(n, 1) - df + 0.5) / (df + 0.5)))
