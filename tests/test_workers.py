"""Search workers: searches run in processes of their own over the app's index, and see every document
the app adds or removes."""
import pytest

from conftest import new_document
from qa.engine import Engine
from qa.uploads import Uploads
from qa.serve.workers import Searchers
from qa.settings import Settings


@pytest.fixture
def app(corpus, tmp_path):
    engine = Engine(data_dir=corpus, index_dir=tmp_path / "ix", progress=False)   # the real model
    searchers = Searchers(engine, 2)
    yield engine, searchers
    searchers.close()


def test_workers_answer_as_the_app_would_and_follow_its_uploads_and_removals(app, tmp_path):
    engine, searchers = app
    question = "城乡居民收入倍差是多少"
    mine, theirs = engine.ask(question), searchers.ask(question, k=3)
    assert [h.chunk_id for h in theirs.hits] == [h.chunk_id for h in mine.hits] and "1.62" in theirs.hits[0].text
    uploads = Uploads(engine)
    upload = uploads.start([new_document(tmp_path)], ["宁海简讯.txt"])
    assert uploads.wait(upload.id, 60).state == "done"
    for _ in range(4):                                   # whichever worker takes it
        assert searchers.ask("十里红妆文化园接待游客多少人次").hits[0].doc_id == "宁海简讯"
    engine.remove("宁海简讯")
    for _ in range(4):
        assert all(h.doc_id != "宁海简讯" for h in searchers.ask("十里红妆文化园接待游客多少人次", k=10).hits)


def test_a_worker_count_below_one_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setenv("QA_WORKERS", "0")
    with pytest.raises(ValueError, match="workers 0: run at least 1"):
        Settings.from_env()


def test_a_bad_worker_count_or_a_lite_file_for_several_workers_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_WORKERS", "two")
    with pytest.raises(ValueError, match="workers 'two' \\(from QA_WORKERS or --workers\\) is not a whole number"):
        Settings.from_env()
    monkeypatch.setenv("QA_WORKERS", "2")
    with pytest.raises(ValueError, match="milvus-lite server"):
        Settings.from_env(store=str(tmp_path / "qa.db"))
