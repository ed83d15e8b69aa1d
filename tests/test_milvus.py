"""The Milvus store on embedded Milvus Lite (a .db file in a temp dir): same engine, same answers' shape."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import qa.stores.milvus as milvus_store
import qa.stores.milvus_schema as milvus_schema
import qa.stores.milvus_writer as milvus_writer
from conftest import free_port, wait_for_port
from qa import Engine
from qa.documents.library import add
from qa.stores import Rows, StoreError


@pytest.fixture
def milvus(corpus, tmp_path, encoder):
    engine = Engine(data_dir=corpus, index_dir=tmp_path / "index", encoder=encoder, progress=False,
                    store=str(tmp_path / "milvus.db"))
    return engine


def test_builds_and_answers_like_the_local_store(milvus, engine):
    assert type(milvus.store).__name__ == "MilvusStore" and milvus.report.embedded == milvus.listing().count
    for question in ("2019年地区生产总值是多少", "城乡居民收入倍差", "一号改革工程"):
        here, there = milvus.ask(question, k=1), engine.ask(question, k=1)
        assert here.hits[0].chunk_id == there.hits[0].chunk_id and here.hits[0].citation == there.hits[0].citation


def test_filters_are_evaluated_by_milvus(milvus):
    assert {h.doc_id for h in milvus.search("改革", k=5, district="江北")} == {"jiangbei"}
    assert {h.doc_id for h in milvus.search("改革", k=5, year=2020)} == {"report"}
    assert {h.doc_id for h in milvus.search("改革", k=5, doc_ids=["interview"])} == {"interview"}
    assert milvus_schema.expression(milvus_store.Filters(frozenset({"a", 'b"c'}), "镇海", "2020")) == \
        'doc_id in ["a", "b\\"c"] and district == "镇海" and year == 2020'


def test_reopening_embeds_nothing(milvus, corpus, tmp_path, encoder):
    again = Engine(data_dir=corpus, index_dir=tmp_path / "index", encoder=encoder, progress=False,
                   store=str(tmp_path / "milvus.db"))
    assert again.report.embedded == 0 and len(again.store.stored_ids()) == again.listing().count


def test_text_fields_are_cut_to_milvus_byte_limits():
    assert milvus_schema.cut("镇海区" * 30, 64) == "镇海区" * 7   # 21 characters = 63 bytes
    assert len(milvus_schema.cut("a" * 100, 64)) == 64


def test_add_and_remove_a_document_round_trip(milvus, corpus, tmp_path):
    new = tmp_path / "象山.txt"
    new.write_text("象山简讯\n\n象山县远洋渔业捕捞量达到42万吨，同比增长。", encoding="utf-8")
    assert add(corpus, [new])[0].status == "added"
    milvus.sync()
    assert milvus.report.embedded == 1 and "42万吨" in milvus.search("象山远洋渔业捕捞量", k=1)[0].text
    assert milvus.remove("象山") == "removed 象山 (象山简讯)"
    assert "象山" not in set(milvus.store.stored_ids().values())
    assert all("42万吨" not in h.text for h in milvus.search("象山远洋渔业捕捞量", k=3))


def test_a_failed_insert_leaves_no_partial_document(milvus, corpus, tmp_path, monkeypatch, encoder):
    new = tmp_path / "长文.txt"
    new.write_text("长文\n\n" + "\n\n".join(f"第{i}段讲述了改革的第{i}项具体措施和成效，内容充实。" * 3 for i in range(6)),
                   encoding="utf-8")
    add(corpus, [new])
    calls = {"n": 0}
    real_upsert = milvus.store.client.upsert

    def failing_upsert(collection, rows, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("insert failed mid-way")
        return real_upsert(collection, rows, **kw)
    monkeypatch.setattr(milvus_writer, "BATCH", 2)
    monkeypatch.setattr(milvus.store.client, "upsert", failing_upsert)
    from qa.documents.folder import load_corpus
    doc = next(d for d in load_corpus(corpus)[0] if d.doc_id == "长文")
    chunks = [c for c in load_corpus(corpus)[1] if c.doc_id == "长文"]
    assert len(chunks) > 2
    with pytest.raises(StoreError, match="mid-way"):
        milvus.store.put([Rows(doc, tuple(chunks), encoder.encode([c.text for c in chunks]))])
    assert calls["n"] == 2 and "长文" not in set(milvus.store.stored_ids().values())


def test_two_processes_share_one_milvus_server_and_see_each_others_additions(corpus, tmp_path, encoder):
    if not shutil.which("milvus-lite"):
        pytest.fail("milvus-lite's command is missing: pip install milvus-lite")
    port = free_port()
    server = subprocess.Popen(["milvus-lite", "server", "--data-dir", str(tmp_path / "shared.db"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server, 60)
        uri = f"http://127.0.0.1:{port}"
        first = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False, store=uri)
        new = tmp_path / "宁海.txt"
        new.write_text("宁海简讯\n\n宁海县2023年建成十里红妆文化园，接待游客120万人次。", encoding="utf-8")
        add(corpus, [new])
        other = subprocess.run(   # a second process adds the new document to the shared collection
            [sys.executable, "-c", f"import sys; sys.path[:0] = {[str(tmp_path.parent), os.path.dirname(__file__)]!r};"
             "from conftest import HashEncoder; from qa import Engine;"
             f"e = Engine(data_dir={str(corpus)!r}, index_dir={str(tmp_path / 'ix2')!r}, encoder=HashEncoder(),"
             f" progress=False, store={uri!r}); print(e.report.embedded)"],
            capture_output=True, text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip().splitlines()[-1] == "1"
        first.sync()                                        # the first sees it without embedding it again
        assert first.report.embedded == 0 and "120万人次" in first.search("十里红妆文化园接待游客", k=1)[0].text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_milvus_lite_answers_from_new_processes_after_an_index_build(corpus, tmp_path):
    """`index`, then `ask`, then `ask` again, each a new process with the real model, as users run it;
    no traceback on any path, a bad store included."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def run(*args, store=str(tmp_path / "qa.db")):
        return subprocess.run([sys.executable, "-m", "qa", "--data", str(corpus), "--index", str(tmp_path / "ix"),
                               "--store", store, *args], capture_output=True, text=True, timeout=600, cwd=root)
    built = run("index")
    assert built.returncode == 0 and "index ready" in built.stdout, built.stderr[-2000:]
    for _ in range(2):
        asked = run("ask", "一号改革工程是什么？", "--json")
        assert asked.returncode == 0, asked.stderr[-2000:]
        assert "一号改革工程" in json.loads(asked.stdout)["hits"][0]["text"] and "Traceback" not in asked.stderr
    bad = run("ask", "一号改革工程是什么？", store=str(corpus / "catalog.json" / "qa.db"))
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_rows_of_a_document_milvus_does_not_list_are_never_cited(milvus, corpus, encoder):
    """A write that crashed leaves rows without the document's first row: they are not the corpus's."""
    from qa.documents.document import Chunk, Document
    from qa.stores.milvus_schema import chunk_rows
    doc = Document("half", "半截文件", "2024")
    chunks = [Chunk(f"half{i}", "half", f"半截文件第{i}段：象山县远洋渔业捕捞量42万吨。", i) for i in range(3)]
    vectors = encoder.encode([c.text for c in chunks])
    milvus.store.client.upsert(milvus.store.collection, chunk_rows(doc, chunks[1:], vectors[1:], "hash-encoder/64", 1, chunks))
    milvus.store.client.flush(milvus.store.collection)
    assert "half" in set(milvus.store.stored_ids().values())
    assert all(h.doc_id != "half" for h in milvus.search("象山县远洋渔业捕捞量", k=10))


def test_a_document_written_again_keeps_no_rows_of_its_earlier_version(milvus, corpus, encoder):
    from qa.documents.folder import load_corpus
    docs, chunks = load_corpus(corpus)
    doc = next(d for d in docs if d.doc_id == "jiangbei")
    old = [c for c in chunks if c.doc_id == "jiangbei"]
    new = [type(old[0])("jb-new", "jiangbei", "江北区2025年城镇化率达到86%。", 1)]
    milvus.store.put([Rows(doc, tuple(new), encoder.encode([c.text for c in new]))])
    rows = milvus.store.stored_ids()
    assert [i for i, d in rows.items() if d == "jiangbei"] == ["jb-new"] and not set(c.id for c in old) & set(rows)
    assert [d.doc_id for d in milvus.listing().documents].count("jiangbei") == 1
