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


def int8_matmul_gops(n: int = 1024) -> float:
    """This machine's int8 compute bound as ONNX Runtime reaches it on the ops the models use: best of 5
    n x n DynamicQuantizeMatMul (activations to uint8, int8 weights), 2 threads."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 127, (n, n), dtype=np.int8), "w")
    scale = numpy_helper.from_array(np.full(n, 0.01, np.float32), "s")
    zero = numpy_helper.from_array(np.zeros(n, np.int8), "z")
    node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "s", "z"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "bound", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [weight, scale, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = {"x": rng.random((n, n), dtype=np.float32)}
    session.run(None, x)
    best = min(timed(lambda: session.run(None, x)) for _ in range(5))
    return 2 * n ** 3 / best / 1e9
