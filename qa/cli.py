"""Command line: python -m qa [--data DIR --index DIR --model M] ask|index|stats|eval|calibrate|bench|add|list|remove."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import asdict

from .embeddings import EncoderError
from .index import IndexFormatError
from .ingest import IngestError
from .milvus_store import MilvusError
from .answer import Answer, answer_json
from .search import Engine
from .settings import Settings, seed_corpus

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qa", description="Cited answers from the reform documents.")
    p.add_argument("--data", help="corpus folder (default: data/, env QA_DATA_DIR)")
    p.add_argument("--index", help="index folder (default: embeddings/, env QA_INDEX_DIR)")
    p.add_argument("--model", help="embedding model name or local directory (env QA_EMBED_MODEL)")
    p.add_argument("--store", help="where chunks are indexed: unset for the local folder, x.db for Milvus Lite, "
                                   "http://host:19530 for a Milvus server (env QA_STORE)")
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
    sub.add_parser("calibrate", help="fit fusion weight and abstention for the model on the dev split; "
                                     "stored beside the index")
    add = sub.add_parser("add", help="add files or folders (.txt .md .docx .pdf .html) and update the index")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--title", help="title for the citations (default: from the file)")
    add.add_argument("--date", help="date for the citations, e.g. 2024-07-30 (default: from the file)")
    add.add_argument("--author", help="author or source organisation")
    add.add_argument("--district", help="district, for the district filter (e.g. 镇海)")
    add.add_argument("--max-mb", type=float, default=50, help="size limit per file in MB (default 50)")
    sub.add_parser("list", help="the documents in the corpus")
    remove = sub.add_parser("remove", help="remove a document and update the index")
    remove.add_argument("doc", help="document id as shown by `list`")
    serve = sub.add_parser("serve", help="the chat in the browser and the JSON API, on 127.0.0.1")
    serve.add_argument("--port", type=int, help="port (default: env GRADIO_SERVER_PORT, else 7860)")
    bench = sub.add_parser("bench", help="build throughput, query latency, memory; real, 10K and 100K chunks")
    bench.add_argument("--quick", action="store_true", help="real corpus and 10K only, 20 queries (under a minute)")
    bench.add_argument("--out", default="bench.json", help="where to write the figures (JSON)")
    bench.add_argument("--api", action="store_true", help="only the ways in: Python API, POST /api/search and "
                                                           "gradio_client, 1 and 20 clients, app on 127.0.0.1")
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
    settings = Settings.from_env(data_dir=args.data, index_dir=args.index, model=args.model, store=args.store)
    if settings.wants_seed():   # add/list/remove work on the folder before any engine opens it
        seed_corpus(settings.data_dir)
    try:
        if args.command == "serve":
            from .app import serve
            serve(settings, args.port or int(os.environ.get("GRADIO_SERVER_PORT") or 7860))
            return EXIT_OK
        if args.command == "ask" and not 1 <= args.k <= settings.max_k:
            print(f"--k must be between 1 and {settings.max_k}, not {args.k}", file=sys.stderr)
            return EXIT_USAGE
        if args.command in ("add", "remove", "list"):
            return _library(args, settings)
        if args.command == "bench" and args.api:
            from .bench import write
            from .bench_api import bench_api, table
            from .evaluate import load_questions
            result = bench_api(settings.data_dir, settings.index_dir, settings.model,
                               [q.question for q in load_questions()][:20])
            write(result, args.out)
            print(table(result))
            return EXIT_OK
        if args.command == "bench" and settings.store:
            from .bench import write
            from .bench_store import bench_store, table
            from .evaluate import load_questions
            result = bench_store(settings.store, settings.data_dir, settings.model,
                                 [q.question for q in load_questions()][:30], quick=args.quick)
            write(result, args.out)
            print(table(result))
            return EXIT_OK
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
                  f"in {settings.store or settings.index_dir}")
        elif args.command == "stats":
            print(json.dumps(stats(engine), ensure_ascii=False, indent=1))
        elif args.command == "eval":
            return _eval(engine, args.split, args.check)
        elif args.command == "calibrate":
            from . import calibration
            from .evaluate import calibrate, load_questions
            fitted = calibrate(engine, load_questions(split="dev"))
            path = calibration.save(settings.index_dir, engine.encoder.name, fitted)
            print(json.dumps(asdict(fitted), ensure_ascii=False, indent=1))
            print(f"calibration for {engine.encoder.name} written to {path}")
        return EXIT_OK
    except (IngestError, IndexFormatError, EncoderError, MilvusError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def _library(args, settings: Settings) -> int:
    """add / list / remove: change the corpus folder, then bring the index up to date incrementally."""
    from .library import add, documents, remove
    code = EXIT_OK
    if args.command == "list":
        for d in documents(settings.data_dir):
            print(f"{d.doc_id}\t{d.date or '-'}\t{d.title}")
        return EXIT_OK
    if args.command == "add":
        if args.title and len(args.paths) > 1:
            print("warning: --title applies to every file of this batch", file=sys.stderr)
        results = add(settings.data_dir, args.paths, args.title, args.date, args.author, args.district, args.max_mb)
        for r in results:
            print(f"{r.status}: {r.message}", file=sys.stderr if r.status == "error" else sys.stdout)
        code = EXIT_ERROR if any(r.status == "error" for r in results) else EXIT_OK
        if not any(r.status == "added" for r in results):
            return code
    else:
        print(remove(settings.data_dir, args.doc))
    index = Engine(settings=settings, progress=sys.stderr.isatty()).index   # opening it brings it up to date
    print(f"index updated: {len(index.chunks)} passages, {index.embedded} newly embedded")
    return code


def entry() -> None:
    """The `reform-qa` console command: the same CLI as `python -m qa`."""
    sys.exit(main())


def stats(engine: Engine) -> dict:
    """Corpus and index figures for the CLI and the app's status line."""
    per_doc = Counter(c.doc_id for c in engine.index.chunks)
    return {"documents": len(engine.index.documents), "passages": len(engine.index.chunks),
            "model": engine.index.model, "dim": int(engine.encoder.dim), "store": engine.settings.store or "local",
            "index_dir": str(engine.settings.index_dir),
            "per_document": {d.doc_id: {"title": d.title, "date": d.date, "passages": per_doc[d.doc_id]}
                             for d in engine.index.documents}}


def _eval(engine: Engine, split: str, check: bool) -> int:
    from .evaluate import PARAPHRASE_TARGETS, evaluate, load_questions, missed_targets, subsets, table
    from .search import MODES
    questions = load_questions(split=split)
    results = {mode: evaluate(engine, questions, mode) for mode in MODES}
    print(f"{len(questions)} questions ({split} split), model {engine.index.model}")
    print(table(results))
    parts = {name: evaluate(engine, qs) for name, qs in subsets(questions).items()}
    print("\nthe default (rerank) by subset; paraphrase = users' own words, with the unanswerable questions")
    print(table(parts, "subset"))
    missed = missed_targets(results["rerank"]) + [
        f"paraphrase {m}" for m in missed_targets(parts["paraphrase"], PARAPHRASE_TARGETS)]
    print("targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return EXIT_ERROR if check and missed else EXIT_OK
