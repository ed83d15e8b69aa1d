"""Command line: python -m qa [--data DIR --index DIR --model M] ask|index|stats|eval|bench."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from .embeddings import EncoderError
from .index import IndexFormatError
from .ingest import IngestError
from .search import Answer, Engine
from .settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3


def answer_json(answer: Answer) -> dict:
    """The JSON shape shared by the CLI and the app's /search endpoint."""
    keys = ("text", "score", "doc_id", "title", "date", "paragraph", "heading", "citation", "bm25", "dense")
    return {"question": answer.question, "query": answer.query, "abstained": answer.abstained,
            "confidence": answer.confidence, "best_sentence": answer.best_sentence,
            "notices": list(answer.notices),
            "hits": [{k: v for k, v in asdict(h).items() if k in keys} for h in answer.hits]}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qa", description="Cited answers from the reform documents.")
    p.add_argument("--data", help="corpus folder (default: data/, env QA_DATA_DIR)")
    p.add_argument("--index", help="index folder (default: embeddings/, env QA_INDEX_DIR)")
    p.add_argument("--model", help="embedding model name or local directory (env QA_EMBED_MODEL)")
    sub = p.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--k", type=int, default=3, help="passages to show (1-50)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    index = sub.add_parser("index", help="build the index if the corpus or model changed")
    index.add_argument("--rebuild", action="store_true", help="re-embed everything")
    sub.add_parser("stats", help="documents, passages and the model of the index")
    ev = sub.add_parser("eval", help="hit@k / MRR / abstention on the gold questions")
    ev.add_argument("--split", default="test", choices=["dev", "test", "all"])
    ev.add_argument("--check", action="store_true", help="exit 1 when the default (rerank) misses a target")
    bench = sub.add_parser("bench", help="build throughput, query latency, memory; real, 10K and 100K chunks")
    bench.add_argument("--quick", action="store_true", help="real corpus and 10K only, 20 queries (under a minute)")
    bench.add_argument("--out", default="bench.json", help="where to write the figures (JSON)")
    return p


def _print_answer(answer: Answer) -> None:
    for notice in answer.notices:
        print(f"[{notice}]")
    if not answer.hits:
        return
    if answer.abstained:
        print("未找到可靠的相关段落；以下是最接近的候选（相关性弱）：")
    else:
        print(f"最佳句子：{answer.best_sentence}")
    for i, h in enumerate(answer.hits, 1):
        print(f"\n[{i}] {h.citation}" + (f"  {h.heading}" if h.heading else ""))
        print(f"    score {h.score:.3f} (keyword {h.bm25:.2f}, semantic {h.dense:.2f})")
        print("    " + h.text.replace("\n", "\n    "))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage, 3 nothing reliable found)."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env(data_dir=args.data, index_dir=args.index, model=args.model)
    try:
        if args.command == "ask" and not 1 <= args.k <= settings.max_k:
            print(f"--k must be between 1 and {settings.max_k}, not {args.k}", file=sys.stderr)
            return EXIT_USAGE
        if args.command == "bench":
            from .bench import bench, table, write
            result = bench(settings.data_dir, settings.model, quick=args.quick)
            write(result, args.out)
            print(table(result))
            print(f"\nfigures written to {args.out}")
            print(result["summary"])
            return EXIT_OK
        engine = Engine(settings=settings, progress=sys.stderr.isatty())
        if args.command == "ask":
            answer = engine.ask(args.question, k=args.k)
            if args.json:
                print(json.dumps(answer_json(answer), ensure_ascii=False, indent=1))
            else:
                _print_answer(answer)
            return EXIT_NOT_FOUND if answer.abstained else EXIT_OK
        if args.command == "index":
            if args.rebuild:
                engine.reload(rebuild=True)
            print(f"index ready: {len(engine.index.chunks)} passages, model {engine.index.model}, "
                  f"in {settings.index_dir}")
        elif args.command == "stats":
            print(json.dumps(stats(engine), ensure_ascii=False, indent=1))
        elif args.command == "eval":
            return _eval(engine, args.split, args.check)
        return EXIT_OK
    except (IngestError, IndexFormatError, EncoderError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def stats(engine: Engine) -> dict:
    """Corpus and index figures for the CLI and the app's status line."""
    per_doc = {d.doc_id: sum(1 for c in engine.index.chunks if c.doc_id == d.doc_id) for d in engine.index.documents}
    return {"documents": len(engine.index.documents), "passages": len(engine.index.chunks),
            "model": engine.index.model, "dim": int(engine.index.vectors.shape[1]),
            "index_dir": str(engine.settings.index_dir),
            "per_document": {d.doc_id: {"title": d.title, "date": d.date, "passages": per_doc[d.doc_id]}
                             for d in engine.index.documents}}


def _eval(engine: Engine, split: str, check: bool) -> int:
    from .evaluate import MODES, evaluate, load_questions, missed_targets, table
    questions = load_questions(split=split)
    results = {mode: evaluate(engine, questions, mode) for mode in MODES}
    print(f"{len(questions)} questions ({split} split), model {engine.index.model}")
    print(table(results))
    missed = missed_targets(results["rerank"])
    print("targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return EXIT_ERROR if check and missed else EXIT_OK
