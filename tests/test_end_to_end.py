"""End to end with the real offline model on the real corpus (shared index, built once)."""
import pytest

import qa
from qa.evaluate import evaluate, load_questions


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return qa.Engine(index_dir=tmp_path_factory.mktemp("ix"), model=qa.OFFLINE_MODEL, progress=False)


def test_gdp_question_finds_the_2019_figure_with_citation(real):
    hits = real.search("2019年镇海的地区生产总值是多少？", k=3)
    top = next(h for h in hits if "1021.6亿元" in h.text)
    assert top.doc_id == "zhenhai-2020-government-work-report"
    assert top.citation.startswith("《政府工作报告（2020年，宁波市镇海区）》（2020-05-09）第")


def test_named_programme_is_on_top(real):
    assert "一号改革工程" in real.search("一号改革工程是什么", k=1)[0].text


def test_what_did_x_say_about_y(real):
    hits = real.search("张国锋怎么谈营商环境改革", k=3)
    assert any(h.doc_id == "jiangbei-2024-zhangguofeng-interview" and "营商环境" in h.text for h in hits)


def test_hybrid_holds_the_quality_floor_on_all_gold_questions(real):
    metrics = evaluate(real, load_questions(split="all"), "hybrid")
    bm25 = evaluate(real, load_questions(split="all"), "bm25")
    assert metrics["hit@3"] >= 0.92 and metrics["mrr@10"] >= 0.85
    assert metrics["hit@3"] >= bm25["hit@3"]   # fusion must not make BM25 worse
    assert metrics["abstain_recall"] >= 0.8
