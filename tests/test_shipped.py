"""The shipped corpus ships with its vectors: a new data home answers its first question without embedding."""
import shutil

import qa
from qa.documents.folder import load_corpus
from qa.settings import SHIPPED_CORPUS
from qa.indexing.vectors import shipped_vectors


def test_every_shipped_chunk_has_a_shipped_vector():
    _, chunks = load_corpus(SHIPPED_CORPUS)
    vectors = shipped_vectors(SHIPPED_CORPUS, qa.DEFAULT_MODEL, 384)
    missing = [c.id for c in chunks if c.id not in vectors]
    assert not missing, f"{len(missing)} chunks lack a vector: run `reform-qa index --ship-vectors`"
    assert shipped_vectors(SHIPPED_CORPUS, "another-model", 384) == {} == shipped_vectors(SHIPPED_CORPUS, qa.DEFAULT_MODEL, 768)


def test_a_new_home_embeds_nothing_and_an_added_document_only_its_own_chunks(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SHIPPED_CORPUS, data, ignore=shutil.ignore_patterns("eval"))
    engine = qa.Engine(data_dir=data, index_dir=tmp_path / "ix", progress=False)
    assert engine.report.embedded == 0 and len(engine.store.chunks) == len(load_corpus(SHIPPED_CORPUS)[1])
    (data / "new.txt").write_text("象山简讯\n\n象山县远洋渔业捕捞量达到42万吨，居全省首位。", encoding="utf-8")
    engine.sync()
    assert engine.report.embedded == sum(1 for c in engine.store.chunks if c.doc_id == "new") == 1
