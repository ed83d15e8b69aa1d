"""The learned second stage: the shipped cross-encoder is the one its card describes, reads a question and
a passage together, and decides the order and "not in the documents"; the rule stage and no stage remain."""
import shutil

import pytest

from qa.encoders import EncoderError
from qa.encoders.cross_e5 import CROSS_MODEL, CrossEncoder, checksum
from qa.settings import Settings


@pytest.fixture(scope="module")
def cross():
    return CrossEncoder()


def test_the_shipped_model_matches_its_card_and_its_checksum():
    card = (CROSS_MODEL.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert checksum(CROSS_MODEL) in card
    assert "python -m training.train" in card and CROSS_MODEL.stat().st_size < 40 * 2**20


def test_a_passage_that_answers_scores_above_ones_that_do_not(cross):
    question = "2019年镇海的地区生产总值是多少？"
    answers = "《政府工作报告》 2020 一、2019年工作回顾：全区实现地区生产总值1021.6亿元，增长6.9%。"
    target = "《政府工作报告》 2020 二、2020年目标：地区生产总值增长6%左右，一般公共预算收入增长5%。"
    elsewhere = "《林斌：扛起新担当》 2024：记者：全面深化改革是一项系统工程，请您谈谈镇海的做法？"
    p = cross.probabilities(question, [answers, target, elsewhere])
    assert p[0] > p[1] and p[0] > p[2] and 0.0 <= p.min() and p.max() <= 1.0
    assert cross.probabilities(question, []).shape == (0,)


def test_a_damaged_model_is_refused_naming_the_fix(tmp_path):
    broken = tmp_path / "cross-e5.onnx"
    shutil.copy(CROSS_MODEL.with_suffix(".json"), tmp_path / "cross-e5.json")
    broken.write_bytes(CROSS_MODEL.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(EncoderError, match="checksum.*reinstall"):
        CrossEncoder(broken)


def test_the_stage_is_a_setting_and_a_bad_one_is_named(monkeypatch):
    monkeypatch.setenv("QA_SECOND_STAGE", "off")
    assert Settings.from_env().second_stage == "off"
    monkeypatch.setenv("QA_SECOND_STAGE", "bert")
    with pytest.raises(ValueError, match="learned, rules, off"):
        Settings.from_env()


def test_off_ranks_by_the_hybrid_fusion_alone(engine, monkeypatch):
    from dataclasses import replace
    engine.settings = replace(engine.settings, second_stage="off")
    assert engine.mode() == "hybrid"
    plain = engine.ask_in_mode("森林覆盖率达到多少", "hybrid")
    assert engine.ask("森林覆盖率达到多少").hits == plain.hits
