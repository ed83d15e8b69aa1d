"""Scales: build throughput, per-stage query latency, memory and disk at the real corpus, 10K and 100K
chunks (each scale in its own process), against a naive rank_bm25 + numpy baseline."""
from __future__ import annotations

import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import faiss
import numpy as np

from ..documents.document import index_text
from ..documents.folder import load_corpus
from ..encoders import load_encoder
from ..engine import CANDIDATES, GLOSSARY_WEIGHT, Engine
from ..evaluate import load_questions
from ..stores import Filters
from ..indexing.vectors import embed
from ..stores.base import Rows
from ..stores.local import LocalStore
from .encoder import contention, encoder_speed
from .second_stage import line as stage_line, stage_cost
from .measure import copy_bandwidth, percentiles, timed
from .synthetic import SentenceMeanEncoder, write_scaled_corpus
STAGES = ("encode", "retrieve", "fusion", "format")   # retrieve: BM25 + dense top-N through the store


def _latencies(engine: Engine, questions: list[str]) -> dict:
    """Per-stage and end-to-end latency with the model and index loaded (warm) but each question new:
    the engine's per-chunk context cache is emptied before every timed run, so chunks are seen cold."""
    for q in questions[:3]:
        engine.ask(q)
    stages = {s: [] for s in STAGES}
    total = []
    for q in questions:
        engine.passages.forget()
        total.append(timed(lambda: engine.ask(q)))
        engine.passages.forget()
        t0 = time.perf_counter()
        query = engine.query(q)                   # glossary expansion + encoding the question
        t1 = time.perf_counter()
        found = engine.store.retrieve(query.text, " ".join(query.expansion.added), GLOSSARY_WEIGHT, query.vector,
                                      CANDIDATES, Filters())
        t2 = time.perf_counter()
        ranking = engine.fuse(query, found.positions, found.bm25, found.dense)
        t3 = time.perf_counter()
        engine.answer(q, query, ranking, 3, [])
        t4 = time.perf_counter()
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[stage].append(seconds)
    return {"total": percentiles(total), "retrieval": percentiles(stages["retrieve"]),
            **{s: percentiles(v) for s, v in stages.items()}}


def _naive(index: LocalStore, questions: list[str], qvecs: np.ndarray) -> dict:
    """What a user might write: rank_bm25 over the same tokens plus a numpy brute-force cosine scan."""
    from rank_bm25 import BM25Okapi
    tokenizer = index.vocabulary.tokenizer
    tokens = [tokenizer(index_text(c)) or ["∅"] for c in index.chunks]
    build = timed(lambda: BM25Okapi(tokens))
    bm25 = BM25Okapi(tokens)
    lexical, dense = [], []
    for q, v in zip(questions, qvecs):
        lexical.append(timed(lambda: np.argsort(-bm25.get_scores(tokenizer(q)))[:CANDIDATES]))
        dense.append(timed(lambda: np.argsort(-(index.embeddings @ v))[:CANDIDATES]))
    return {"bm25_build_s": round(build, 3), "bm25": percentiles(lexical), "dense": percentiles(dense),
            "retrieval": percentiles([a + b for a, b in zip(lexical, dense)])}


def _dense_scan(index: LocalStore, qvecs: np.ndarray, bandwidth: float, hnsw: bool) -> dict:
    """Flat FAISS scan time against the memory-bandwidth bound, and HNSW recall@10 against flat."""
    vectors = np.ascontiguousarray(index.embeddings, dtype=np.float32)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    times = [timed(lambda: flat.search(v[None, :], 10)) for v in qvecs]
    seconds = float(np.median(times))
    out = {"flat": percentiles(times), "bytes_scanned": int(vectors.nbytes),
           "scan_gb_s": round(vectors.nbytes / seconds / 1e9, 2),
           "share_of_copy_bandwidth": round(vectors.nbytes / seconds / bandwidth, 3)}
    if hnsw:
        graph = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction, graph.hnsw.efSearch = 80, 128
        out["hnsw_build_s"] = round(timed(lambda: graph.add(vectors)), 2)
        out["hnsw"] = percentiles([timed(lambda: graph.search(v[None, :], 10)) for v in qvecs])
        _, exact = flat.search(qvecs, 10)
        _, approx = graph.search(qvecs, 10)
        out["hnsw_recall@10"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])), 4)
    return out


