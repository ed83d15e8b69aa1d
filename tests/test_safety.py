"""Nothing is lost or half-written: a killed write leaves the old index, writers queue, readers see whole
documents, a killed embedding resumes, and two processes adding at once each embed only their own files."""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import HashEncoder
from qa.engine import Engine
from qa.indexing.vectors import BATCH
from qa.stores.local import LocalStore

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

SLOW_WRITER = """
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from pathlib import Path
from conftest import HashEncoder
import qa.stores.segments as segments
from qa.engine import Engine

real_write = segments.write_manifest
def stalled_write(index_dir, manifest):
    print("WRITING", flush=True)   # the new document's folder is written, the manifest not yet: killed here
    time.sleep(60)
segments.write_manifest = stalled_write
Engine(data_dir=Path({data!r}), index_dir=Path({index!r}), encoder=HashEncoder(), progress=False)
"""


def open_engine(corpus, index_dir, encoder=None, update="add"):
    return Engine(data_dir=corpus, index_dir=index_dir, encoder=encoder or HashEncoder(), progress=False,
                  update=update)


def segments(index_dir):
    return sorted(p.name for p in (index_dir / "segments").glob("seg-*"))


def test_killing_a_write_before_its_manifest_leaves_the_previous_index_loadable(corpus, tmp_path):
    index_dir = tmp_path / "index"
    before = open_engine(corpus, index_dir).listing()
    (corpus / "new.txt").write_text("新增文档\n\n镇海区新建一座图书馆，藏书五十万册。", encoding="utf-8")
    script = SLOW_WRITER.format(root=str(ROOT), tests=str(TESTS), data=str(corpus), index=str(index_dir))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "WRITING"
    finally:
        child.kill()
        child.wait(timeout=10)
    assert len(segments(index_dir)) == len(before.documents) + 1      # the half-done write's folder is there
    survivor = LocalStore.open(index_dir, "hash-encoder", 64).listing()
    assert survivor.fingerprint == before.fingerprint and survivor.count == before.count
    counting = HashEncoder()
    after = open_engine(corpus, index_dir, counting)                   # the next open completes it
    assert "new" in after.listing().by_id
    assert counting.texts == 0 and after.report.embedded == 0         # its vectors were kept as they were made
    assert len(segments(index_dir)) == len(after.listing().documents)  # the stray folder is cleaned up


def test_concurrent_adds_and_searches_never_see_a_partial_document(corpus, tmp_path):
    index_dir = tmp_path / "index"
    open_engine(corpus, index_dir)
    errors, seen, embedded = [], [], {}

    def writer(name):
        try:
            encoder = HashEncoder()
            engine = open_engine(corpus, index_dir, encoder, update="none")
            for i in range(3):
                path = tmp_path / f"{name}-{i}.txt"
                path.write_text(f"{name}文档{i}\n\n{name}第{i}号通报：推进改革项目{i}个，投资{i}亿元。", encoding="utf-8")
                engine.add([path])
                time.sleep(0.2)
            embedded[name] = encoder.texts
        except Exception as e:   # noqa: BLE001 - any failure is the test's failure
            errors.append(repr(e))

    def reader(stop):
        engine = open_engine(corpus, index_dir, update="none")
        while not stop.is_set():
            try:
                engine.refresh()                     # what the writers committed so far, read in
                store = engine.store
                assert store.embeddings.shape[0] == len(store.chunks) == store.table.dense.ntotal
                assert store.listing().count == int(store.table.postings.alive.sum())
                assert engine.search("改革", k=3)
                seen.append(store.listing().count)
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
    assert seen and len(set(seen)) > 1                                 # readers saw the index grow
    assert embedded == {"甲": 3, "乙": 3}              # a passage for each of its own 3 files, none of the other's
    catalog = json.loads((corpus / "catalog.json").read_text(encoding="utf-8"))
    final = LocalStore.open(index_dir, "hash-encoder", 64).listing()
    assert {f"{n}-{i}" for n in ("甲", "乙") for i in range(3)} <= set(final.by_id) <= set(catalog) | {"report", "interview", "jiangbei"}


SLOW_EMBEDDER = """
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from pathlib import Path
from conftest import HashEncoder
from qa.engine import Engine

class Slow(HashEncoder):
    def encode(self, texts, query=False):
        out = super().encode(texts, query)
        print("BATCH", flush=True)
        time.sleep(0.5)
        return out
Engine(data_dir=Path({data!r}), index_dir=Path({index!r}), encoder=Slow(), progress=False)
"""


def test_a_build_killed_mid_embedding_resumes_without_embedding_again_what_it_had_done(corpus, tmp_path):
    index_dir = tmp_path / "index"
    open_engine(corpus, index_dir)
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
    after = open_engine(corpus, index_dir, counting)
    new = after.listing().passages["long"]
    assert new >= 3 * BATCH - 10 and counting.texts <= new - 2 * BATCH
    assert not list((index_dir / "pending-vectors").glob("*.npz"))    # cleared once the document is written
