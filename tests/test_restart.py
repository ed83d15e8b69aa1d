"""A server killed while it embeds: restarted, it listens before the embedding is done, continues where it
stopped (the batches made before the kill are kept), and ends with the document searchable."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx

from conftest import ROOT, free_port, wait_for_port, wait_until_indexed

PASSAGES = 500


def start(data, index, port, log):
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "QA_INDEX_DIR": str(index), "QA_DATA_DIR": str(data),
           "QA_ADMIN_TOKEN": "restart-token", "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "app.py")], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, text=True)


def embedding(base):
    health = httpx.get(base + "api/health", timeout=30).json()
    return health["status"], health["embedding"]


def test_a_server_killed_mid_embedding_restarts_at_once_and_embeds_only_what_was_left(tmp_path):
    data, index = tmp_path / "data", tmp_path / "index"
    shutil.copytree(os.path.join(ROOT, "data"), data, ignore=shutil.ignore_patterns("eval"))
    (data / "象山年鉴.txt").write_text("象山年鉴\n\n" + "\n\n".join(
        f"象山县第{i}个渔港项目建成，年卸港量增加{i}万吨，带动就业{i}百人，渔民人均增收{i}千元。" for i in range(PASSAGES)),
        encoding="utf-8")                        # added by hand: the server finds it pending at start
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    with open(tmp_path / "first.log", "w+") as log:
        first = start(data, index, port, log)
        try:
            wait_for_port(port, first, 180, log)
            deadline = time.monotonic() + 120
            while (state := embedding(base))[1].get("done", 0) < 130 and time.monotonic() < deadline:
                time.sleep(0.1)
            status, before = state
            assert status == "indexing" and 130 <= before["done"] < before["total"], state
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
    with open(tmp_path / "second.log", "w+") as log:
        second = start(data, index, port, log)
        try:
            wait_for_port(port, second, 180, log)
            health = wait_until_indexed(base, 120)
            assert health["passages"] >= PASSAGES
            found = httpx.post(base + "api/search", json={"question": "象山县第7个渔港项目年卸港量增加多少", "k": 3},
                               timeout=60).json()
            assert any("象山年鉴" == h["doc_id"] for h in found["hits"])
            statuses = json.loads((index / "uploads.json").read_text(encoding="utf-8"))
            resumed = [u for u in statuses if not u["files"] and u["state"] == "done"][-1]   # the second start's
            assert 0 < resumed["total"] <= before["total"] - 128, (before, resumed)     # only what was left
        finally:
            second.terminate()
            second.wait(timeout=20)
