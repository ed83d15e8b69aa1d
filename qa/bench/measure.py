"""Measure: timers, percentiles and this machine's bounds (memory bandwidth, float32 matmul), for every
bench; it imports nothing back from them."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now (for the servers a bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def copy_bandwidth(mb: int = 256) -> float:
    """Measured memory bandwidth, bytes moved per second (read + written, as STREAM counts a copy):
    best of 5 numpy copies of `mb` MB, far larger than any CPU cache."""
    src = np.ones(mb * 2**20 // 4, np.float32)
    dst = np.empty_like(src)
    best = min(timed(lambda: np.copyto(dst, src)) for _ in range(5))
    return 2 * src.nbytes / best


def timed(fn) -> float:
    """Seconds one call of fn takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_gflops(n: int = 1024) -> float:
    """This machine's dense float32 compute bound as numpy's BLAS reaches it: best of 5 n x n matmuls."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    best = min(timed(lambda: a @ a) for _ in range(5))
    return 2 * n ** 3 / best / 1e9


def write(result: dict, path: Path) -> None:
    """Write the figures as JSON."""
    Path(path).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
