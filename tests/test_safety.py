"""Nothing is lost or half-written: a killed build leaves the old index, writers queue, readers see whole indexes."""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import HashEncoder
from qa.stores.local import LocalStore, open_local
from qa.documents.library import add

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

SLOW_WRITER = """
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
import faiss
from pathlib import Path
from conftest import HashEncoder
from qa.stores.local import open_local

real_write = faiss.write_index
def stalled_write(index, path):
    real_write(index, path)
    print("WRITING", flush=True)   # the build folder is half written: killed here
    time.sleep(60)
faiss.write_index = stalled_write
open_local(Path({data!r}), Path({index!r}), HashEncoder(), progress=False)
"""


def test_killing_a_build_mid_write_leaves_the_previous_index_loadable(corpus, tmp_path):
    index_dir = tmp_path / "index"
    before = open_local(corpus, index_dir, HashEncoder(), progress=False)
    (corpus / "new.txt").write_text("新增文档\n\n镇海区新建一座图书馆，藏书五十万册。", encoding="utf-8")
    script = SLOW_WRITER.format(root=str(ROOT), tests=str(TESTS), data=str(corpus), index=str(index_dir))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "WRITING"
    finally:
        child.kill()
        child.wait(timeout=10)
    assert len(list(index_dir.glob("build-*"))) == 2            # the old build and the half-written one
    survivor = LocalStore.load(index_dir)
    assert survivor.fingerprint == before.fingerprint and len(survivor.chunks) == len(before.chunks)
    after = open_local(corpus, index_dir, HashEncoder(), progress=False)   # the next update completes
    assert any(c.doc_id == "new" for c in after.chunks)
    assert after.embedded == 0      # its vector was kept as it was made (pending-vectors): nothing embeds twice
    assert len(list(index_dir.glob("build-*"))) == 2            # the half-written folder is cleaned up


def test_concurrent_adds_and_searches_never_see_a_partial_index(corpus, tmp_path):
    index_dir = tmp_path / "index"
    open_local(corpus, index_dir, HashEncoder(), progress=False)
    errors, loads = [], []

    def writer(name):
        try:
            for i in range(3):
                path = tmp_path / f"{name}-{i}.txt"
                path.write_text(f"{name}文档{i}\n\n{name}第{i}号通报：推进改革项目{i}个，投资{i}亿元。", encoding="utf-8")
                add(corpus, [path])
                open_local(corpus, index_dir, HashEncoder(), progress=False)
        except Exception as e:   # noqa: BLE001 - any failure is the test's failure
            errors.append(repr(e))

    def reader(stop):
        from qa.engine import Engine
        while not stop.is_set():
            try:
                index = LocalStore.load(index_dir)
                assert index.vectors.shape[0] == len(index.chunks) == index.dense.ntotal
                engine = Engine(data_dir=corpus, index_dir=index_dir, encoder=HashEncoder(), opened=index)
                assert engine.search("改革", k=3)
                loads.append(len(index.chunks))
            except Exception as e:   # noqa: BLE001
                errors.append(repr(e))

    stop = threading.Event()
    readers = [threading.Thread(target=reader, args=(stop,)) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in ("甲", "乙")]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    stop.set()
    for t in readers:
        t.join(timeout=30)
    assert not errors, errors[:3]
    assert loads and len(set(loads)) > 1                        # readers saw the index grow
    catalog = json.loads((corpus / "catalog.json").read_text(encoding="utf-8"))
    assert {f"{n}-{i}" for n in ("甲", "乙") for i in range(3)} <= set(catalog)
    final = open_local(corpus, index_dir, HashEncoder(), progress=False)
    assert {c.doc_id for c in final.chunks} >= set(catalog)


SLOW_EMBEDDER = """
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from pathlib import Path
from conftest import HashEncoder
from qa.stores.local import open_local

class Slow(HashEncoder):
    def encode(self, texts, query=False):
        out = super().encode(texts, query)
        print("BATCH", flush=True)
        time.sleep(0.5)
        return out
open_local(Path({data!r}), Path({index!r}), Slow(), progress=False)
"""


def test_a_build_killed_mid_embedding_resumes_without_embedding_again_what_it_had_done(corpus, tmp_path):
    from qa.stores.local import BATCH
    index_dir = tmp_path / "index"
    open_local(corpus, index_dir, HashEncoder(), progress=False)
    (corpus / "long.txt").write_text("长文\n\n" + "\n\n".join(f"镇海区第{i}个项目完成投资{i}亿元，带动就业{i}百人。" * 6
                                                              for i in range(3 * BATCH)), encoding="utf-8")
    script = SLOW_EMBEDDER.format(root=str(ROOT), tests=str(TESTS), data=str(corpus), index=str(index_dir))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "BATCH" and child.stdout.readline().strip() == "BATCH"
        time.sleep(0.8)             # the second batch is kept (after its encode) while the third is embedded
    finally:
        child.kill()
        child.wait(timeout=10)
    counting = HashEncoder()
    after = open_local(corpus, index_dir, counting, progress=False)
    new = sum(1 for c in after.chunks if c.doc_id == "long")
    assert new >= 3 * BATCH - 10 and counting.texts <= new - 2 * BATCH
    assert not list((index_dir / "pending-vectors").glob("*.npz"))    # cleared once the build is saved
