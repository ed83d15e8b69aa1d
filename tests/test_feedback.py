"""Every answer can be judged, every judgement becomes a gold question; a list of questions in, a checked
report out."""
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from conftest import ROOT
from qa.batch import read_questions, run, summary, write_report
from qa.evaluate import evaluate, load_questions
from qa.feedback import Feedback, FeedbackError, gold


def test_a_script_judges_an_answer_and_bad_judgements_are_named(http):
    answer = http.post("/api/search", json={"question": "2019年镇海GDP是多少？", "k": 3}).json()
    assert answer["answer_id"] and all(h["chunk_id"] for h in answer["hits"])
    chosen = answer["hits"][0]["chunk_id"]
    stored = http.post("/api/feedback", json={"answer_id": answer["answer_id"], "verdict": "right", "chunk_id": chosen})
    assert stored.status_code == 201 and stored.json()["id"] >= 1
    for body, field in (({"answer_id": answer["answer_id"], "verdict": "great"}, "verdict"),
                        ({"answer_id": "no-such-answer", "verdict": "wrong"}, "answer_id"),
                        ({"answer_id": answer["answer_id"], "verdict": "right", "chunk_id": "elsewhere"}, "chunk_id")):
        refused = http.post("/api/feedback", json=body)
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text


def test_judgements_export_as_gold_questions_that_eval_runs(engine, tmp_path):
    feedback = Feedback(tmp_path / "fb.sqlite3")
    right = engine.ask("森林覆盖率达到多少", k=3)
    chosen = engine.ask("江北城镇化率是多少", k=3)
    nothing = engine.ask("上海2019年GDP是多少", k=3)
    vague = engine.ask("营商环境", k=3)
    for answer in (right, chosen, nothing, vague):
        feedback.remember(answer, [], engine.listing().fingerprint)
    feedback.judge(right.answer_id, "right")
    target = next(h for h in chosen.hits if "85.6%" in h.text)
    feedback.judge(chosen.answer_id, "wrong", target.chunk_id, "这段才是答案")
    feedback.judge(nothing.answer_id, "not_in_documents")
    feedback.judge(vague.answer_id, "wrong")
    rows, needs = gold(feedback.judgements())
    assert [r["answer"] is None for r in rows] == [False, False, True] and len(needs) == 1
    assert "85.6%" in rows[1]["answer"]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    m = evaluate(engine, load_questions(path))
    assert m["questions"] == 3 and m["hit@3"] == 1.0
    with pytest.raises(FeedbackError, match="verdict"):
        feedback.judge(right.answer_id, "fine")


WRITER = """
import sys
sys.path[:0] = [{root!r}]
from qa.feedback import Feedback
from qa.ranking.answer import Answer, Hit
fb = Feedback({db!r})
for i in range(150):
    a = Answer("q%d" % i, (Hit("t", 1.0, "d", "T", "", 1, "", "c", chunk_id="x"),), "", False, 1.0)
    fb.remember(a, [], "f")
    fb.judge(a.answer_id, "right", "x")
"""


def test_two_processes_judging_at_once_lose_nothing(tmp_path):
    db = str(tmp_path / "fb.sqlite3")
    Feedback(db)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), db=db)]) for _ in range(2)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert len(Feedback(db).judgements()) == 300


def test_the_cli_exports_feedback_and_eval_runs_the_export(tmp_path):
    import shutil
    data, index = tmp_path / "data", tmp_path / "index"
    shutil.copytree(Path(ROOT) / "data", data)
    env = {**__import__("os").environ, "QA_DATA_DIR": str(data), "QA_INDEX_DIR": str(index)}
    qa = lambda *a: subprocess.run([sys.executable, "-m", "qa", *a], capture_output=True, text=True, cwd=tmp_path, env=env)
    from qa import Engine
    engine = Engine(data_dir=data, index_dir=index, progress=False)
    fb = Feedback(engine.settings.feedback_file())
    for q in ("2019年镇海GDP是多少？", "江北城乡居民收入倍差是多少"):
        answer = engine.ask(q)
        fb.remember(answer, [], engine.listing().fingerprint)
        fb.judge(answer.answer_id, "right")
    listed = qa("feedback", "list")
    exported = qa("feedback", "export", "--out", str(tmp_path / "gold.jsonl"))
    checked = qa("eval", "--gold", str(tmp_path / "gold.jsonl"))
    assert listed.returncode == 0 and "2 judgements" in listed.stderr, listed.stderr
    assert exported.returncode == 0 and "2 gold questions" in exported.stdout
    assert checked.returncode == 0 and "| 2 | 1.000 |" in checked.stdout, checked.stdout + checked.stderr


