"""Train the second stage's cross-encoder and ship it (qa/models/cross-e5.onnx and .json).

    python -m training.train [--layers 4] [--epochs 2] [--minutes 60]

Resumable: a checkpoint (training/work/ckpt-L<layers>.pt) is written every --every steps and read on
start; a run cut off continues where it stopped. At the end it reports the validation figures (documents
held back by training/build_pairs.split_of) and exports the model int8 through qa.encoders.e5_graph.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch

from qa.encoders.cross_e5 import CROSS_MODEL, checksum, pair_ids
from qa.encoders.e5_file import shared_e5_file
from qa.encoders.e5_graph import build_cross_graph
from qa.encoders.e5_tokens import PieceTokenizer
from training.build_pairs import PAIRS, WORK
from training.cross_model import CrossE5

MAX_QUERY = 48        # question pieces kept (the gold questions' longest is 41)
MAX_TOTAL = 192       # pieces per pair: the shipped passages' 99th percentile is 141 pieces, plus title and question


def load_pairs(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def batches(rows: list[tuple[list[int], int]], size: int, rng: random.Random) -> list[list[tuple[list[int], int]]]:
    """Shuffled batches of pairs of similar length (sorted within pools of 50 batches), so little is padding."""
    rows = rows[:]
    rng.shuffle(rows)
    out = []
    pool = size * 50
    for a in range(0, len(rows), pool):
        part = sorted(rows[a:a + pool], key=lambda r: len(r[0]))
        out += [part[b:b + size] for b in range(0, len(part), size)]
    rng.shuffle(out)
    return out


def tensors(batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    length = max(len(ids) for ids, _ in batch)
    ids = torch.zeros((len(batch), length), dtype=torch.long)
    mask = torch.zeros((len(batch), length))
    for r, (row, _) in enumerate(batch):
        ids[r, :len(row)] = torch.tensor(row)
        mask[r, :len(row)] = 1.0
    return ids, mask, torch.tensor([float(y) for _, y in batch])


@torch.no_grad()
def scores(model: CrossE5, rows, size: int = 64) -> np.ndarray:
    model.eval()
    out = []
    for a in range(0, len(rows), size):
        ids, mask, _ = tensors(rows[a:a + size])
        out.append(torch.sigmoid(model(ids, mask)).numpy())
    model.train()
    return np.concatenate(out) if out else np.zeros(0)


def report(pairs: list[dict], p: np.ndarray) -> dict:
    """Validation figures: pair accuracy at 0.5, and per question whether a positive tops its negatives."""
    y = np.array([r["y"] for r in pairs])
    by_q: dict[str, list[int]] = {}
    for i, r in enumerate(pairs):
        by_q.setdefault(r["qid"], []).append(i)
    top = [max(ix, key=lambda i: p[i]) for ix in by_q.values() if any(y[i] for i in ix)]
    unans = [max(p[i] for i in ix) for ix in by_q.values() if not any(y[i] for i in ix)]
    return {"pairs": len(pairs), "accuracy": float(((p >= 0.5) == (y == 1)).mean()),
            "top1": float(np.mean([y[i] for i in top])) if top else 0.0,
            "close_miss_rejected": float(np.mean(np.array(unans) < 0.5)) if unans else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--minutes", type=float, default=100.0, help="stop training (and export) after this long")
    ap.add_argument("--every", type=int, default=100, help="steps between checkpoints")
    ap.add_argument("--pos-weight", type=float, default=3.0, help="weight of a positive pair in the loss "
                    "(about 1 pair in 10 is positive)")
    ap.add_argument("--validate", type=int, default=300, help="steps between validation reports")
    ap.add_argument("--limit", type=int, default=0, help="train on at most this many pairs (to measure data size)")
    ap.add_argument("--out", default=str(CROSS_MODEL))
    ap.add_argument("--pairs", default=str(PAIRS))
    args = ap.parse_args()
    torch.manual_seed(13)
    torch.set_num_threads(2)
    e5 = shared_e5_file()
    tokens = PieceTokenizer(e5)
    pairs = load_pairs(Path(args.pairs))
    train = [r for r in pairs if r["split"] == "train"]
    val = [r for r in pairs if r["split"] == "val"]
    if args.limit:
        train = random.Random(7).sample(train, min(args.limit, len(train)))
    encode = lambda rs: [(pair_ids(tokens, e5, r["q"], r["p"], MAX_QUERY, MAX_TOTAL), r["y"]) for r in rs]
    train_rows, val_rows = encode(train), encode(val)
    model = CrossE5(e5, args.layers)
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.lr * 20}],
                            weight_decay=0.01)
    per_epoch = math.ceil(len(train_rows) / args.batch)
    total = int(per_epoch * args.epochs)
    warm = max(total // 20, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm))))
    ckpt = WORK / f"ckpt-L{args.layers}{'-n%d' % args.limit if args.limit else ''}.pt"
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"]), opt.load_state_dict(state["opt"]), sched.load_state_dict(state["sched"])
        step = state["step"]
        print(f"resumed from {ckpt} at step {step}/{total}", flush=True)
    print(f"{len(train_rows)} training pairs, {len(val_rows)} validation pairs; {total} steps of {args.batch}", flush=True)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(args.pos_weight))
    started, epoch, running = time.time(), 0, []
    while step < total and (time.time() - started) < args.minutes * 60:
        plan = batches(train_rows, args.batch, random.Random(13 + epoch))
        skip = step - epoch * per_epoch
        for batch in plan[max(skip, 0):]:
            ids, mask, y = tensors(batch)
            loss = loss_fn(model(ids, mask), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(), sched.step(), opt.zero_grad()
            step += 1
            running.append(float(loss.detach()))
            if step % args.validate == 0:
                print(f"step {step} validation: {json.dumps(report(val, scores(model, val_rows)))}", flush=True)
            if step % args.every == 0 or step >= total:
                WORK.mkdir(parents=True, exist_ok=True)
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "step": step}, ckpt.with_suffix(".tmp"))
                ckpt.with_suffix(".tmp").replace(ckpt)
                print(f"step {step}/{total} loss {np.mean(running[-args.every:]):.4f} "
                      f"{(time.time() - started) / 60:.1f} min", flush=True)
            if step >= total or (time.time() - started) > args.minutes * 60:
                break
        epoch += 1
    figures = report(val, scores(model, val_rows))
    print("validation:", json.dumps(figures), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_cross_graph(e5, model.tuned(), args.layers))
    meta_path = out.with_suffix(".json")
    old = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    meta = {"layers": args.layers, "max_query": MAX_QUERY, "max_total": MAX_TOTAL, "sha256": checksum(out),
            "abstain_below": old.get("abstain_below", 0.5), "steps": step, "training_pairs": len(train_rows),
            "validation": figures}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {meta_path}", flush=True)


if __name__ == "__main__":
    main()
