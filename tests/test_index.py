"""The local index folder: a manifest of per-document segments; opening writes nothing, a write adds or
drops one document's folder, and what changed is all that is embedded."""
import json

import numpy as np
import pytest

from qa.engine import Engine
from qa.stores.local import LocalStore, StoreFormatError


def open_engine(corpus, index_dir, encoder, update="add"):
    return Engine(data_dir=corpus, index_dir=index_dir, encoder=encoder, progress=False, update=update)


def test_round_trip_keeps_chunks_vectors_and_manifest(corpus, tmp_path, encoder):
    built = open_engine(corpus, tmp_path / "ix", encoder).store
    loaded = LocalStore.open(tmp_path / "ix", "hash-encoder", 64)
    assert loaded.chunks == built.chunks and np.allclose(loaded.embeddings, built.embeddings)
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["model"] == "hash-encoder" and manifest["dim"] == 64 and manifest["format"] == 2
    assert loaded.listing() == built.listing()


def test_opening_writes_nothing(corpus, tmp_path):
    store = LocalStore.open(tmp_path / "ix", "hash-encoder", 64)
    assert store.listing().count == 0 and not (tmp_path / "ix").exists()


def test_unchanged_corpus_is_reused_without_embedding(corpus, tmp_path, encoder):
    open_engine(corpus, tmp_path / "ix", encoder)
    before = encoder.texts
    assert open_engine(corpus, tmp_path / "ix", encoder).report.embedded == 0
    assert encoder.texts == before


def test_adding_a_document_embeds_and_writes_only_its_chunks(corpus, tmp_path, encoder):
    first = open_engine(corpus, tmp_path / "ix", encoder).listing()
    folders = set((tmp_path / "ix" / "segments").iterdir())
    (corpus / "new.txt").write_text("新文件\n\n新的段落讲述了城市更新的做法和成效。\n", encoding="utf-8")
    before = encoder.texts
    second = open_engine(corpus, tmp_path / "ix", encoder).listing()
    assert encoder.texts - before == second.passages["new"] == second.count - first.count
    assert len(set((tmp_path / "ix" / "segments").iterdir()) - folders) == 1


def test_a_removed_document_added_back_embeds_nothing(corpus, tmp_path, encoder):
    engine = open_engine(corpus, tmp_path / "ix", encoder)
    (tmp_path / "x.txt").write_text("新文件\n\n新的段落讲述了城市更新的做法和成效。\n", encoding="utf-8")
    assert engine.add([tmp_path / "x.txt"]) == 1
    engine.remove("x")
    assert "x" not in engine.listing().by_id and not engine.search("城市更新的做法")[0].doc_id == "x"
    assert engine.add([tmp_path / "x.txt"]) == 0 and "x" in engine.listing().by_id


def test_another_model_is_embedded_again(corpus, tmp_path, encoder):
    open_engine(corpus, tmp_path / "ix", encoder)
    other = type(encoder)()
    other.name = "other-model"
    engine = open_engine(corpus, tmp_path / "ix", other)
    assert engine.listing().model == "other-model" and other.texts == engine.listing().count


def test_a_failed_embedding_leaves_the_previous_index_usable(corpus, tmp_path, encoder):
    good = open_engine(corpus, tmp_path / "ix", encoder).listing()
    (corpus / "new.txt").write_text("新文件\n\n这一段会让编码器失败。\n", encoding="utf-8")

    class Broken(type(encoder)):
        def encode(self, texts, query=False):
            raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        open_engine(corpus, tmp_path / "ix", Broken())
    assert LocalStore.open(tmp_path / "ix", "hash-encoder", 64).listing() == good


def test_an_unknown_format_is_refused_until_rebuilt(corpus, tmp_path, encoder):
    open_engine(corpus, tmp_path / "ix", encoder)
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(StoreFormatError, match="--rebuild"):
        open_engine(corpus, tmp_path / "ix", encoder)
    assert open_engine(corpus, tmp_path / "ix", encoder, update="rebuild").listing().count


def test_an_index_of_the_first_format_is_replaced_on_first_open(corpus, tmp_path, encoder):
    (tmp_path / "ix" / "build-old").mkdir(parents=True)
    (tmp_path / "ix" / "CURRENT").write_text("build-old")
    engine = open_engine(corpus, tmp_path / "ix", encoder)
    assert engine.report.added and engine.listing().count
    assert not (tmp_path / "ix" / "CURRENT").exists() and not list((tmp_path / "ix").glob("build-*"))
