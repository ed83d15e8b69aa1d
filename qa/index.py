"""Index: dense vectors in FAISS plus jieba-BM25 (bm25s), persisted atomically with a checked manifest."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np
from filelock import FileLock
from tqdm import tqdm

from .embeddings import Encoder
from .ingest import Chunk, Document, load_corpus
from .store import Candidates, Filters
from .text import Tokenizer, corpus_terms

FORMAT_VERSION = 1
CURRENT = "CURRENT"         # names the live build folder; replaced atomically with os.replace
HNSW_ABOVE = 200_000        # exact flat search up to this many chunks, HNSW beyond (see `python -m qa bench`)
BIGRAMS = True              # character-bigram fallback tokens (raised dev hit@3 0.925 -> 0.962)
FAISS_THREADS = 1           # one query at a time: a second OpenMP thread only contends with the encoder's
                            # threads (measured at 100K chunks: flat search p50 28 ms with 2 threads, 7 ms with 1)
faiss.omp_set_num_threads(FAISS_THREADS)


class IndexFormatError(RuntimeError):
    """A stored index that cannot be used; the message says how to rebuild it."""


def index_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its heading path gives the passage context."""
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text


def fingerprint(documents: list[Document], chunks: list[Chunk]) -> str:
    """Hash of everything the index is built from: chunk ids and document metadata."""
    h = hashlib.sha256(f"v{FORMAT_VERSION} bigrams={BIGRAMS}".encode())
    for d in documents:
        h.update(json.dumps(asdict(d), ensure_ascii=False, sort_keys=True).encode())
    for c in chunks:
        h.update(c.id.encode())
    return h.hexdigest()[:20]


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
class Index:
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

    # -- the Store protocol (qa.store): retrieval over this folder ---------------------------------
    def knows(self, token: str) -> bool:
        """Whether the corpus uses a token (it is in the BM25 vocabulary)."""
        return bool(self.chunks) and token in self.bm25.vocab_dict

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a token (unknown tokens get the largest)."""
        if not hasattr(self, "_df"):
            self._df = np.diff(np.asarray(self.bm25.scores["indptr"])) if self.chunks else np.zeros(0)
        n = max(len(self.chunks), 1)
        tid = self.bm25.vocab_dict.get(token) if self.chunks else None
        df = int(self._df[tid]) if tid is not None and tid < len(self._df) else 0
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

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
              cache: dict[str, np.ndarray] | None = None, progress: bool = True) -> "Index":
        """Embed (reusing cached vectors by chunk id), tokenize and index the chunks."""
        cache = cache or {}
        clock = [time.perf_counter()]
        timings: dict[str, float] = {}

        def lap(stage: str) -> None:
            now = time.perf_counter()
            timings[stage] = now - clock[0]
            clock[0] = now
        tokenizer = Tokenizer(corpus_terms(c.text for c in chunks), bigrams=BIGRAMS)
        tokens = [tokenizer(index_text(c)) or ["∅"] for c in chunks]
        lap("tokenize")
        vectors = np.zeros((len(chunks), encoder.dim), np.float32)
        todo = [i for i, c in enumerate(chunks) if c.id not in cache]
        for i, c in enumerate(chunks):
            if c.id in cache:
                vectors[i] = cache[c.id]
        batches = range(0, len(todo), 64)
        for start in tqdm(batches, desc=f"embedding {len(todo)} new chunks", unit="batch",
                          disable=not progress or not todo):
            ids = todo[start:start + 64]
            vectors[ids] = encoder.encode([index_text(chunks[i]) for i in ids])
        lap("embed")
        dense = dense_index(vectors)
        lap("faiss")
        bm25 = bm25s.BM25()
        if chunks:
            bm25.index(tokens, show_progress=False)
        lap("bm25")
        return cls(documents, chunks, vectors, dense, bm25, tokenizer, encoder.name,
                   fingerprint(documents, chunks), len(todo), timings)

    def save(self, index_dir: Path) -> Path:
        """Write a new build folder, then atomically point CURRENT at it; readers never see a partial index."""
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix="build-", dir=index_dir))
        manifest = {"format": FORMAT_VERSION, "model": self.model, "dim": int(self.vectors.shape[1]),
                    "fingerprint": self.fingerprint, "chunks": len(self.chunks), "bigrams": BIGRAMS}
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
    def load(cls, index_dir: Path) -> "Index":
        """Load the live build named by CURRENT, checking its manifest (retried if a writer swaps it)."""
        for attempt in range(3):
            try:
                return cls._load(Path(index_dir))
            except FileNotFoundError:
                if attempt == 2:
                    raise IndexFormatError(f"index in {index_dir} kept changing while loading: retry") from None
        raise AssertionError("unreachable")

    @classmethod
    def _load(cls, index_dir: Path) -> "Index":
        try:
            build = index_dir / (index_dir / CURRENT).read_text(encoding="utf-8").strip()
            manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise IndexFormatError(f"no usable index in {index_dir}: run `python -m qa index`") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexFormatError(f"index in {index_dir} has format {manifest.get('format')}, this version "
                                   f"reads {FORMAT_VERSION}: run `python -m qa index --rebuild`")
        chunks = [Chunk(**json.loads(line)) for line in
                  (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
        documents = [Document(**d) for d in json.loads((build / "documents.json").read_text(encoding="utf-8"))]
        vectors = np.load(build / "vectors.npy")
        if vectors.shape != (len(chunks), manifest["dim"]):
            raise IndexFormatError(f"index in {index_dir} is inconsistent: run `python -m qa index --rebuild`")
        words = (build / "words.txt").read_text(encoding="utf-8").split("\n")
        bm25 = bm25s.BM25.load(str(build / "bm25"), show_progress=False) if chunks else bm25s.BM25()
        return cls(documents, chunks, vectors, faiss.read_index(str(build / "dense.faiss")), bm25,
                   Tokenizer([w for w in words if w], bigrams=manifest.get("bigrams", False)),
                   manifest["model"], manifest["fingerprint"])


def open_index(data_dir: Path, index_dir: Path, encoder: Encoder, rebuild: bool = False,
               progress: bool = True) -> Index:
    """Load the index for data_dir, or (re)build it when missing, stale, or built by another model."""
    documents, chunks = load_corpus(data_dir)
    wanted = fingerprint(documents, chunks)
    old = None
    try:
        old = Index.load(index_dir)
    except IndexFormatError:
        pass
    if old and not rebuild and old.fingerprint == wanted and old.model == encoder.name:
        return old
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with FileLock(str(Path(index_dir) / ".lock")):
        cache = {}
        if old and old.model == encoder.name and old.vectors.shape[1] == encoder.dim and not rebuild:
            cache = {c.id: v for c, v in zip(old.chunks, old.vectors)}
        index = Index.build(documents, chunks, encoder, cache, progress)
        index.save(index_dir)
    return index