def run_scale(label: str, data_dir: str, model: str, source: str, questions: list[str], naive_queries: int,
              bandwidth: float) -> dict:
    """Build, save and query one corpus; runs in its own process so peak RSS is this scale's alone."""
    base = load_encoder(model)
    scaled = source != data_dir    # a corpus resampled from `source`
    encoder = SentenceMeanEncoder(base) if scaled else base
    if scaled:   # embed the real sentences up front: not part of this scale's build
        encoder.encode([c.text for c in load_corpus(Path(source))[1]])
    work = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    try:
        start = time.perf_counter()
        documents, chunks = load_corpus(Path(data_dir))
        ingest = time.perf_counter() - start
        start = time.perf_counter()
        vectors = embed(chunks, encoder, "", progress=False)
        stages = {"ingest": ingest, "embed": time.perf_counter() - start}
        index = LocalStore.open(work / "index", encoder.name, encoder.dim)
        rows = [Rows(d, tuple(c for c in chunks if c.doc_id == d.doc_id), np.zeros(0)) for d in documents]
        rows = [Rows(r.document, r.chunks, np.array([vectors[c.id] for c in r.chunks], np.float32)) for r in rows]
        stages["write"] = timed(lambda: index.put(rows))      # tokenise, BM25, FAISS, segments on disk
        n = len(chunks)
        engine = Engine(data_dir=data_dir, index_dir=work / "index", encoder=encoder, opened=index, update="none")
        qvecs = np.array([base.encode([q], query=True)[0] for q in questions], np.float32)
        row = {"label": label, "model": base.name, "chunks": n, "dense_vectors": "mean of real sentence vectors" if scaled
               else "embedded", "build_s": {k: round(v, 3) for k, v in stages.items()},
               "build_chunks_per_s": {k: round(n / max(v, 1e-9), 1) for k, v in stages.items()},
               "build_total_chunks_per_s": round(n / sum(stages.values()), 1),
               "latency": _latencies(engine, questions),
               "naive": _naive(index, questions[:naive_queries], qvecs[:naive_queries]),
               "dense_scan": _dense_scan(index, qvecs, bandwidth, hnsw=n >= 50_000),
               "index_bytes": sum(f.stat().st_size for f in (work / "index").rglob("*") if f.is_file())}
        if not scaled:
            row["incremental"] = _incremental(Path(data_dir), work, encoder)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return row
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _incremental(data_dir: Path, work: Path, encoder) -> dict:
    """Add one document to a copy of the corpus and re-open the index: only its chunks are embedded."""
    copy = work / "data"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("eval"))
    full = timed(lambda: Engine(data_dir=copy, index_dir=work / "inc", encoder=encoder, progress=False))
    first = sorted(copy.glob("*.txt"))[0]
    (copy / "added-document.txt").write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    seconds = time.perf_counter()
    engine = Engine(data_dir=copy, index_dir=work / "inc", encoder=encoder, progress=False)
    seconds = time.perf_counter() - seconds
    listing = engine.listing()
    return {"full_build_s": round(full, 3), "add_one_doc_s": round(seconds, 3), "chunks": listing.count,
            "new_chunks": listing.passages.get("added-document", 0), "embedded": engine.report.embedded}


def bench(data_dir: Path, model: str, quick: bool = False) -> dict:
    """Run every scale (real corpus, 10K, and 100K unless quick), each in a fresh process; then the
    model's speed against the compute bound and query latency beside a second encoding process."""
    bandwidth = copy_bandwidth()
    questions = [q.question for q in load_questions()][: 20 if quick else 100]
    scales = [("real", None), ("10K", 10_000)] + ([] if quick else [("100K", 100_000)])
    rows, tmp = [], Path(tempfile.mkdtemp(prefix="qa-bench-corpus-"))
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
            for label, size in scales:
                folder = data_dir
                if size:
                    folder = tmp / label
                    write_scaled_corpus(data_dir, folder, size)
                naive = len(questions) if not size or size <= 10_000 else 10
                rows.append(pool.submit(run_scale, label, str(folder), model, str(data_dir), questions, naive,
                                        bandwidth).result())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="qa-bench-index-") as scratch:
        engine = Engine(data_dir=data_dir, index_dir=scratch, model=model, progress=False)   # never the user's
        restart = Engine(data_dir=data_dir, index_dir=engine.settings.index_dir, encoder=engine.encoder,
                         progress=False).report.embedded    # a restart opens the saved index: embeds nothing
        speed = encoder_speed(engine.encoder, data_dir)
        contended = contention(engine, questions[:20])
        second = stage_cost(engine, questions[:30])
    return {"copy_bandwidth_gb_s": round(bandwidth / 1e9, 2), "queries": len(questions), "model": rows[0]["model"],
            "cpus": faiss.omp_get_max_threads(), "scales": rows, "encoder": speed, "contention": contended,
            "restart_embedded": restart, "second_stage": second,
            "summary": summary(rows, speed, contended) + "\n" + stage_line(second)}


