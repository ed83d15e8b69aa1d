"""Uploads: files join at once, their passages are embedded in the background with progress, and the
chat keeps answering from the index as it was until the new one is complete."""
import threading
import time

from conftest import HashEncoder
from qa.engine import Engine
from qa.serve.chat import upload_html
from qa.uploads import Uploads

NEW_DOC = "宁海简讯\n\n宁海县2023年建成十里红妆文化园，接待游客120万人次。\n\n" + \
          "\n\n".join(f"第{i}项：宁海县推进乡村振兴第{i}批项目，总投资{i}亿元。" for i in range(1, 9))


class HeldEncoder(HashEncoder):
    """Embeds passages only while `go` is set (queries always), so a test can look mid-upload."""

    def __init__(self):
        super().__init__()
        self.go = threading.Event()
        self.go.set()

    def encode(self, texts, query=False):
        if not query:
            assert self.go.wait(30), "the test never released the encoder"
        return super().encode(texts, query)


def held_engine(corpus, tmp_path):
    encoder = HeldEncoder()
    engine = Engine(data_dir=corpus, index_dir=tmp_path / "ix", encoder=encoder, progress=False)
    encoder.go.clear()
    return engine, encoder


def new_file(tmp_path, name="宁海简讯.txt", text=NEW_DOC, encoding="gbk"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_questions_are_answered_from_the_old_index_while_an_upload_embeds(corpus, tmp_path):
    engine, encoder = held_engine(corpus, tmp_path)
    uploads = Uploads(engine)
    upload = uploads.start([new_file(tmp_path)], ["宁海简讯.txt"])
    assert upload.state == "embedding" and [f.status for f in upload.files] == ["added"]
    answer = engine.ask("2019年地区生产总值是多少")             # answered while the upload waits
    assert any("1021.6亿元" in h.text for h in answer.hits)
    assert all(h.doc_id != "宁海简讯" for h in engine.ask("十里红妆文化园").hits)
    encoder.go.set()
    done = uploads.wait(upload.id, 30)
    assert done.state == "done" and done.total > 0 and done.done == done.total
    assert engine.ask("十里红妆文化园接待游客多少人次").hits[0].doc_id == "宁海简讯"


def test_progress_counts_passages_and_the_chat_draws_it_as_a_bar(corpus, tmp_path):
    engine, encoder = held_engine(corpus, tmp_path)
    uploads = Uploads(engine)
    upload = uploads.start([new_file(tmp_path)], ["宁海简讯.txt"])
    assert "<progress" in upload_html(upload) and "期间可以继续提问" in upload_html(upload)
    for _ in range(100):                       # counted before the first passage is embedded
        if uploads.get(upload.id).total:
            break
        time.sleep(0.05)
    counted = uploads.get(upload.id)
    assert counted.done == 0 and counted.total > 0
    assert f"<progress value='0' max='{counted.total}'>" in upload_html(counted) and f"0/{counted.total} 个段落" in upload_html(counted)
    encoder.go.set()
    done = uploads.wait(upload.id, 30)
    page = upload_html(done)
    assert "<progress" not in page and "完成" in page and f"{done.total} 个新段落" in page


def test_a_bad_file_is_reported_and_the_good_one_still_lands(corpus, tmp_path):
    engine, encoder = held_engine(corpus, tmp_path)
    encoder.go.set()
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 not really a pdf")
    uploads = Uploads(engine)
    upload = uploads.start([bad, new_file(tmp_path)], ["scan.pdf", "宁海简讯.txt"])
    assert [f.status for f in upload.files] == ["error", "added"]
    assert "scan.pdf" in upload.files[0].message
    assert uploads.wait(upload.id, 30).state == "done"
    assert "[错误]" in upload_html(uploads.get(upload.id))


def test_nothing_new_is_done_at_once_and_an_unknown_id_is_none(corpus, tmp_path):
    engine, _ = held_engine(corpus, tmp_path)
    uploads = Uploads(engine)
    again = uploads.start([corpus / "report.txt"], ["report.txt"])
    assert again.state == "done" and again.files[0].status == "skipped"
    assert uploads.get("nope") is None


def test_a_delete_does_not_wait_behind_an_embedding(corpus, tmp_path):
    engine, encoder = held_engine(corpus, tmp_path)
    uploads = Uploads(engine)
    upload = uploads.start([new_file(tmp_path)], ["宁海简讯.txt"])
    remover = threading.Thread(target=engine.remove, args=("jiangbei",))
    remover.start()
    remover.join(10)
    assert not remover.is_alive() and uploads.get(upload.id).state == "embedding"   # done while still held
    assert all(h.doc_id != "jiangbei" for h in engine.ask("城镇化率", k=10).hits)
    encoder.go.set()
    assert uploads.wait(upload.id, 30).state == "done"
    ids = {d.doc_id for d in engine.listing().documents}
    assert "jiangbei" not in ids and "宁海简讯" in ids


def test_a_document_deleted_while_it_embeds_does_not_come_back(corpus, tmp_path):
    engine, encoder = held_engine(corpus, tmp_path)
    uploads = Uploads(engine)
    upload = uploads.start([new_file(tmp_path)], ["宁海简讯.txt"])
    assert engine.remove("宁海简讯").startswith("removed 宁海简讯")   # in the folder, not yet in the index
    encoder.go.set()
    assert uploads.wait(upload.id, 30).state == "done"
    assert "宁海简讯" not in engine.listing().by_id and not (corpus / "宁海简讯.txt").exists()
    assert all(h.doc_id != "宁海简讯" for h in engine.ask("十里红妆文化园", k=10).hits)


def test_an_upload_whose_embedding_fails_says_so_and_keeps_the_old_index(corpus, tmp_path):
    engine, encoder = held_engine(corpus, tmp_path)

    def broken(texts, query=False):
        if not query:
            raise MemoryError("out of memory while embedding")
        return HashEncoder.encode(encoder, texts, query)
    encoder.encode = broken
    uploads = Uploads(engine)
    failed = uploads.wait(uploads.start([new_file(tmp_path)], ["宁海简讯.txt"]).id, 30)
    assert failed.state == "failed" and "out of memory" in failed.error and "reform-qa index" in failed.error
    assert "索引失败" in upload_html(failed)
    assert any("1021.6亿元" in h.text for h in engine.ask("2019年地区生产总值是多少").hits)
