"""Indexer: owns the way from a corpus folder to its store. A sync compares the folder with what the store
lists and writes only the difference; adding files parses them once and indexes only them; removing
deletes from folder and store together. Vectors already made are never made again: those the folder
ships, those cached from an unfinished run, and those the store holds (so a document whose text did not
change, or a removed one added back, embeds nothing)."""
from __future__ import annotations

import threading
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..documents import library
from ..documents.document import Chunk, Document, IngestError
from ..documents.folder import TEXT_SUFFIXES, load_corpus
from ..encoders import Encoder
from ..stores.base import Rows, Store, StoreWriteError
from .plan import Report, Update, contents, held, plan
from .vectors import VectorCache, embed, shipped_vectors

Parsed = tuple[Document, list[Chunk]]
CACHE = "pending-vectors"     # the cache's folder in the index folder


class Indexer:
    """Writes one corpus folder's documents into one store, a change at a time (one lock per indexer:
    embedding runs outside it, so a remove never waits behind an embedding)."""

    def __init__(self, store: Store, encoder: Encoder, data_dir: Path, cache_dir: Path):
        self.store, self.encoder, self.data_dir = store, encoder, Path(data_dir)
        self.cache = VectorCache(cache_dir, encoder.name)
        self.writing = threading.Lock()           # a put or delete at a time, against removes from the folder
        self._recent: dict[str, np.ndarray] = {}  # vectors of documents removed by this process

    def sync(self, update: Update = "add", progress: bool = True,
             callback: Callable[[int, int], None] | None = None) -> Report:
        """Bring the store up to date with the corpus folder as `update` says (plan.plan: "add" its new
        documents, "sync" changed ones too, "rebuild" the store as the folder, "none" only compare). A
        write that fails (a full disk) keeps the store as it was and says so in the report."""
        self.store.refresh()                      # what other processes wrote since counts as held
        if not self.data_dir.is_dir() and not self.store.listing().documents:
            raise IngestError(f"no corpus folder {self.data_dir}: create it, add documents with `reform-qa add`, "
                              "or pass --data DIR")
        documents, chunks = load_corpus(self.data_dir) if self.data_dir.is_dir() else ([], [])
        todo = plan(held(self.store.listing()), contents(documents, chunks), update)
        by_doc: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        folder = {d.doc_id: d for d in documents}
        work = [(folder[d], by_doc.get(d, [])) for d in (*todo.replace, *todo.add)]
        try:
            embedded = self.index(work, progress, callback, reuse_stored=update != "rebuild")
            if todo.remove:
                with self.writing:
                    self.store.delete(todo.remove)
        except StoreWriteError as e:
            if update == "rebuild":
                raise
            return Report(only_in_store=todo.report.only_in_store, changed_in_folder=todo.report.changed_in_folder,
                          not_written=str(e))
        return replace(todo.report, embedded=embedded)

    def index(self, work: list[Parsed], progress: bool = True, callback: Callable[[int, int], None] | None = None,
              reuse_stored: bool = True, encoder: Encoder | None = None,
              known: dict[str, np.ndarray] | None = None) -> int:
        """Embed what has no vector yet (none in `known`, the cache, the folder's shipped vectors or, with
        `reuse_stored`, the store) and write these documents, all visible together; a document removed
        from the folder meanwhile is not written. Returns the chunks embedded."""
        if not work:
            return 0
        found, used = self._known([d.doc_id for d, _ in work], reuse_stored)
        known = {**found, **(known or {})}
        todo = list({c.id: c for _, cs in work for c in cs if c.id not in known}.values())
        made = embed(todo, encoder or self.encoder, f"embedding {len(todo)} new chunks", progress, callback, self.cache.add)
        known.update(made)
        rows = [Rows(d, tuple(cs), np.array([known[c.id] for c in cs], np.float32).reshape(len(cs), self.encoder.dim))
                for d, cs in work]
        with self.writing:
            self.store.put([r for r in rows if self._in_folder(r.document.doc_id)])
        self.cache.clear(used)
        return len(todo)

    def remove(self, doc_ids: list[str]) -> list[str]:
        """Delete documents from the corpus folder (with their originals) and from the store; returns the
        ids either held. Their vectors stay in memory, so adding one back embeds nothing."""
        with self.writing:
            in_folder = {d.doc_id for d in library.documents(self.data_dir)} if self.data_dir.is_dir() else set()
            self._recent.update(self.store.vectors(doc_ids))
            for d in doc_ids:
                if d in in_folder:
                    library.remove(self.data_dir, d)
            gone = set(self.store.delete(doc_ids)) | (in_folder & set(doc_ids))
        return [d for d in doc_ids if d in gone]

    def _known(self, doc_ids: list[str], reuse_stored: bool) -> tuple[dict[str, np.ndarray], list]:
        """Vectors made already, by chunk id, and the cache parts they came from."""
        cached, parts = self.cache.load()
        known = {**shipped_vectors(self.data_dir, self.encoder.name, self.encoder.dim), **cached, **self._recent}
        if reuse_stored:
            known.update(self.store.vectors(doc_ids))
        return known, parts

    def _in_folder(self, doc_id: str) -> bool:
        if not self.data_dir.is_dir():
            return True
        return any((self.data_dir / f"{doc_id}{suffix}").exists() for suffix in TEXT_SUFFIXES)
