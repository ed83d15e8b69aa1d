"""Second stage: what the learned stage costs per question, against the hybrid ranking alone and the rule
stage, and its share of this machine's int8 matmul bound."""
from __future__ import annotations

import numpy as np

from ..engine import Engine
from ..ranking.second_stage import model_text
from .encoder import E5_MACS_PER_TOKEN
from .measure import int8_matmul_gops, percentiles, timed

LAYER_MACS_PER_TOKEN = E5_MACS_PER_TOKEN // 12     # one e5-small layer's multiply-adds per token


def stage_cost(engine: Engine, questions: list[str], rounds: int = 2) -> dict:
    """ask p50/p95 in each mode (every question new to the engine's caches on the first round), the learned
    stage's share (learned minus hybrid), the pieces it reads per question and its GOP/s against the bound."""
    modes = {}
    for mode in ("hybrid", "rules", "learned"):
        times = []
        for _ in range(rounds):
            engine.passages.forget()
            times += [timed(lambda q=q: engine.ask_in_mode(q, mode)) for q in questions]
        modes[mode] = percentiles(times)
    stage = engine.stage("learned")
    model = stage.model
    tokens = []
    for q in questions:
        query = engine.query(q)
        ranking = engine.rank(query, "hybrid")
        chunks = [engine.store.chunk(int(p)) for p in ranking.positions[:stage.depth]]
        tokens.append(sum(len(model.ids(query.text, model_text(engine.passages.document(c.doc_id), c))) for c in chunks))
    share_ms = modes["learned"]["p50_ms"] - modes["hybrid"]["p50_ms"]
    gops = 2 * LAYER_MACS_PER_TOKEN * model.meta["layers"] * float(np.median(tokens)) / max(share_ms / 1000, 1e-9) / 1e9
    bound = int8_matmul_gops()
    return {"modes": modes, "depth": stage.depth, "layers": model.meta["layers"],
            "pieces_per_question": int(np.median(tokens)), "learned_stage_ms": round(share_ms, 1),
            "learned_over_hybrid": round(modes["learned"]["p50_ms"] / max(modes["hybrid"]["p50_ms"], 1e-9), 1),
            "gops": round(gops, 1), "int8_bound_gops": round(bound, 1), "share_of_bound": round(gops / bound, 3)}


def line(cost: dict) -> str:
    """One summary line."""
    m = cost["modes"]
    return (f"second stage: ask p50 hybrid {m['hybrid']['p50_ms']:.1f} ms, rules {m['rules']['p50_ms']:.1f} ms, "
            f"learned {m['learned']['p50_ms']:.1f} ms ({cost['learned_over_hybrid']}x hybrid; target <= 20x): "
            f"the cross-encoder reads {cost['depth']} passages, {cost['pieces_per_question']} pieces through "
            f"{cost['layers']} layers in {cost['learned_stage_ms']} ms = {cost['gops']} GOP/s, "
            f"{cost['share_of_bound']:.0%} of the {cost['int8_bound_gops']} GOP/s int8 matmul bound")
