"""Local: the default store, an index folder of per-document segments (qa.stores.segments) held in memory
as one Table (qa.stores.table: FAISS and BM25 postings). Adding a document writes and tokenises that
document only; deleting one drops it from the manifest and marks its rows."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..documents.document import Chunk
from ..text import Tokenizer, corpus_terms
from . import segments as disk
from .base import Candidates, Filters, Listing, Rows, StoreError, StoreWriteError, fingerprint, signature
from .segments import Entry, FormatError, Manifest, Segment
from .table import Table


class StoreFormatError(StoreError):
    """A stored index that cannot be used; the message says how to rebuild it."""


class Terms:
    """The local store's Vocabulary: its table's tokenizer and BM25 statistics."""

    def __init__(self, table: Table):
        self.table = table

    @property
    def tokenizer(self) -> Tokenizer:
        return self.table.tokenizer

    def knows(self, token: str) -> bool:
        return self.table.postings.df(token) > 0

    def idf(self, token: str) -> float:
        return self.table.idf(token)


class LocalStore:
    """One index folder as this process holds it: every row loaded or added since it was opened (deleted
    ones marked), and the documents live now."""

    def __init__(self, index_dir: Path, model: str, dim: int):
        self.folder, self.model, self.dim = Path(index_dir), model, dim
        self.table = Table(dim)
        self.vocabulary = Terms(self.table)
        self._entries: dict[str, Entry] = {}
        self._generation = -1
        self._listing = Listing(model)
        self._lock = threading.RLock()             # searches against writes in this process

    @classmethod
    def open(cls, index_dir: Path, model: str, dim: int, fresh: bool = False) -> "LocalStore":
        """The index in a folder as it is: empty if there is none yet, if its vectors are another model's
        or if it has the first format (the first write then replaces it), or with `fresh` (a rebuild).
        An index this version cannot read otherwise is refused. Opening writes nothing."""
        store = cls(index_dir, model, dim)
        if fresh:
            return store
        try:
            manifest = disk.read_manifest(index_dir)
        except disk.OldFormat:
            return store
        except FormatError as e:
            raise StoreFormatError(str(e)) from e
        if manifest and (manifest.model, manifest.dim) == (model, dim):
            store._catch_up(manifest)
        return store

    @property
    def chunks(self) -> list[Chunk]:
        """Every row's chunk (deleted rows included), in row order."""
        return self.table.chunks

    @property
    def embeddings(self) -> np.ndarray:
        """Every row's vector (deleted rows included), in row order."""
        return self.table.embeddings

    # -- Searcher ----------------------------------------------------------------------------------
    def listing(self) -> Listing:
        return self._listing

    def chunk(self, pos: int) -> Chunk:
        return self.table.chunks[pos]

    def neighbours(self, chunk_id: str) -> tuple[str, str]:
        with self._lock:
            return self.table.neighbours(chunk_id)

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        """The dense top n with the BM25 top n, or every chunk the filters allow, with both scores."""
        with self._lock:
            allowed = self.table.mask(self._allowed(filters)) if filters else None
            return self.table.retrieve(text, extra, extra_weight, vector, n, allowed)

    def _allowed(self, filters: Filters) -> list[str]:
        return [d for d, doc in self._listing.by_id.items() if (not filters.doc_ids or d in filters.doc_ids)
                and (not filters.district or doc.district == filters.district)
                and (not filters.year or doc.date.startswith(filters.year))]

    # -- Writer ------------------------------------------------------------------------------------
    def put(self, rows: list[Rows]) -> None:
        """Write each document as a segment, then the manifest that lists them; in memory, their rows are
        added and those of any earlier version marked deleted."""
        if not rows:
            return
        with self._lock, self._folder_lock():
            manifest = self._fresh()
            self.table.tokenizer.learn(corpus_terms(c.text for r in rows for c in r.chunks))
            written: list[tuple[str, Segment]] = []
            try:
                for r in rows:
                    segment = Segment(list(r.chunks), np.asarray(r.vectors, np.float32),
                                      self.table.counts(list(r.chunks)), corpus_terms(c.text for c in r.chunks))
                    written.append((disk.write_segment(self.folder, segment), segment))
                ids = {r.document.doc_id for r in rows}
                new = [Entry(r.document, name, signature([c.id for c in r.chunks]), len(r.chunks))
                       for r, (name, _) in zip(rows, written)]
                self._commit(manifest, [e for e in manifest.entries if e.document.doc_id not in ids] + new)
            except OSError as e:
                for name, _ in written:
                    disk.remove_segment(self.folder, name)
                raise self._write_error(e, sum(len(r.chunks) for r in rows)) from e
            for doc_id in ids:
                self._drop(doc_id)
            self._append([(e, s) for e, (_, s) in zip(new, written)])

    def delete(self, doc_ids: list[str]) -> list[str]:
        """Drop documents from the manifest and mark their rows; nothing is re-indexed."""
        with self._lock, self._folder_lock():
            manifest = self._fresh()
            held = [d for d in dict.fromkeys(doc_ids) if d in self._entries]
            if held:
                try:
                    self._commit(manifest, [e for e in manifest.entries if e.document.doc_id not in held])
                except OSError as e:
                    raise self._write_error(e, 0) from e
                for d in held:
                    self._drop(d)
                self._relist()
            return held

    def vectors(self, doc_ids: list[str]) -> dict[str, np.ndarray]:
        with self._lock:
            return self.table.vectors(doc_ids)

    # -- keeping memory and folder together ------------------------------------------------------
    def refresh(self) -> None:
        """See what other processes wrote since (their documents loaded, their deletions applied)."""
        with self._lock:
            try:
                manifest = disk.read_manifest(self.folder)
            except FormatError:            # refused when opened, or opened fresh: the next write replaces it
                return
            if manifest and manifest.generation != self._generation and manifest.model == self.model:
                self._catch_up(manifest)

    def _folder_lock(self) -> FileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / ".lock"))

    def _fresh(self) -> Manifest:
        """The folder's manifest under its lock, with this process caught up to it (another process may
        have written since); a folder of another model is replaced whole by this write."""
        try:
            manifest = disk.read_manifest(self.folder)
        except FormatError:
            manifest = None                      # an older format: the first write starts it afresh
        if manifest is None or (manifest.model, manifest.dim) != (self.model, self.dim):
            return Manifest(self.model, self.dim, (), (), manifest.generation if manifest else 0)
        if manifest.generation != self._generation:
            self._catch_up(manifest)
        return manifest

    def _commit(self, manifest: Manifest, entries: list[Entry]) -> None:
        live = {e.segment for e in entries}
        retired = tuple(e.segment for e in manifest.entries if e.segment not in live)
        new = Manifest(self.model, self.dim, tuple(entries), retired, manifest.generation + 1)
        disk.write_manifest(self.folder, new)
        disk.clean(self.folder, new)
        self._generation = new.generation

    def _catch_up(self, manifest: Manifest, tries: int = 3) -> None:
        """Make memory what the manifest lists: rows of documents it dropped or replaced marked deleted,
        the segments it adds read and appended."""
        wanted = {e.document.doc_id: e for e in manifest.entries}
        for doc_id, entry in list(self._entries.items()):
            if doc_id not in wanted or wanted[doc_id].segment != entry.segment:
                self._drop(doc_id)
        new = [e for e in manifest.entries if e.document.doc_id not in self._entries]
        try:
            loaded = [(e, disk.read_segment(self.folder, e.segment, self.dim)) for e in new]
        except FileNotFoundError:       # a writer replaced it meanwhile and dropped the folder: read again
            again = disk.read_manifest(self.folder) if tries else None
            return self._catch_up(again, tries - 1) if again else None
        except (OSError, ValueError, KeyError, FormatError) as e:
            raise StoreFormatError(f"index in {self.folder} is damaged ({e}): run `reform-qa index --rebuild`") from e
        self.table.tokenizer.learn(w for _, s in loaded for w in s.words)
        self._append(loaded)
        self._generation = manifest.generation
        self._relist()

    def _append(self, loaded: list[tuple[Entry, Segment]]) -> None:
        for entry, _ in loaded:
            self._entries[entry.document.doc_id] = entry
        self.table.append([(e.document.doc_id, s.chunks, s.vectors, s.counts) for e, s in loaded])
        self._relist()

    def _drop(self, doc_id: str) -> None:
        self._entries.pop(doc_id, None)
        self.table.drop(doc_id)

    def _relist(self) -> None:
        entries = list(self._entries.values())
        documents = tuple(e.document for e in entries)
        signatures = {e.document.doc_id: e.signature for e in entries}
        self._listing = Listing(self.model, documents, {e.document.doc_id: e.chunks for e in entries}, signatures,
                                fingerprint(list(documents), signatures))

    def _write_error(self, e: OSError, chunks: int) -> StoreWriteError:
        reason = e.strerror or str(e)
        need = chunks * (self.dim * 4 + 3000) / 2**20
        return StoreWriteError(f"could not write the index in {self.folder} ({reason}); the index as it was is "
                               f"kept and still answers: free space there (this write needs about {need:.0f} MB) "
                               "and run `reform-qa index`")
