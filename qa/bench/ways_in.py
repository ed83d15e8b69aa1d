"""Ways in: the Python API in-process, POST /api/search and gradio_client's /search, each with
1 and 20 concurrent clients, against the real app started on 127.0.0.1 (and stopped afterwards); then
POST /api/search again with the app's searches on two worker processes (one per core)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from gradio_client import Client

from ..engine import Engine
from ..settings import K
from .measure import free_port

CALLS = 60                 # calls per way and concurrency level
CONCURRENCY = (1, 20)


def start_server(data_dir: Path, index_dir: Path, model: str | None, workers: int = 1
                 ) -> tuple[subprocess.Popen, str]:
    """`python -m qa serve` on a free port of 127.0.0.1; returns the process and its URL once it answers."""
    port = free_port()
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "QA_INDEX_DIR": str(index_dir),
           "GRADIO_ANALYTICS_ENABLED": "False", **({"QA_EMBED_MODEL": model} if model else {})}
    command = [sys.executable, "-m", "qa", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before answering")
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not answer within 300 s")


def _run(call, questions: list[str], clients: int) -> dict:
    """Latency p50/p95, throughput and errors for CALLS calls spread over `clients` threads."""
    work = [questions[i % len(questions)] for i in range(CALLS)]
    times, errors = [], 0

    def one(question: str) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            call(question)
        except Exception:
            errors += 1
        times.append(time.perf_counter() - start)
    wall = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, work))
    wall = time.perf_counter() - wall
    ms = np.array(times) * 1000
    return {"clients": clients, "calls": CALLS, "errors": errors, "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "per_s": round(CALLS / wall, 1)}


def bench_api(data_dir: Path, index_dir: Path, model: str | None, questions: list[str]) -> dict:
    """Each way in at each concurrency; the server runs in its own process, as in production."""
    engine = Engine(data_dir=data_dir, index_dir=index_dir, model=model, progress=False)
    proc, url = start_server(data_dir, index_dir, model)
    try:
        http = httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=40))
        gradio = Client(url + "/", verbose=False)

        def post(question: str) -> None:
            http.post("/api/search", json={"question": question, "k": K}).raise_for_status()
        ways = {"python": lambda q: engine.ask(q, k=K), "http /api/search": post,
                "gradio_client /search": lambda q: gradio.predict(q, K, api_name="/search")}
        for call in ways.values():   # warm: model, index pages, connections
            call(questions[0])
        rows = {name: [_run(call, questions, n) for n in CONCURRENCY] for name, call in ways.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rows["http /api/search, 2 workers"] = _workers(data_dir, index_dir, model, questions)
    http_20, gradio_20 = rows["http /api/search"][-1], rows["gradio_client /search"][-1]
    return {"url": "127.0.0.1 (own process)", "ways": rows,
            "workers_2_vs_1_throughput_20": round(rows["http /api/search, 2 workers"][-1]["per_s"]
                                                  / max(http_20["per_s"], 1e-9), 2),
            "http_vs_gradio_throughput_20": round(http_20["per_s"] / max(gradio_20["per_s"], 1e-9), 1),
            "http_overhead_p50_ms": round(rows["http /api/search"][0]["p50_ms"] - rows["python"][0]["p50_ms"], 1)}


def _workers(data_dir: Path, index_dir: Path, model: str | None, questions: list[str]) -> list[dict]:
    """POST /api/search at each concurrency with the app's searches on two worker processes."""
    proc, url = start_server(data_dir, index_dir, model, workers=2)
    try:
        http = httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=40))

        def post(question: str) -> None:
            http.post("/api/search", json={"question": question, "k": K}).raise_for_status()
        for q in questions[:4]:
            post(q)
        return [_run(post, questions, n) for n in CONCURRENCY]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def table(result: dict) -> str:
    """Plain-text table of the ways in, with the ratios."""
    lines = ["| way in | clients | p50 ms | p95 ms | calls/s | errors |", "|---|---|---|---|---|---|"]
    for name, rows in result["ways"].items():
        lines += [f"| {name} | {r['clients']} | {r['p50_ms']} | {r['p95_ms']} | {r['per_s']} | {r['errors']} |"
                  for r in rows]
    lines.append(f"HTTP adds {result['http_overhead_p50_ms']} ms p50 over the Python API (1 client); with 20 "
                 f"clients /api/search serves {result['http_vs_gradio_throughput_20']}x gradio_client's calls/s, "
                 f"and {result['workers_2_vs_1_throughput_20']}x its own with two search workers")
    return "\n".join(lines)
