"""The persisted index: round trip, reuse, incremental rebuild, atomic writes, manifest checks."""
import json

import numpy as np
import pytest

from qa.stores.local import CURRENT, LocalStore, StoreFormatError, open_local


def test_round_trip_keeps_chunks_vectors_and_manifest(corpus, tmp_path, encoder):
    built = open_local(corpus, tmp_path / "ix", encoder, progress=False)
    loaded = LocalStore.load(tmp_path / "ix")
    assert loaded.chunks == built.chunks
    assert np.allclose(loaded.vectors, built.vectors)
    build = tmp_path / "ix" / (tmp_path / "ix" / CURRENT).read_text()
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["model"] == "hash-encoder" and manifest["dim"] == 64
    assert manifest["fingerprint"] == built.fingerprint and manifest["format"] == 1


def test_unchanged_corpus_is_reused_without_embedding(corpus, tmp_path, encoder):
    open_local(corpus, tmp_path / "ix", encoder, progress=False)
    before = encoder.texts
    open_local(corpus, tmp_path / "ix", encoder, progress=False)
    assert encoder.texts == before


def test_adding_a_document_embeds_only_its_chunks(corpus, tmp_path, encoder):
    first = open_local(corpus, tmp_path / "ix", encoder, progress=False)
    (corpus / "new.txt").write_text("新文件\n\n新的段落讲述了城市更新的做法和成效。\n", encoding="utf-8")
    before = encoder.texts
    second = open_local(corpus, tmp_path / "ix", encoder, progress=False)
    new_chunks = [c for c in second.chunks if c.doc_id == "new"]
    assert encoder.texts - before == len(new_chunks) == len(second.chunks) - len(first.chunks)


def test_another_model_triggers_a_rebuild(corpus, tmp_path, encoder):
    open_local(corpus, tmp_path / "ix", encoder, progress=False)
    other = type(encoder)()
    other.name = "other-model"
    index = open_local(corpus, tmp_path / "ix", other, progress=False)
    assert index.model == "other-model" and other.texts == len(index.chunks)


def test_failed_build_leaves_the_previous_index_usable(corpus, tmp_path, encoder):
    good = open_local(corpus, tmp_path / "ix", encoder, progress=False)
    (corpus / "new.txt").write_text("新文件\n\n这一段会让编码器失败。\n", encoding="utf-8")

    class Broken(type(encoder)):
        def encode(self, texts, query=False):
            raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        open_local(corpus, tmp_path / "ix", Broken(), progress=False)
    assert LocalStore.load(tmp_path / "ix").chunks == good.chunks


def test_unknown_format_version_says_how_to_rebuild(corpus, tmp_path, encoder):
    open_local(corpus, tmp_path / "ix", encoder, progress=False)
    build = tmp_path / "ix" / (tmp_path / "ix" / CURRENT).read_text()
    manifest = json.loads((build / "manifest.json").read_text())
    (build / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(StoreFormatError, match="--rebuild"):
        LocalStore.load(tmp_path / "ix")


def test_missing_index_is_built_on_first_use(corpus, tmp_path, encoder):
    with pytest.raises(StoreFormatError, match="python -m qa index"):
        LocalStore.load(tmp_path / "nothing")
    assert open_local(corpus, tmp_path / "nothing", encoder, progress=False).chunks
