"""Ingest: `reform-qa ingest` of a corpus into a milvus-lite server on a local Dask cluster of 1 worker
(two threads) and of 2 workers (one thread each), into fresh collections, every passage embedded (the
copy leaves the corpus's shipped vectors behind); passages per second."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ..ingest import ingest
from ..settings import Settings
from .measure import free_port


def bench_ingest(folder: Path, model: str | None = None) -> dict:
    """Each local cluster size on the same corpus, with a milvus-lite server started for it (and stopped)."""
    work = Path(tempfile.mkdtemp(prefix="qa-bench-ingest-"))
    folder = Path(shutil.copytree(folder, work / "corpus", ignore=shutil.ignore_patterns("vectors-*", "eval")))
    port = free_port()
    server = subprocess.Popen(["milvus-lite", "server", "--data-dir", str(work / "milvus.db"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        rows = {}
        for workers in (1, 2):
            settings = Settings(data_dir=folder, index_dir=work / "ix", model=model,
                                store=f"http://127.0.0.1:{port}", collection=f"ingest_{workers}")
            done = ingest(folder, settings, workers=workers, progress=False)
            rows[workers] = {"documents": len(done.written), "passages": done.chunks, "embedded": done.embedded,
                             "seconds": done.seconds, "passages_per_s": round(done.chunks / done.seconds, 1),
                             "failed": len(done.failed)}
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return {"folder": folder.name, "workers": rows,
            "two_vs_one": round(rows[2]["passages_per_s"] / max(rows[1]["passages_per_s"], 1e-9), 2)}


def table(result: dict) -> str:
    """One line per cluster size, and the ratio."""
    lines = ["| local Dask workers | documents | passages | seconds | passages/s |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {r['documents']} | {r['passages']} | {r['seconds']} | {r['passages_per_s']} |"
              for n, r in result["workers"].items()]
    lines.append(f"2 workers vs 1: {result['two_vs_one']}x (the whole job: read, chunk, embed, write to Milvus)")
    return "\n".join(lines)
