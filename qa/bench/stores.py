"""Stores: the two stores side by side: the local folder (FAISS + bm25s) and Milvus (Lite in a .db file, or a
server) on the same corpus and vectors: build chunks/s, ask() p50/p95, and p50 with a one-document filter."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from ..documents.folder import load_corpus
from ..encoders import load_encoder
from ..engine import Engine
from ..settings import Settings
from .measure import percentiles, timed
from .synthetic import SentenceMeanEncoder, write_scaled_corpus


def _measure(engine: Engine, questions: list[str]) -> dict:
    for q in questions[:3]:
        engine.ask(q)
    doc = engine.listing().documents[0].doc_id
    plain = [timed(lambda: engine.ask(q)) for q in questions]
    filtered = [timed(lambda: engine.ask(q, doc_ids=[doc])) for q in questions]
    return {"ask": percentiles(plain), "filtered_ask": percentiles(filtered)}



def bench_store(store: str, data_dir: Path, model: str | None, questions: list[str], quick: bool = False) -> dict:
    """Local and Milvus at the real corpus and at 100K chunks (10K if quick). For a .db setting each scale
    gets its own Lite file in a temp folder; for a server, its own collection, dropped afterwards."""
    base = load_encoder(model)
    rows = []
    work = Path(tempfile.mkdtemp(prefix="qa-bench-store-"))
    try:
        for label, size in (("real", 0), ("10K" if quick else "100K", 10_000 if quick else 100_000)):
            folder, encoder = Path(data_dir), base
            if size:
                folder = work / f"corpus-{label}"
                write_scaled_corpus(Path(data_dir), folder, size)
                encoder = SentenceMeanEncoder(base)
                encoder.encode([c.text for c in load_corpus(folder)[1]])   # vectors ready: time the stores only
            for kind in ("local", "milvus"):
                target = None
                if kind == "milvus":
                    target = str(work / f"{label}.db") if store.endswith(".db") else store
                settings = Settings(data_dir=folder, index_dir=work / f"index-{label}", store=target,
                                    collection=f"reform_qa_bench_{label.lower()}")
                start = time.perf_counter()
                engine = Engine(settings=settings, encoder=encoder, progress=False)
                build = time.perf_counter() - start
                n = engine.listing().count
                rows.append({"store": kind, "scale": label, "chunks": n, "build_s": round(build, 1),
                             "build_chunks_per_s": round(n / build, 1), **_measure(engine, questions)})
                if kind == "milvus" and not store.endswith(".db"):
                    engine.store.drop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"store": store, "model": base.name, "queries": len(questions), "rows": rows}


def table(result: dict) -> str:
    """Plain-text table, local and Milvus side by side per scale."""
    lines = [f"stores: local vs {result['store']}, model {result['model']}, {result['queries']} questions",
             "| scale | store | chunks | build s | build ch/s | ask p50/p95 ms | filtered ask p50/p95 ms |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['scale']} | {r['store']} | {r['chunks']} | {r['build_s']} | {r['build_chunks_per_s']} | "
                     f"{r['ask']['p50_ms']:.1f}/{r['ask']['p95_ms']:.1f} | "
                     f"{r['filtered_ask']['p50_ms']:.1f}/{r['filtered_ask']['p95_ms']:.1f} |")
    ratio = [f"{a['scale']}: Milvus ask p50 {b['ask']['p50_ms'] / max(a['ask']['p50_ms'], 1e-9):.1f}x local"
             for a, b in zip(result["rows"][::2], result["rows"][1::2])]
    return "\n".join(lines + ["; ".join(ratio)])

