"""Local: the default store, an index folder of per-document segments (qa.stores.segments) held in memory
as dense vectors in FAISS and jieba-token BM25 postings (qa.stores.bm25). Adding a document writes and
tokenises that document only; deleting one drops it from the manifest and marks its rows."""
from __future__ import annotations

import threading
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock

from ..documents.document import Chunk, index_text
from ..text import Tokenizer, corpus_terms
from . import segments as disk
from .base import Candidates, Filters, Listing, Rows, StoreError, StoreWriteError, fingerprint, signature
from .bm25 import Postings, count, idf
from .segments import Entry, FormatError, Manifest, Segment

HNSW_ABOVE = 200_000        # exact flat search up to this many chunks, HNSW beyond (see `reform-qa bench`)
FAISS_THREADS = 1           # one query at a time: a second OpenMP thread only contends with the encoder's
                            # threads (measured at 100K chunks: flat search p50 28 ms with 2 threads, 7 ms with 1)
faiss.omp_set_num_threads(FAISS_THREADS)


class StoreFormatError(StoreError):
    """A stored index that cannot be used; the message says how to rebuild it."""


def dense_index(dim: int, rows: int) -> faiss.Index:
    """Inner-product FAISS index over L2-normalised vectors: flat (exact) or HNSW for large corpora."""
    if rows > HNSW_ABOVE:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
        return index
    return faiss.IndexFlatIP(dim)


class Terms:
    """The local store's Vocabulary: its tokenizer and its BM25 postings' statistics."""

    def __init__(self, tokenizer: Tokenizer, postings: Postings):
        self.tokenizer, self.postings = tokenizer, postings

    def knows(self, token: str) -> bool:
        return self.postings.df(token) > 0

    def idf(self, token: str) -> float:
        return idf(self.postings.df(token), int(self.postings.alive.sum()))


