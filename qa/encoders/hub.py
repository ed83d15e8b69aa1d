"""Models from a local directory or the Hugging Face hub, through sentence-transformers."""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from ..settings import cache_dir, model_hub
from .base import normalized

BGE_QUERY_PREFIX = "为这个句子生成表示以用于检索相关文章："
PROBE_TIMEOUT = 2.0        # seconds to wait for the hub before saying a named model cannot be had
PROBE_MEMORY = 3600.0      # seconds an unreachable hub is remembered as unreachable


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
        return normalized(self._model.encode(texts, batch_size=32, convert_to_numpy=True,
                                              normalize_embeddings=True, show_progress_bar=False))


def _probe_file() -> Path:
    return cache_dir() / "hub-probe.json"


def hub_reachable(endpoint: str | None = None, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the model hub answers a TCP connect within `timeout`; a failure is remembered for an hour."""
    hub = model_hub()
    if hub is None:
        return False
    endpoint = endpoint or hub
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


def cached_snapshot(name: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download
        return snapshot_download(name, local_files_only=True)
    except Exception:
        return None
