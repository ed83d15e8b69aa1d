"""Adding: what adding and removing one document costs as the corpus grows (the real corpus, 10K and
100K chunks), on the local folder and on Milvus Lite, with embedding taken out (a hash encoder): the
cost that is the store's and the indexer's, which should follow the document, not the corpus."""
from __future__ import annotations

import hashlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ..engine import Engine
from ..settings import Settings
from .synthetic import write_scaled_corpus

DOCUMENT = ("象山简讯\n\n" + "\n\n".join(f"象山县第{i}个渔业项目建成投产，年捕捞量增加{i}万吨，带动渔民增收{i}千元。"
                                       for i in range(20)))
TRIES = 3


class HashEncoder:
    """Vectors from hashed character bigrams: free to compute, so the timings are indexing alone."""
    name, dim = "bench-hash", 64

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for i in range(max(len(text) - 1, 1)):
                out[row, int(hashlib.md5(text[i:i + 2].encode()).hexdigest()[:8], 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _one(folder: Path, work: Path, store: str | None) -> dict:
    """Build a store of the folder, then add and remove one 20-passage document TRIES times: median seconds."""
    settings = Settings(data_dir=folder, index_dir=work / "index", store=store, collection="bench_adding")
    start = time.perf_counter()
    engine = Engine(settings=settings, encoder=HashEncoder(), progress=False)
    build = time.perf_counter() - start
    adds, removes = [], []
    for i in range(TRIES):
        path = work / f"xiangshan-{i}.txt"
        path.write_text(DOCUMENT.replace("象山简讯", f"象山简讯第{i}期"), encoding="utf-8")
        t0 = time.perf_counter()
        engine.add([path])
        t1 = time.perf_counter()
        engine.remove(f"xiangshan-{i}")
        removes.append(time.perf_counter() - t1)
        adds.append(t1 - t0)
    return {"chunks": engine.listing().count, "build_s": round(build, 2),
            "add_s": round(statistics.median(adds), 3), "remove_s": round(statistics.median(removes), 3)}


def bench_adding(data_dir: Path, quick: bool = False, milvus: bool = True) -> dict:
    """Add and remove cost at each scale and store, and the ratio of the largest scale's to the real one's."""
    scales = [("real", 0), ("10K", 10_000)] + ([] if quick else [("100K", 100_000)])
    stores = ["local"] + (["milvus-lite"] if milvus else [])
    rows = []
    work = Path(tempfile.mkdtemp(prefix="qa-bench-adding-"))
    try:
        for label, size in scales:
            folder = work / f"corpus-{label}"
            if size:
                write_scaled_corpus(Path(data_dir), folder, size)
            else:
                shutil.copytree(data_dir, folder, ignore=shutil.ignore_patterns("eval", "vectors-*"))
            for kind in stores:
                place = work / f"{label}-{kind}"
                place.mkdir()
                store = str(place / "adding.db") if kind == "milvus-lite" else None
                rows.append({"scale": label, "store": kind, **_one(folder, place, store)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "ratios": ratios(rows)}


def ratios(rows: list[dict]) -> dict:
    """Per store: add and remove time at each scale over that at the real corpus."""
    out = {}
    for kind in dict.fromkeys(r["store"] for r in rows):
        mine = [r for r in rows if r["store"] == kind]
        base = mine[0]
        out[kind] = {r["scale"]: {"add": round(r["add_s"] / max(base["add_s"], 1e-9), 2),
                                  "remove": round(r["remove_s"] / max(base["remove_s"], 1e-9), 2)} for r in mine[1:]}
    return out


def table(result: dict) -> str:
    """Plain-text table, then the ratios (target: adding costs at most 1.5x at 10K what it costs at ~300)."""
    lines = ["adding one 20-passage document (hash encoder: indexing alone), median of 3",
             "| scale | store | chunks | build s | add s | remove s |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['scale']} | {r['store']} | {r['chunks']} | {r['build_s']} | {r['add_s']} | {r['remove_s']} |"
              for r in result["rows"]]
    for kind, by_scale in result["ratios"].items():
        lines.append(f"{kind}: " + "; ".join(f"{s} add {v['add']}x, remove {v['remove']}x the real corpus's"
                                             for s, v in by_scale.items()) + " (target add <= 1.5x at 10K)")
    return "\n".join(lines)
