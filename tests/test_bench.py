"""The benchmark's building blocks: scaled corpora of the asked size, stage timings, bandwidth."""
from qa.bench.measure import copy_bandwidth, percentiles
from qa.bench.scales import STAGES, _latencies
from qa.bench.synthetic import write_scaled_corpus
from qa.documents.folder import load_corpus
from qa.settings import SHIPPED_CORPUS

DATA = SHIPPED_CORPUS


def test_a_scaled_corpus_has_about_the_asked_number_of_chunks_made_of_real_sentences(tmp_path):
    write_scaled_corpus(DATA, tmp_path / "scaled", 1500)
    _, chunks = load_corpus(tmp_path / "scaled")
    assert 1425 <= len(chunks) <= 1575
    _, real = load_corpus(DATA)
    assert any(chunks[0].text[:12] in c.text for c in real)


def test_latency_is_reported_for_every_stage(engine):
    result = _latencies(engine, ["地区生产总值", "城镇化率", "一号改革工程", "森林覆盖率"])
    assert set(result) == {"total", "retrieval", *STAGES}
    assert all(0 < v["p50_ms"] <= v["p95_ms"] for v in result.values())


def test_percentiles_and_bandwidth_are_plain_numbers():
    assert percentiles([0.001, 0.002, 0.003]) == {"p50_ms": 2.0, "p95_ms": 2.9}
    assert copy_bandwidth(mb=8) > 1e8


def test_the_encoder_is_measured_against_the_machines_compute_bound(encoder):
    from qa.bench.encoder import encoder_speed
    from qa.bench.measure import matmul_gflops
    assert matmul_gflops(256) > 0.5
    speed = encoder_speed(encoder, DATA)
    assert speed["model"] == "hash-encoder" and speed["query_p50_ms"] > 0 and speed["passages_per_s"] > 0
