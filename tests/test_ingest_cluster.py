"""reform-qa ingest: a corpus folder into a Milvus server as a Dask batch job on a local cluster; it
builds the collection the app's own path builds, and a rerun writes nothing again."""
import json
import os
import subprocess
import sys

import pytest

from conftest import free_port, wait_for_port
from qa import Engine
from qa.documents.document import IngestError
from qa.documents.folder import load_corpus
from qa.ingest import ingest
from qa.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUESTIONS = ["地区生产总值是多少", "一号改革工程", "城镇化率", "营商环境", "森林覆盖率"]


def test_ingest_on_two_workers_builds_what_the_app_builds_and_a_rerun_writes_nothing(milvus_server, corpus, tmp_path):
    settings = Settings(data_dir=corpus, index_dir=tmp_path / "ix", store=milvus_server, collection="by_ingest")
    done = ingest(corpus, settings, workers=2, progress=False)
    chunks = load_corpus(corpus)[1]
    assert sorted(done.written) == ["interview", "jiangbei", "report"] and not done.failed and done.workers == 2
    assert done.embedded == len(chunks) == done.chunks
    by_ingest = Engine(data_dir=tmp_path / "none", index_dir=tmp_path / "ix2", progress=False,
                       settings=settings)
    assert set(by_ingest.store.stored_ids()) == {c.id for c in chunks}
    by_app = Engine(data_dir=corpus, index_dir=tmp_path / "ix3", progress=False, store=milvus_server)
    for question in QUESTIONS:
        assert [h.chunk_id for h in by_ingest.ask(question, k=3).hits] == \
               [h.chunk_id for h in by_app.ask(question, k=3).hits], question
    again = ingest(corpus, settings, workers=2, progress=False)
    assert again.written == () and sorted(again.skipped) == ["interview", "jiangbei", "report"]
    assert again.embedded == 0
    (corpus / "jiangbei.txt").write_text("江北专访\n\n江北区2025年城镇化率达到86%。\n", encoding="utf-8")
    changed = ingest(corpus, settings, workers=1, progress=False)             # a changed document: replaced
    now = load_corpus(corpus)[1]
    assert changed.written == ("jiangbei",) and changed.embedded == sum(1 for c in now if c.doc_id == "jiangbei")
    rows = by_ingest.store.stored_ids()
    assert set(rows) == {c.id for c in now}                                   # no row of the old version


def test_ingest_refuses_a_milvus_lite_file_and_no_workers_naming_the_fix(corpus, tmp_path):
    with pytest.raises(IngestError, match="milvus-lite server"):
        ingest(corpus, Settings(store=str(tmp_path / "x.db")), progress=False)
    with pytest.raises(IngestError, match="workers 0: a local cluster needs at least 1"):
        ingest(corpus, Settings(store="http://127.0.0.1:1"), workers=0, progress=False)


def test_the_command_ingests_on_a_dask_cluster_given_by_its_address(milvus_server, corpus, tmp_path):
    """`reform-qa ingest --cluster tcp://…` against a scheduler and workers started apart, as on a cluster."""
    port = free_port()
    scheduler = subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = subprocess.Popen(["dask", "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "2", "--nthreads", "1",
                                "--no-dashboard", "--host", "127.0.0.1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        wait_for_port(port, scheduler, 60)
        run = subprocess.run([sys.executable, "-m", "qa", "--store", milvus_server, "ingest", str(corpus),
                              "--cluster", f"tcp://127.0.0.1:{port}"], capture_output=True, text=True,
                             timeout=300, cwd=ROOT)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "ingested 3 documents" in run.stdout and "Traceback" not in run.stderr
        asked = subprocess.run([sys.executable, "-m", "qa", "--store", milvus_server, "--data", str(tmp_path / "none"),
                                "ask", "江北城乡居民收入倍差", "--json"], capture_output=True, text=True, timeout=300,
                               cwd=ROOT)
        assert asked.returncode == 0 and "1.62" in json.loads(asked.stdout)["hits"][0]["text"], asked.stderr[-2000:]
    finally:
        for proc in (workers, scheduler):
            proc.terminate()
            proc.wait(timeout=30)
