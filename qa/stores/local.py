"""Local: the default store, a folder holding dense vectors in FAISS and jieba-BM25 (bm25s), persisted
atomically with a checked manifest."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import bm25s
import faiss
import numpy as np
from filelock import FileLock

from ..documents.document import Chunk, Document, index_text
from ..documents.folder import load_corpus
from ..encoders import Encoder
from ..text import Tokenizer, corpus_terms
from .pending import PendingVectors
from .base import (Candidates, Filters, Report, StoreError, StoreWriteError, contents, embed, fingerprint, idf, plan,
                   shipped_vectors)

FORMAT_VERSION = 1
CURRENT = "CURRENT"         # names the live build folder; replaced atomically with os.replace
BATCH = 64                  # chunks embedded at a time
HNSW_ABOVE = 200_000        # exact flat search up to this many chunks, HNSW beyond (see `python -m qa bench`)
FAISS_THREADS = 1           # one query at a time: a second OpenMP thread only contends with the encoder's
                            # threads (measured at 100K chunks: flat search p50 28 ms with 2 threads, 7 ms with 1)
faiss.omp_set_num_threads(FAISS_THREADS)


class StoreFormatError(StoreError):
    """A stored index that cannot be used; the message says how to rebuild it."""


def dense_index(vectors: np.ndarray) -> faiss.Index:
    """Inner-product FAISS index over L2-normalised vectors: flat (exact) or HNSW for large corpora."""
    dim = vectors.shape[1]
    if len(vectors) > HNSW_ABOVE:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


@dataclass
class LocalStore:
    """Chunks with their vectors, FAISS and BM25 indexes, and the manifest they were built under."""
    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: faiss.Index
    bm25: bm25s.BM25
    tokenizer: Tokenizer
    model: str
    fingerprint: str
    embedded: int = 0                                        # chunks embedded by the last build (rest cached)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per build stage, for `qa bench`
    report: Report = field(default_factory=Report)           # against the corpus folder it was opened with
    folder: Path = Path()                                    # the index folder it was loaded from or saved to

    # -- the Store protocol (qa.stores.base): retrieval over this folder ---------------------------------
    @property
    def count(self) -> int:
        return len(self.chunks)

    def __post_init__(self) -> None:
        self._positions = {c.id: i for i, c in enumerate(self.chunks)}
        self._documents = {d.doc_id: d for d in self.documents}

    def chunk(self, pos: int) -> Chunk:
        return self.chunks[pos]

    def position(self, chunk_id: str) -> int | None:
        return self._positions.get(chunk_id)

    def document(self, doc_id: str) -> Document:
        return self._documents[doc_id]

    def neighbours(self, pos: int) -> tuple[str, str]:
        c, chunks = self.chunks[pos], self.chunks
        before = chunks[pos - 1].text if pos > 0 and chunks[pos - 1].doc_id == c.doc_id else ""
        after = chunks[pos + 1].text if pos + 1 < len(chunks) and chunks[pos + 1].doc_id == c.doc_id else ""
        return before, after

    def per_document(self) -> dict[str, int]:
        return dict(Counter(c.doc_id for c in self.chunks))

    def knows(self, token: str) -> bool:
        """Whether the corpus uses a token (it is in the BM25 vocabulary)."""
        return bool(self.chunks) and token in self.bm25.vocab_dict

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a token (unknown tokens get the largest)."""
        if not hasattr(self, "_df"):
            self._df = np.diff(np.asarray(self.bm25.scores["indptr"])) if self.chunks else np.zeros(0)
        tid = self.bm25.vocab_dict.get(token) if self.chunks else None
        return idf(int(self._df[tid]) if tid is not None and tid < len(self._df) else 0, len(self.chunks))

    def lexical(self, text: str) -> np.ndarray:
        """BM25 score of every chunk for a text."""
        tokens = [t for t in self.tokenizer(text) if t in self.bm25.vocab_dict] if self.chunks else []
        return self.bm25.get_scores(tokens) if tokens else np.zeros(len(self.chunks), np.float32)

    def retrieve(self, text: str, extra: str, extra_weight: float, vector: np.ndarray, n: int,
                 filters: Filters) -> Candidates:
        """The dense top n with the BM25 top n, or every chunk the filters allow, with both scores."""
        bm25 = self.lexical(text)
        if extra:
            bm25 = bm25 + extra_weight * self.lexical(extra)
        if filters:
            docs = {d.doc_id: d for d in self.documents}
            cand = np.flatnonzero([(not filters.doc_ids or c.doc_id in filters.doc_ids)
                                   and (not filters.district or docs[c.doc_id].district == filters.district)
                                   and (not filters.year or docs[c.doc_id].date.startswith(filters.year))
                                   for c in self.chunks])
        else:
            n = min(n, len(self.chunks))
            _, dense_ids = self.dense.search(vector[None, :].astype(np.float32), n)
            cand = np.union1d(dense_ids[0][dense_ids[0] >= 0], np.argpartition(-bm25, n - 1)[:n])
        return Candidates(cand, bm25[cand].astype(np.float64), self.vectors[cand] @ vector)

    @classmethod
    def build(cls, documents: list[Document], chunks: list[Chunk], encoder: Encoder,
              cache: dict[str, np.ndarray] | None = None, progress: bool = True,
              callback: Callable[[int, int], None] | None = None,
              keep: Callable[[dict[str, np.ndarray]], None] | None = None) -> "LocalStore":
        """Embed (reusing cached vectors by chunk id; `keep` gets each new batch), tokenize and index."""
        cache = cache or {}
        clock = [time.perf_counter()]
        timings: dict[str, float] = {}

        def lap(stage: str) -> None:
            now = time.perf_counter()
            timings[stage] = now - clock[0]
            clock[0] = now
        tokenizer = Tokenizer(corpus_terms(c.text for c in chunks))
        tokens = [tokenizer(index_text(c)) or ["∅"] for c in chunks]
        lap("tokenize")
        vectors = np.zeros((len(chunks), encoder.dim), np.float32)
        todo = [c for c in chunks if c.id not in cache]
        made = embed(todo, encoder, f"embedding {len(todo)} new chunks", progress, callback, BATCH, keep)
        for i, c in enumerate(chunks):
            vectors[i] = cache[c.id] if c.id in cache else made[c.id]
        lap("embed")
        dense = dense_index(vectors)
        lap("faiss")
        bm25 = bm25s.BM25()
        if chunks:
            bm25.index(tokens, show_progress=False)
        lap("bm25")
        return cls(documents, chunks, vectors, dense, bm25, tokenizer, encoder.name,
                   fingerprint(documents, chunks), len(todo), timings)

    def vectors_by_id(self) -> dict[str, np.ndarray]:
        """Each chunk's vector by chunk id (what a rebuild need not embed again)."""
        return {c.id: v for c, v in zip(self.chunks, self.vectors)}

    def remove(self, doc_ids: list[str]) -> list[str]:
        """Delete documents from this store and its folder (index_dir it was loaded from or saved to);
        returns the ids it held. Nothing is embedded: the other chunks keep their vectors."""
        held = [d.doc_id for d in self.documents if d.doc_id in set(doc_ids)]
        if not held:
            return []
        with FileLock(str(self.folder / ".lock")):
            current = LocalStore.load(self.folder)   # another process may have added since this one loaded
            keep = [d for d in current.documents if d.doc_id not in held]
            chunks = [c for c in current.chunks if c.doc_id not in held]
            kept = LocalStore.build(keep, chunks, _Cached(current), current.vectors_by_id(), progress=False)
            kept.save(self.folder)
        self.__dict__.update({k: v for k, v in kept.__dict__.items() if k not in ("report", "folder")})
        self.__dict__.pop("_df", None)      # (the positions and documents came with kept's)
        return held

    def save(self, index_dir: Path) -> Path:
        """Write a new build folder, then atomically point CURRENT at it; readers never see a partial index.
        A write that fails (a full disk) removes what it wrote and leaves the index as it was."""
        index_dir = Path(index_dir)
        build = None
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
            build = Path(tempfile.mkdtemp(prefix="build-", dir=index_dir))
            return self._write(index_dir, build)
        except (OSError, RuntimeError) as e:   # faiss reports a failed write as a RuntimeError
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)
            reason = getattr(e, "strerror", None) or str(e).strip().splitlines()[-1][:200]
            raise StoreWriteError(f"could not write the index in {index_dir} ({reason}); the index as it was is "
                                  f"kept and still answers: free space there (this index needs about "
                                  f"{self.size_mb():.0f} MB) and run `reform-qa index`") from e

    def size_mb(self) -> float:
        """About what a build of this store takes on disk."""
        return (self.vectors.nbytes * 2 + sum(len(c.text.encode()) for c in self.chunks) * 3) / 2**20

    def _write(self, index_dir: Path, build: Path) -> Path:
        manifest = {"format": FORMAT_VERSION, "model": self.model, "dim": int(self.vectors.shape[1]),
                    "fingerprint": self.fingerprint, "chunks": len(self.chunks), "bigrams": True}
        with open(build / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in self.chunks:
                f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
        (build / "documents.json").write_text(
            json.dumps([asdict(d) for d in self.documents], ensure_ascii=False, indent=1), encoding="utf-8")
        (build / "words.txt").write_text("\n".join(self.tokenizer.words), encoding="utf-8")
        np.save(build / "vectors.npy", self.vectors)
        faiss.write_index(self.dense, str(build / "dense.faiss"))
        if self.chunks:
            self.bm25.save(str(build / "bm25"), show_progress=False)
        (build / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        self.folder = index_dir
        current = index_dir / CURRENT
        previous = current.read_text(encoding="utf-8").strip() if current.exists() else ""
        pointer = index_dir / f".{CURRENT}.{os.getpid()}"
        pointer.write_text(build.name, encoding="utf-8")
        os.replace(pointer, index_dir / CURRENT)
        # Keep the previous build for readers that read CURRENT just before the swap; drop older ones
        # (and half-written folders left by a killed build).
        keep = {build.name, previous}
        for old in index_dir.glob("build-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        return build

    @classmethod
    def load(cls, index_dir: Path) -> "LocalStore":
        """Load the live build named by CURRENT, checking its manifest (retried if a writer swaps it)."""
        for _ in range(2):
            try:
                return cls._load(Path(index_dir))
            except FileNotFoundError:
                pass   # CURRENT moved on and its old build was dropped meanwhile: read the new one
        try:
            return cls._load(Path(index_dir))
        except FileNotFoundError:
            raise StoreFormatError(f"index in {index_dir} kept changing while loading: retry") from None

    @classmethod
    def _load(cls, index_dir: Path) -> "LocalStore":
        try:
            build = index_dir / (index_dir / CURRENT).read_text(encoding="utf-8").strip()
            manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise StoreFormatError(f"no usable index in {index_dir}: run `python -m qa index`") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise StoreFormatError(f"index in {index_dir} has format {manifest.get('format')}, this version "
                                   f"reads {FORMAT_VERSION}: run `python -m qa index --rebuild`")
        chunks = [Chunk(**json.loads(line)) for line in
                  (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
        documents = [Document(**d) for d in json.loads((build / "documents.json").read_text(encoding="utf-8"))]
        vectors = np.load(build / "vectors.npy")
        if vectors.shape != (len(chunks), manifest["dim"]):
            raise StoreFormatError(f"index in {index_dir} is inconsistent: run `python -m qa index --rebuild`")
        words = (build / "words.txt").read_text(encoding="utf-8").split("\n")
        bm25 = bm25s.BM25.load(str(build / "bm25"), show_progress=False) if chunks else bm25s.BM25()
        return cls(documents, chunks, vectors, faiss.read_index(str(build / "dense.faiss")), bm25,
                   Tokenizer([w for w in words if w]), manifest["model"], manifest["fingerprint"], folder=index_dir)


class _Cached:
    """The encoder of a rebuild that embeds nothing (every vector is kept): its name and size only."""

    def __init__(self, store: LocalStore):
        self.name, self.dim = store.model, store.vectors.shape[1]

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        raise AssertionError("a rebuild of kept chunks embeds nothing")


def open_local(data_dir: Path, index_dir: Path, encoder: Encoder, update: str = "add", progress: bool = True,
               callback: Callable[[int, int], None] | None = None) -> LocalStore:
    """Open the index in index_dir for the corpus in data_dir: built on first use; otherwise brought up to
    date as `update` says (see stores.base.plan: opening adds new documents and never deletes). An index
    of another model is embedded again, keeping every document it held."""
    documents, chunks = load_corpus(data_dir)
    try:
        old = LocalStore.load(index_dir)
    except StoreFormatError:
        old = None
    if old is None:
        old_docs, old_chunks = [], []
    else:
        old_docs, old_chunks = old.documents, old.chunks
    todo = plan(contents(old_docs, old_chunks), contents(documents, chunks), update)
    same_model = old is not None and old.model == encoder.name and old.vectors.shape[1] == encoder.dim
    if same_model and not (todo.add or todo.replace or todo.remove) and update != "rebuild":
        old.report = todo.report
        return old
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with FileLock(str(Path(index_dir) / ".lock")):
        changed = set(todo.add) | set(todo.replace) | set(todo.remove)
        folder = {d.doc_id: d for d in documents}
        keep = [folder.get(d.doc_id, d) if d.doc_id in todo.replace else d for d in old_docs
                if d.doc_id not in todo.remove and update != "rebuild"]
        target = keep + [folder[d] for d in todo.add]   # new documents: never among the kept
        by_doc = {}
        for c in (c for c in old_chunks if c.doc_id not in changed):
            by_doc.setdefault(c.doc_id, []).append(c)
        for c in (c for c in chunks if c.doc_id in changed):
            by_doc.setdefault(c.doc_id, []).append(c)
        pending = PendingVectors(index_dir, encoder.name)
        cache = {**shipped_vectors(data_dir, encoder.name, encoder.dim), **pending.load()}
        if same_model and update != "rebuild":
            cache.update(old.vectors_by_id())
        store = LocalStore.build(target, [c for d in target for c in by_doc.get(d.doc_id, [])], encoder, cache,
                                 progress, callback, pending.add)
        try:
            store.save(index_dir)
        except StoreWriteError as e:
            if not same_model or update == "rebuild":
                raise
            old.report = replace(todo.report, added=(), replaced=(), not_written=str(e))
            return old         # answer from the index as it was; the next open tries again
        pending.clear()
    store.report = todo.report
    return store