def test_batch_reads_csv_and_xlsx_and_reports_rows_and_summary(engine, tmp_path):
    listing = tmp_path / "questions.csv"
    with open(listing, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["question", "expected"], ["森林覆盖率达到多少", "23.1%"],
                                 ["江北城镇化率是多少", "85.6%"], ["上海2019年GDP是多少", ""]])
    book = openpyxl.Workbook()
    for row in [["问题", "期望"], ["森林覆盖率达到多少", "23.1%"], ["江北城镇化率是多少", "85.6%"], ["上海2019年GDP是多少", None]]:
        book.active.append(row)
    book.save(tmp_path / "questions.xlsx")
    for source in ("questions.csv", "questions.xlsx"):
        items = read_questions(tmp_path / source)
        assert [i.expected for i in items] == ["23.1%", "85.6%", None]
        rows = run(engine, items)
        report = write_report(rows, tmp_path / f"{source}.report.xlsx")
        read = openpyxl.load_workbook(report)
        answers = list(read["answers"].iter_rows(values_only=True))
        totals = dict(read["summary"].iter_rows(values_only=True))
        assert answers[0][:3] == ("#", "question", "answered") and len(answers) == 4
        assert answers[1][1] == "森林覆盖率达到多少" and "《" in answers[1][5]
        assert totals["questions"] == 3 and totals["checked"] == 2 and totals["hit@3"] == 1.0
        assert summary(rows)["abstained"] == totals["abstained"]


def test_a_question_list_that_is_not_one_is_named(tmp_path):
    from qa.documents.document import IngestError
    (tmp_path / "q.pdf").write_bytes(b"%PDF")
    (tmp_path / "empty.csv").write_text("question\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"\.txt, \.csv or \.xlsx"):
        read_questions(tmp_path / "q.pdf")
    with pytest.raises(IngestError, match="no questions"):
        read_questions(tmp_path / "empty.csv")


def test_a_batch_through_the_api_reports_when_done(http):
    listing = "question,expected\n2019年镇海GDP是多少？,1021.6亿元\n镇海城乡居民收入倍差是多少,\n".encode("utf-8")
    started = http.post("/api/batch", files={"file": ("问题.csv", listing, "text/csv")})
    assert started.status_code == 202, started.text
    job = started.json()
    for _ in range(300):
        job = http.get(f"/api/batch/{job['id']}").json()
        if job["state"] != "running":
            break
        time.sleep(0.2)
    assert job["state"] == "done" and job["summary"]["questions"] == 2 and job["summary"]["hit@1"] == 1.0
    report = http.get(f"/api/batch/{job['id']}/report.xlsx")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    bad = http.post("/api/batch", files={"file": ("q.pdf", b"%PDF", "application/pdf")})
    assert bad.status_code == 422 and "q.pdf" in bad.json()["error"]


def test_a_person_judges_answers_in_the_chat_and_the_judgements_are_kept(browser_page, server):
    from test_app import ask_in_browser
    page = browser_page(1400)
    ask_in_browser(page, "2019年镇海GDP是多少？", "1021.6亿元")
    page.locator("#judge-right").click()
    page.locator("#judged").get_by_text("已记录评价：答对了").wait_for(timeout=20_000)
    ask_in_browser(page, "江北城乡居民收入倍差是多少", "1.62")
    page.locator("#judge-passage input").click()
    page.get_by_role("option").first.click()
    page.locator("#judged").get_by_text("这段才是答案").wait_for(timeout=20_000)
    page.locator("#judge-not_in_documents").click()
    page.locator("#judged").get_by_text("应该说“文档中没有”").wait_for(timeout=20_000)


def test_a_question_list_in_the_chat_gives_a_report_to_download(browser_page, tmp_path):
    listing = tmp_path / "questions.csv"
    listing.write_text("question,expected\n2019年镇海GDP是多少？,1021.6亿元\n上海2019年GDP是多少,\n", encoding="utf-8")
    page = browser_page(1600)
    page.get_by_text("批量提问：上传问题清单，下载检查报告").click()
    page.locator("#batch-file input[type=file]").set_input_files(str(listing))
    page.locator("#batch-file").get_by_text("questions.csv").first.wait_for(timeout=30_000)
    page.locator("#batch-start").click()
    page.locator("#batch-log").get_by_text("完成").wait_for(timeout=60_000)
    assert "hit@1 1.0" in page.inner_text("#batch-log")
    with page.expect_download() as download:
        page.locator("#batch-report a").first.click()
    saved = tmp_path / "report.xlsx"
    download.value.save_as(saved)
    rows = list(openpyxl.load_workbook(saved)["answers"].iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][1] == "2019年镇海GDP是多少？"
