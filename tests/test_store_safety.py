"""Opening never destroys: a process whose corpus folder lacks documents, or holds other versions of them,
leaves the shared store as it found it and says how the two differ; rows leave a store only through an
explicit remove (which names what it deleted) or rebuild."""
import json
import os
import subprocess
import sys

import pytest

from conftest import new_document
from qa import Engine
from qa.documents.library import add

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


def open_elsewhere(data, index, store=None, question="一号改革工程"):
    """Another process, with the fake encoder, opens the store for `data` and asks; prints its report."""
    script = ("import sys, json; sys.path[:0] = [{root!r}, {tests!r}]\n"
              "from conftest import HashEncoder\nfrom qa import Engine\n"
              "e = Engine(data_dir={data!r}, index_dir={index!r}, encoder=HashEncoder(), progress=False, store={store!r})\n"
              "a = e.ask({question!r}, k=1)\n"
              "print(json.dumps({{'only': list(e.report.only_in_store), 'chunks': e.listing().count,"
              " 'top': a.hits[0].text if a.hits else ''}}, ensure_ascii=False))")
    proc = subprocess.run([sys.executable, "-c", script.format(root=ROOT, tests=TESTS, data=str(data), index=str(index),
                                                               store=store, question=question)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_process_with_an_empty_folder_leaves_a_shared_milvus_collection_whole(milvus_server, corpus, tmp_path,
                                                                                encoder):
    first = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False, store=milvus_server)
    rows = first.store.stored_ids()
    empty = tmp_path / "empty"
    empty.mkdir()
    other = open_elsewhere(empty, tmp_path / "ix2", milvus_server)
    assert sorted(other["only"]) == ["interview", "jiangbei", "report"]        # it says how its folder differs
    assert other["chunks"] == len(rows) and "一号改革工程" in other["top"]     # and answers from the rows
    assert first.store.stored_ids() == rows                                   # nothing was deleted
    assert "一号改革工程" in first.ask("一号改革工程", k=1).hits[0].text
    first.sync()
    assert first.report.embedded == 0 and first.store.stored_ids() == rows


def test_remove_deletes_that_documents_rows_and_no_other(milvus_server, corpus, tmp_path, encoder):
    engine = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False, store=milvus_server)
    before = engine.store.stored_ids()
    assert engine.remove("jiangbei") == "removed jiangbei (江北专访)"
    after = engine.store.stored_ids()
    assert after == {i: d for i, d in before.items() if d != "jiangbei"} and after
    assert not (corpus / "jiangbei.txt").exists()
    assert "jiangbei" not in {h.doc_id for h in engine.search("城镇化率", k=10)}


def test_a_collection_of_another_model_is_refused_not_dropped(corpus, tmp_path, encoder):
    from qa.stores.milvus import MilvusError
    store = str(tmp_path / "m.db")
    Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False, store=store)

    class OtherEncoder(type(encoder)):
        name = "other-encoder"
    with pytest.raises(MilvusError, match="holds vectors of hash-encoder/64.*index --rebuild"):
        Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=OtherEncoder(), progress=False, store=store)
    rebuilt = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False, store=store)
    assert rebuilt.report.embedded == 0                                        # the rows are still there


def test_two_processes_sharing_a_local_index_folder_lose_nothing(corpus, tmp_path, encoder):
    first = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False)
    chunks = {c.id for c in first.store.chunks}
    empty = tmp_path / "empty"
    empty.mkdir()
    other = open_elsewhere(empty, tmp_path / "ix")
    assert sorted(other["only"]) == ["interview", "jiangbei", "report"] and "一号改革工程" in other["top"]
    again = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False)
    assert {c.id for c in again.store.chunks} == chunks and again.report.embedded == 0


def test_a_changed_document_is_reported_on_open_and_reindexed_only_by_index(engine, corpus):
    (corpus / "jiangbei.txt").write_text("江北专访\n\nA 城乡融合\n\n江北常住人口城镇化率达到86.0%。\n", encoding="utf-8")
    engine.sync()
    assert engine.report.changed_in_folder == ("jiangbei",)
    assert "85.6%" in engine.search("江北城镇化率", k=1)[0].text              # searched as indexed
    report = engine.sync("sync")
    assert report.replaced == ("jiangbei",) and "86.0%" in engine.search("江北城镇化率", k=1)[0].text


def test_a_rebuild_removes_what_the_folder_lacks_and_names_it(engine, corpus):
    (corpus / "jiangbei.txt").unlink()
    engine.sync()
    assert "jiangbei" in {d.doc_id for d in engine.listing().documents}          # opening kept it
    report = engine.sync("rebuild")
    assert report.removed == ("jiangbei",) and "jiangbei" not in {d.doc_id for d in engine.listing().documents}


def test_an_app_process_with_no_corpus_folder_answers_from_milvus_and_both_see_each_others_documents(
        milvus_server, corpus, tmp_path, encoder):
    first = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False, store=milvus_server)
    add(corpus, [new_document(tmp_path)])                         # 宁海简讯, added by the first process
    first.sync()
    nowhere = tmp_path / "no-such-folder"
    xiangshan = tmp_path / "象山简讯.txt"
    xiangshan.write_text("象山简讯\n\n象山县2023年石浦渔港完成投资18.6亿元。\n", encoding="utf-8")
    script = ("import sys, json; sys.path[:0] = [{root!r}, {tests!r}]\n"
              "from conftest import HashEncoder\nfrom qa import Engine\nfrom qa.uploads import Uploads\n"
              "e = Engine(data_dir={data!r}, index_dir={index!r}, encoder=HashEncoder(), progress=False, store={store!r})\n"
              "docs = sorted(d.doc_id for d in e.listing().documents)\n"
              "seen = e.ask('十里红妆文化园接待游客多少人次', k=1).hits[0].doc_id\n"
              "u = Uploads(e)\nstate = u.wait(u.start([{new!r}], ['象山简讯.txt']).id, 120).state\n"
              "print(json.dumps({{'docs': docs, 'seen': seen, 'state': state, 'count': e.listing().count}}, ensure_ascii=False))")
    proc = subprocess.run([sys.executable, "-c", script.format(root=ROOT, tests=TESTS, data=str(nowhere),
                                                               index=str(tmp_path / "ix2"), store=milvus_server,
                                                               new=str(xiangshan))],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    other = json.loads(proc.stdout.strip().splitlines()[-1])
    assert other["docs"] == ["interview", "jiangbei", "report", "宁海简讯"]    # read from Milvus, no folder
    assert other["seen"] == "宁海简讯" and other["state"] == "done"
    hit = first.ask("石浦渔港完成投资多少", k=1).hits[0]                      # the first, without reopening
    assert hit.doc_id == "象山简讯" and "18.6亿元" in hit.text and hit.title == "象山简讯"
    first.store.refresh()
    assert "象山简讯" in {d.doc_id for d in first.listing().documents} and first.listing().count == other["count"]