def speedup(row: dict) -> float:
    """How many times faster our BM25 + dense retrieval is than the naive one (p50 over p50)."""
    return row["naive"]["retrieval"]["p50_ms"] / max(row["latency"]["retrieval"]["p50_ms"], 1e-9)


def summary(rows: list[dict], speed: dict, contended: dict) -> str:
    """A few lines: the targets and the ratios that matter."""
    parts = []
    for r in rows:
        lat = r["latency"]
        parts.append(f"{r['label']} ({r['chunks']} chunks): p50 {lat['total']['p50_ms']:.1f} ms, "
                     f"p95 {lat['total']['p95_ms']:.1f} ms, retrieval {speedup(r):.1f}x rank_bm25+numpy")
    build = sum(rows[0]["build_s"].values())
    lines = ["; ".join(parts), f"first build of the real corpus {build:.1f} s (target <= 40 s); "
             f"warm query p50 {rows[0]['latency']['total']['p50_ms']:.1f} ms (target <= 20 ms)"]
    if "query_share_of_bound" in speed:
        lines.append(f"encoder: query {speed['query_p50_ms']} ms for {speed['query_tokens']} tokens = "
                     f"{speed['query_gflops']} GFLOP/s, passages {speed['passages_per_s']}/s x "
                     f"{speed['passage_tokens_mean']} tokens = {speed['passage_gflops']} GFLOP/s, against "
                     f"{speed['matmul_bound_gflops']} GFLOP/s for a float32 matmul here "
                     f"({speed['query_share_of_bound']:.0%} / {speed['passage_share_of_bound']:.0%} of the bound)")
    lines.append(f"contention: ask p50 {contended['idle_p50_ms']} ms idle, {contended['beside_build_p50_ms']} ms "
                 f"beside an index build ({contended['beside_build_ratio']}x), {contended['beside_ask_p50_ms']} ms "
                 f"beside a second engine process ({contended['beside_ask_ratio']}x) (target: within 3x)")
    return "\n".join(lines)


def table(result: dict) -> str:
    """Plain-text tables: build throughput, latency by stage, and the comparisons."""
    rows = result["scales"]
    out = [f"copy bandwidth {result['copy_bandwidth_gb_s']} GB/s, {result['queries']} queries, model {result['model']}",
           "", "| scale | chunks | " + " | ".join(f"{s} ch/s" for s in rows[0]["build_s"]) + " | total ch/s | RSS MB | disk MB |",
           "|---" * (len(rows[0]["build_s"]) + 5) + "|"]
    for r in rows:
        out.append(f"| {r['label']} | {r['chunks']} | " + " | ".join(f"{v:.0f}" for v in r["build_chunks_per_s"].values())
                   + f" | {r['build_total_chunks_per_s']:.0f} | {r['peak_rss_mb']:.0f} | {r['index_bytes'] / 2**20:.1f} |")
    out += ["", "| scale | total p50/p95 ms | " + " | ".join(f"{s} p50/p95" for s in STAGES)
            + " | retrieval p50 ms | naive p50 ms | speedup | flat scan GB/s (share of copy bw) |",
            "|---" * (len(STAGES) + 6) + "|"]
    for r in rows:
        lat, d = r["latency"], r["dense_scan"]
        out.append(f"| {r['label']} | " + " | ".join(f"{lat[s]['p50_ms']:.2f}/{lat[s]['p95_ms']:.2f}"
                                                    for s in ("total",) + STAGES)
                   + f" | {lat['retrieval']['p50_ms']:.2f} | {r['naive']['retrieval']['p50_ms']:.2f} | {speedup(r):.1f}x"
                   + f" | {d['scan_gb_s']} ({d['share_of_copy_bandwidth']:.0%}) |")
    for r in rows:
        d = r["dense_scan"]
        if "hnsw" in d:
            out.append(f"\n{r['label']}: flat p50/p95 {d['flat']['p50_ms']}/{d['flat']['p95_ms']} ms, HNSW "
                       f"{d['hnsw']['p50_ms']}/{d['hnsw']['p95_ms']} ms, recall@10 {d['hnsw_recall@10']}, "
                       f"HNSW build {d['hnsw_build_s']} s")
        if "incremental" in r:
            i = r["incremental"]
            out.append(f"\nadd one document: {i['new_chunks']} new of {i['chunks']} chunks, {i['embedded']} embedded, "
                       f"{i['add_one_doc_s']} s (full build {i['full_build_s']} s)")
    return "\n".join(out)
