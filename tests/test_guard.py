"""Safe to put on a network: writes need the admin token, pages of other origins and rebound host names
change nothing, bodies are bounded however they are sent, and a zip bomb costs nothing."""
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conftest import ADMIN, free_port
from qa.documents.document import IngestError
from qa.documents.readers import check_zip, extract
from qa.serve.guard import admin_token, bearer_ok, hostname


def documents(http) -> list[str]:
    return sorted(d["id"] for d in http.get("/api/documents").json()["documents"])


def test_writes_without_the_token_or_with_a_wrong_one_change_nothing(http):
    before = documents(http)
    doomed = before[0]
    none = http.delete(f"/api/documents/{doomed}")
    wrong = http.delete(f"/api/documents/{doomed}", headers={"Authorization": "Bearer guessed"})
    upload = http.post("/api/documents", files=[("files", ("x.txt", "新文件。镇海新建公园。".encode(), "text/plain"))])
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert "admin token" in none.json()["error"]
    assert wrong.status_code == 403 and upload.status_code == 401
    assert documents(http) == before


def test_the_schema_declares_the_token_and_its_answers(http):
    schema = http.get("/openapi.json").json()
    delete = schema["paths"]["/api/documents/{doc_id}"]["delete"]
    assert {"401", "403"} <= set(delete["responses"]) and delete["security"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_a_host_name_the_server_does_not_serve_is_refused_reads_included(http):
    for request in (http.build_request("GET", "/api/documents"), http.build_request("GET", "/"),
                    http.build_request("POST", "/api/search", json={"question": "镇海GDP"})):
        request.headers["Host"] = "attacker.example:7860"
        answer = http.send(request)
        assert answer.status_code == 403 and "QA_ALLOWED_HOSTS" in answer.json()["error"]
    assert http.get("/api/health", headers={"Host": "localhost"}).status_code == 200


def test_a_page_of_another_origin_gets_no_cors_answer_and_cannot_write_even_with_the_token(http):
    evil = {"Origin": "http://127.0.0.1:9"}
    before = documents(http)
    preflight = http.options(f"/api/documents/{before[0]}", headers={**evil, "Access-Control-Request-Method": "DELETE"})
    assert preflight.status_code == 403 and not any(h.startswith("access-control") for h in preflight.headers)
    gradio_preflight = http.options("/gradio_api/info", headers={**evil, "Access-Control-Request-Method": "GET"})
    assert not any(h.startswith("access-control") for h in gradio_preflight.headers)
    read = http.get("/config", headers=evil)
    assert "access-control-allow-origin" not in read.headers and "access-control-allow-credentials" not in read.headers
    delete = http.delete(f"/api/documents/{before[0]}", headers={**evil, **ADMIN})
    upload = http.post("/api/documents", headers={**evil, **ADMIN},
                       files=[("files", ("x.txt", "新文件。镇海新建公园。".encode(), "text/plain"))])
    assert delete.status_code == 403 and upload.status_code == 403 and "origin" in delete.json()["error"]
    assert documents(http) == before


def test_a_body_sent_in_pieces_is_cut_off_at_the_limit(http):
    def pieces():
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 8192
        yield b'"}'
    answer = http.post("/api/search", content=pieces(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "byte limit" in answer.json()["error"]


def test_trace_is_405_and_an_unknown_id_is_echoed_short(http):
    assert http.request("TRACE", "/").status_code == 405
    long_id = "x" * 60_000
    answer = http.delete(f"/api/documents/{long_id}", headers=ADMIN)
    assert answer.status_code in (404, 414) and len(answer.content) < 1000


def test_a_cross_origin_page_in_chromium_cannot_delete_or_upload(server, tmp_path):
    from playwright.sync_api import sync_playwright
    target = server.rstrip("/")
    doc = httpx.get(target + "/api/documents").json()["documents"][0]["id"]
    page_html = f"""<html><body><script>
      window.results = [];
      fetch('{target}/api/documents/{doc}', {{method: 'DELETE', headers: {{'Authorization': 'Bearer test-admin-token'}}}})
        .then(r => results.push('delete ' + r.status)).catch(e => results.push('delete blocked'));
      const form = new FormData(); form.append('files', new Blob(['镇海新建公园。']), 'x.txt');
      fetch('{target}/api/documents', {{method: 'POST', mode: 'no-cors', body: form}})
        .then(r => results.push('upload sent')).catch(e => results.push('upload blocked'));
    </script></body></html>""".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args):
            pass
    port = free_port()
    other = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    before = sorted(d["id"] for d in httpx.get(target + "/api/documents").json()["documents"])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("window.results.length == 2", timeout=20_000)
            results = page.evaluate("window.results")
            browser.close()
    finally:
        other.shutdown()
    time.sleep(1)
    after = sorted(d["id"] for d in httpx.get(target + "/api/documents").json()["documents"])
    assert "delete blocked" in results and after == before


def test_the_server_makes_a_token_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "index" / "admin-token"
    token, made = admin_token(None, path)
    again, made_again = admin_token(None, path)
    assert made and not made_again and token == again and len(token) >= 32
    assert path.stat().st_mode & 0o077 == 0
    assert admin_token("chosen", path) == ("chosen", False)
    assert bearer_ok(f"Bearer {token}", token) and not bearer_ok("Bearer nope", token) and not bearer_ok(None, token)
    assert hostname("[::1]:7860") == "::1" and hostname("LocalHost:80") == "localhost"


def bomb(path, inflated_mb: int):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"0" * 2**20
            for _ in range(inflated_mb):
                part.write(block)
    return path


def test_a_zip_bomb_docx_is_refused_from_its_directory_at_once(tmp_path):
    path = bomb(tmp_path / "bomb.docx", 300)
    assert path.stat().st_size < 2 * 2**20
    started = time.monotonic()
    with pytest.raises(IngestError, match="zip bomb"):
        extract(path)
    assert time.monotonic() - started < 1.0
    check_zip(bomb(tmp_path / "fine.docx", 1))   # a small one passes the check


def test_an_upload_over_the_passage_limit_is_refused_naming_the_setting(tmp_path):
    from qa.documents.library import add
    big = tmp_path / "big.txt"
    big.write_text("大文件\n\n" + "\n\n".join(f"第{i}段：镇海区第{i}个项目完成投资{i}亿元。" * 12 for i in range(40)),
                   encoding="utf-8")
    refused, = add(tmp_path / "data", [big], max_passages=10)
    assert refused.status == "error" and "QA_MAX_UPLOAD_PASSAGES" in refused.message and "reform-qa add" in refused.message
    added, = add(tmp_path / "data", [big])
    assert added.status == "added"


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs (the tests run as root, here and in CI), unmounted after the test."""
    import subprocess
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_keeps_the_index_as_it_was_leaves_no_half_build_and_later_asks_answer(corpus, small_disk):
    from conftest import HashEncoder
    from qa import Engine
    index_dir = small_disk / "index"

    def open_engine():
        return Engine(data_dir=corpus, index_dir=index_dir, encoder=HashEncoder(), progress=False)
    before = open_engine().listing()
    segments = sorted((index_dir / "segments").iterdir())
    filler = small_disk / "filler"
    free = lambda: __import__("shutil").disk_usage(small_disk).free
    filler.write_bytes(b"\0" * max(free() - 24 * 1024, 0))          # the disk is full but for 24 KB
    big = corpus / "宁海年鉴.txt"
    big.write_text("宁海年鉴\n\n" + "\n\n".join(f"宁海县第{i}个项目建成，接待游客{i}万人次。" * 8 for i in range(300)),
                   encoding="utf-8")
    engine = open_engine()
    assert engine.listing().fingerprint == before.fingerprint           # the old index, still answering
    assert "could not write the index" in engine.report.not_written and "free space" in engine.report.not_written
    assert sorted((index_dir / "segments").iterdir()) == segments      # no half-written segment left
    assert "1021.6亿元" in engine.ask("2019年地区生产总值是多少", k=3, doc_ids=["report"]).hits[0].text
    assert any("could not write the index" in n for n in engine.report.notices())
    filler.unlink()
    fixed = open_engine()
    assert "宁海年鉴" in fixed.listing().by_id and not fixed.report.not_written
