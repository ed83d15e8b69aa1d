"""Shared fixtures: a deterministic fake encoder and a tiny three-document corpus written per test."""
import hashlib
import json
import os
import time

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"   # tests never reach for the model hub


class HashEncoder:
    """Deterministic stand-in for a sentence encoder: hashed character bigrams, L2-normalised."""
    name = "hash-encoder"
    dim = 64

    def __init__(self):
        self.calls = 0
        self.texts = 0

    def encode(self, texts, query=False):
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for i in range(max(len(text) - 1, 1)):
                out[row, int(hashlib.md5(text[i:i + 2].encode()).hexdigest(), 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


DOCS = {
    "report": "政府工作报告\n\n一、2019年工作回顾\n\n地区生产总值达到1021.6亿元，同比增长7.1%。规上工业总产值2507亿元。\n\n"
              "（一）产业发展。聚焦发展“122”千百亿级产业集群，推进生产性服\n\n务业发展。\n\n"
              "二、2020年目标\n\n地区生产总值增长6%，森林覆盖率达到23.1%。\n",
    "interview": "\n\n\n\n区委书记某某。\n\n某某：扛起新担当\n\n记者 张三\n\nB 改革是法宝\n\n"
                 "记者：改革取得了哪些成效？\n\n某某：我们推进营商环境优化提升“一号改革工程”，重点项目落地平均提速近60%。\n\n\n\n"
                 "江北三江口 (李四 摄)\n\n",
    "jiangbei": "江北专访\n\nA 城乡融合\n\n江北常住人口城镇化率达到85.6%，城乡居民收入倍差缩小至1.62。\n",
}
CATALOG = {"report": {"title": "政府工作报告", "date": "2020-05-09", "district": "镇海"},
           "interview": {"title": "某某专访", "date": "2024", "district": "镇海"},
           "jiangbei": {"title": "江北专访", "date": "2024", "district": "江北"}}


def new_document(folder, name="宁海简讯.txt"):
    """A GBK text file of a document the tiny corpus lacks (宁海, 十里红妆文化园 120万人次)."""
    path = folder / name
    path.write_bytes("宁海简讯\n\n宁海县2023年建成十里红妆文化园，接待游客120万人次。\n".encode("gbk"))
    return path


def write_corpus(data, docs, catalog):
    """A corpus folder with the given documents ({id: text}) and catalog."""
    data.mkdir(parents=True)
    for name, text in docs.items():
        (data / f"{name}.txt").write_text(text, encoding="utf-8")
    (data / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    return data


@pytest.fixture
def corpus(tmp_path):
    """A fresh data folder with three small documents and a catalog."""
    return write_corpus(tmp_path / "data", DOCS, CATALOG)


@pytest.fixture
def encoder():
    return HashEncoder()


@pytest.fixture
def engine(corpus, tmp_path, encoder):
    from qa import Engine
    return Engine(data_dir=corpus, index_dir=tmp_path / "index", encoder=encoder, progress=False)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.path.join(ROOT, "artifacts")   # screenshots of what people see, one per browser step


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc, seconds: float, log=None) -> None:
    """Wait until a server process listens on 127.0.0.1:port; fail with its log if it exits first."""
    import socket
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                if log:
                    log.seek(0)
                raise RuntimeError(f"server exited: {log.read()[-3000:] if log else proc.returncode}")
            time.sleep(0.5)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def wait_until_indexed(base: str, seconds: float) -> dict:
    """Poll a server's health until what it found pending at start is embedded; its last health."""
    import httpx
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        health = httpx.get(base + "api/health", timeout=30).json()
        if health["status"] == "ok":
            return health
        time.sleep(0.3)
    raise RuntimeError(f"{base} still indexing after {seconds} s")


@pytest.fixture
def milvus_server(tmp_path):
    """A `milvus-lite server` on a free port of 127.0.0.1 (stopped after the test); yields its address."""
    import subprocess
    port = free_port()
    server = subprocess.Popen(["milvus-lite", "server", "--data-dir", str(tmp_path / "shared.db"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


ADMIN_TOKEN = "test-admin-token"            # the session server's; writes through it need this
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real app (python app.py) on a copy of the real corpus with the offline model, on 127.0.0.1;
    stopped when the tests end. Yields its base URL."""
    import shutil
    import subprocess
    import sys
    port = free_port()
    data = tmp_path_factory.mktemp("corpus") / "data"   # uploads in these tests must not touch data/
    shutil.copytree(os.path.join(ROOT, "data"), data)
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "QA_INDEX_DIR": str(tmp_path_factory.mktemp("ix")),
           "QA_ADMIN_TOKEN": ADMIN_TOKEN,
           "QA_DATA_DIR": str(data), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(tmp_path_factory.mktemp("log") / "app.log", "w+")
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "app.py")], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    wait_for_port(port, proc, 180, log)
    wait_until_indexed(f"http://127.0.0.1:{port}/", 180)
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def http(server):
    """An HTTP client of the session server, as a script would call it."""
    import httpx
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


@pytest.fixture
def browser_page(server):
    """Open the app in Debian's headless chromium (Playwright's own browser download fails here);
    call it with the viewport height, get a page (clipboard readable, for the copy buttons)."""
    from playwright.sync_api import sync_playwright
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])

        def open_page(height: int = 900, path: str = "", scheme: str = "light", offline: bool = False):
            """A page at server + path, in the light or dark scheme; offline: every request to anywhere but
            the server is refused (and listed in page.refused), as on a machine without internet."""
            context = browser.new_context(viewport={"width": 1280, "height": height}, color_scheme=scheme)
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
            page = context.new_page()
            page.refused = []
            if offline:
                def only_local(route):
                    if route.request.url.startswith(server):
                        return route.continue_()
                    page.refused.append(route.request.url)
                    return route.abort()
                context.route("**/*", only_local)
            page.goto(server + path)
            return page
        try:
            yield open_page
        finally:
            browser.close()
