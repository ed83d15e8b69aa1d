"""Ingest: a corpus folder into a Milvus server as a batch job on a Dask cluster (a local one by default,
or any scheduler's address). Files are read and chunked where the command runs (workers need not see its
disk; chunking costs little beside embedding), each document is embedded and written by a worker, whole
or not at all, and a rerun skips every document Milvus already lists with the same chunks."""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dask.distributed import Client, LocalCluster, as_completed

from .documents.document import Chunk, Document, IngestError
from .documents.folder import corpus_files, load_catalog, read_document
from .encoders import load_encoder
from .progress import Progress
from .settings import Settings
from .indexing import Indexer
from .indexing.vectors import shipped_vectors
from .stores import open_store
from .stores.factory import kind
from .stores.base import signature
from .stores.milvus_schema import connect, create
from .text import corpus_terms

_open: dict[tuple, tuple] = {}     # on a worker: (store, encoder) per settings, made for its first document


@dataclass(frozen=True)
class Ingested:
    """What one ingest did: documents written or skipped (already in Milvus), chunks embedded, failures."""
    written: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[str, ...]            # "doc_id: reason"
    chunks: int
    embedded: int
    seconds: float
    workers: int


def _write(settings: Settings, threads: int, doc: Document, chunks: list[Chunk], known: dict,
           words: list[str]) -> int:
    """On a worker: embed one document's chunks (those without a known vector) and write its rows, through
    the same Indexer as every other way in (it sees no corpus folder: the known vectors come along)."""
    key = (settings.store, settings.collection, settings.model, settings.runtime, threads)
    if key not in _open:
        encoder = load_encoder(settings.model, settings.runtime, threads)
        store = open_store(settings, encoder.name, encoder.dim)
        _open[key] = Indexer(store, encoder, Path(os.devnull), Path(tempfile.mkdtemp(prefix="qa-ingest-")))
    indexer = _open[key]
    indexer.store.vocabulary.tokenizer.learn(words)    # each document counted as the whole corpus will be
    return indexer.index([(doc, chunks)], progress=False, reuse_stored=False, known=known)


def _cluster(address: str | None, workers: int) -> Client:
    if address:
        return Client(address, timeout=30)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    return Client(cluster)


def ingest(folder: Path, settings: Settings, cluster: str | None = None, workers: int = 2,
           progress: bool = True) -> Ingested:
    """Write the documents of `folder` that Milvus (settings.store, a server) lacks or holds otherwise;
    `cluster` is a Dask scheduler's address (tcp://host:8786), None for a local cluster of `workers`."""
    if workers < 1:
        raise IngestError(f"workers {workers}: a local cluster needs at least 1 (2 on this machine's 2 cores)")
    store_uri = settings.store or ""
    if kind(store_uri) != "milvus":
        raise IngestError(f"ingest writes from several processes, which Milvus Lite's file {store_uri or '(none)'} "
                          "cannot take: start `milvus-lite server --data-dir DIR` (or use a Milvus server) and pass "
                          "--store http://127.0.0.1:19530")
    start = time.perf_counter()
    files = corpus_files(folder) if Path(folder).is_dir() else []
    if not files:
        raise IngestError(f"no .txt or .md documents in {folder}: add them with `reform-qa add` first")
    catalog = load_catalog(folder)
    documents = [read_document(path, catalog) for path in files]
    encoder = load_encoder(settings.model, settings.runtime)
    milvus = connect(store_uri.replace("milvus://", "http://", 1), settings.token)
    words = sorted(set(corpus_terms(c.text for _, cs in documents for c in cs)))
    if not milvus.has_collection(settings.collection):   # its analyzer takes the corpus's terms, as on open
        create(milvus, settings.collection, encoder.dim, words)
    store = open_store(settings, encoder.name, encoder.dim)
    held = store.listing().signatures
    as_held = {d.doc_id: held.get(d.doc_id) == signature([c.id for c in cs]) for d, cs in documents}
    todo = [(d, cs) for d, cs in documents if not as_held[d.doc_id]]
    skipped = tuple(d for d, same in as_held.items() if same)
    shipped = shipped_vectors(folder, encoder.name, encoder.dim)
    client = _cluster(cluster, workers)
    n = len(client.scheduler_info()["workers"]) or workers
    threads = max(1, (os.cpu_count() or 1) // n) if not cluster else 1
    written, failed, embedded = [], [], 0
    try:
        futures = {client.submit(_write, settings, threads, d, cs, {c.id: shipped[c.id] for c in cs if c.id in shipped},
                                 words, pure=False): d.doc_id for d, cs in todo}
        with Progress(len(todo), f"ingesting {len(todo)} documents on {n} workers", progress,
                      unit="documents") as done:
            for future in as_completed(futures):
                try:
                    embedded += future.result()
                    written.append(futures[future])
                except Exception as e:   # one document failed whole; the others go on
                    failed.append(f"{futures[future]}: {type(e).__name__}: {e}")
                done.update(1)
    finally:
        cluster_object = client.cluster
        client.close()
        if cluster_object is not None:
            cluster_object.close()
    store.refresh()
    return Ingested(tuple(written), skipped, tuple(failed), sum(len(cs) for _, cs in todo), embedded,
                    round(time.perf_counter() - start, 1), n)