class LocalStore:
    """One index folder as this process holds it: every row loaded or added since it was opened (deleted
    ones marked), and the documents live now."""

    def __init__(self, index_dir: Path, model: str, dim: int):
        self.folder, self.model, self.dim = Path(index_dir), model, dim
        self.chunks: list[Chunk] = []
        self._buffer = np.zeros((0, dim), np.float32)   # the rows' vectors, grown by doubling
        self.dense = dense_index(dim, 0)
        self.postings = Postings()
        self.vocabulary = Terms(Tokenizer(), self.postings)
        self._entries: dict[str, Entry] = {}
        self._rows: dict[str, range] = {}          # live document -> its rows
        self._row_doc: list[str] = []
        self._positions: dict[str, int] = {}
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
    def embeddings(self) -> np.ndarray:
        """Every loaded row's vector (deleted rows included), in row order."""
        return self._buffer[:len(self.chunks)]

    # -- Searcher ----------------------------------------------------------------------------------
    def listing(self) -> Listing:
        return self._listing

    def chunk(self, pos: int) -> Chunk:
        return self.chunks[pos]

    def neighbours(self, chunk_id: str) -> tuple[str, str]:
        with self._lock:
            pos = self._positions.get(chunk_id)
            if pos is None:
                return "", ""
            doc = self._row_doc[pos]
            rows = self._rows.get(doc, range(0))
            before = self.chunks[pos - 1].text if pos - 1 in rows else ""
            after = self.chunks[pos + 1].text if pos + 1 in rows else ""
        return before, after

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        """The dense top n with the BM25 top n, or every chunk the filters allow, with both scores."""
        with self._lock:
            alive = self.postings.alive
            bm25 = self.postings.scores(self.vocabulary.tokenizer(text))
            if extra:
                bm25 = bm25 + extra_weight * self.postings.scores(self.vocabulary.tokenizer(extra))
            if filters:
                cand = np.flatnonzero(alive & self._allowed(filters))
            else:
                live = np.flatnonzero(alive)
                n = min(n, len(live))
                if not n:
                    return Candidates(*(np.zeros(0),) * 3)
                dead = len(alive) - len(live)
                _, found = self.dense.search(vector[None, :].astype(np.float32), min(n + dead, len(alive)))
                dense_top = [i for i in found[0] if i >= 0 and alive[i]][:n]
                lexical = live[np.argpartition(-bm25[live], n - 1)[:n]]
                cand = np.union1d(np.array(dense_top, dtype=np.int64), lexical)
            return Candidates(cand, bm25[cand].astype(np.float64), self.embeddings[cand] @ vector)

    def _allowed(self, filters: Filters) -> np.ndarray:
        docs = self._listing.by_id
        ok = {d for d, doc in docs.items() if (not filters.doc_ids or d in filters.doc_ids)
              and (not filters.district or doc.district == filters.district)
              and (not filters.year or doc.date.startswith(filters.year))}
        mask = np.zeros(len(self.chunks), bool)
        for d in ok:
            mask[self._rows[d].start:self._rows[d].stop] = True
        return mask

    # -- Writer ------------------------------------------------------------------------------------
    def put(self, rows: list[Rows]) -> None:
        """Write each document as a segment, then the manifest that lists them; in memory, their rows are
        added and those of any earlier version marked deleted."""
        if not rows:
            return
        with self._lock, self._folder_lock():
            manifest = self._fresh()
            self.vocabulary.tokenizer.learn(corpus_terms(c.text for r in rows for c in r.chunks))
            written: list[tuple[Rows, str, Segment]] = []
            try:
                for r in rows:
                    tokens = [self.vocabulary.tokenizer(index_text(c)) or ["∅"] for c in r.chunks]
                    segment = Segment(list(r.chunks), np.asarray(r.vectors, np.float32), count(tokens),
                                      corpus_terms(c.text for c in r.chunks))
                    written.append((r, disk.write_segment(self.folder, segment), segment))
                ids = {r.document.doc_id for r in rows}
                entries = [e for e in manifest.entries if e.document.doc_id not in ids] + [
                    Entry(r.document, name, signature([c.id for c in r.chunks]), len(r.chunks))
                    for r, name, _ in written]
                self._commit(manifest, entries)
            except OSError as e:
                for _, name, _ in written:
                    disk.remove_segment(self.folder, name)
                raise self._write_error(e, sum(len(r.chunks) for r in rows)) from e
            for doc_id in ids:
                self._drop(doc_id)
            self._append([(e, s) for (r, name, s), e in zip(written, entries[-len(written):])])
            self._relist()

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
            return {self.chunks[i].id: self._buffer[i] for d in doc_ids for i in self._rows.get(d, ())}

    # -- keeping memory and folder together ------------------------------------------------------
    def refresh(self) -> None:
        """See what other processes wrote since (their documents loaded, their deletions applied)."""
        with self._lock:
            try:
                manifest = disk.read_manifest(self.folder)
            except FormatError as e:
                raise StoreFormatError(str(e)) from e
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
            return Manifest(self.model, self.dim, (), tuple(e.segment for e in manifest.entries) if manifest else (),
                            manifest.generation if manifest else 0)
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

    def _catch_up(self, manifest: Manifest) -> None:
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
            return self.refresh_after_race()
        except (OSError, ValueError, KeyError, FormatError) as e:
            raise StoreFormatError(f"index in {self.folder} is damaged ({e}): run `reform-qa index --rebuild`") from e
        self.vocabulary.tokenizer.learn(w for _, s in loaded for w in s.words)
        self._append(loaded)
        self._generation = manifest.generation
        self._relist()

    def refresh_after_race(self) -> None:
        """Read the manifest again after a segment vanished between reading it and reading the folder."""
        manifest = disk.read_manifest(self.folder)
        if manifest is not None:
            self._catch_up(manifest)

    def _append(self, loaded: list[tuple[Entry, Segment]]) -> None:
        if not loaded:
            return
        start = len(self.chunks)
        added = np.concatenate([s.vectors for _, s in loaded]).astype(np.float32).reshape(-1, self.dim)
        if start + len(added) > len(self._buffer):
            grown = np.zeros((max(start + len(added), 2 * len(self._buffer), 1024), self.dim), np.float32)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:start + len(added)] = added
        for entry, segment in loaded:
            self._entries[entry.document.doc_id] = entry
            self._rows[entry.document.doc_id] = range(len(self.chunks), len(self.chunks) + len(segment.chunks))
            self._positions.update((c.id, len(self.chunks) + i) for i, c in enumerate(segment.chunks))
            self.chunks.extend(segment.chunks)
            self._row_doc.extend([entry.document.doc_id] * len(segment.chunks))
            self.postings.add(segment.counts)
        if self.dense.ntotal == 0 and len(self.chunks) > HNSW_ABOVE:
            self.dense = dense_index(self.dim, len(self.chunks))
        if len(added):
            self.dense.add(np.ascontiguousarray(added))

    def _drop(self, doc_id: str) -> None:
        rows = self._rows.pop(doc_id, None)
        self._entries.pop(doc_id, None)
        if rows is not None and len(rows):
            self.postings.delete(np.arange(rows.start, rows.stop))
            for i in rows:
                if self._positions.get(self.chunks[i].id) == i:
                    del self._positions[self.chunks[i].id]

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

