"""Start-up: the port answers at once with a page that says what is loading, searches answer as soon as
the index is read (before the chat page has loaded; writes wait), the terminal prints each step with its
time, and the page becomes the app. How soon against the CLI is `reform-qa bench --waits`'s ratio."""
import os
import shutil
import subprocess
import sys
import time

import httpx

from conftest import ROOT, free_port


def test_the_port_answers_with_a_starting_page_that_becomes_the_app(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(os.path.join(ROOT, "data"), data, ignore=shutil.ignore_patterns("eval"))
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "QA_INDEX_DIR": str(tmp_path / "index"),
           "QA_DATA_DIR": str(data), "QA_ADMIN_TOKEN": "startup-token", "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(tmp_path / "app.log", "w+")
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "app.py")], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    early = write = None
    try:
        seen, deadline = [], time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = httpx.get(base, timeout=10)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            seen.append(page.status_code)
            if page.status_code == 503:
                starting = page
                health = httpx.get(base + "api/health", timeout=10)
                search = httpx.post(base + "api/search", json={"question": "2019年镇海GDP是多少？"}, timeout=30)
                if search.status_code == 200 and httpx.get(base, timeout=10).status_code == 503:
                    early = search                                        # answered before the chat page
                    write = httpx.post(base + "api/documents", timeout=10)
            if page.status_code == 200:
                break
            time.sleep(0.2)
        assert seen and seen[0] == 503 and seen[-1] == 200, seen          # the page first, then the app
        assert "reform-qa 正在启动" in starting.text and starting.headers["retry-after"] == "2"
        assert health.status_code == 503 and health.json()["status"] == "starting" and "step" in health.json()
        assert "gradio" in page.text.lower()                               # the chat itself now
        assert early is not None, "no search answered while the chat page was still loading"
        assert "1021.6" in early.json()["hits"][0]["text"]                 # searches answer while gradio loads,
        assert write.status_code == 503 and write.json()["status"] == "starting"   # writes wait for the app
        log.seek(0)
        printed = log.read()
        assert "正在加载模型、读取索引… (" in printed and "已就绪：对话 http://127.0.0.1:" in printed, printed[-2000:]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
