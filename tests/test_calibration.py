"""Calibration: per-model constants, stored beside the index, read back, and fitted on questions."""
import json

import pytest

from qa.ranking import calibration
from qa.ranking.calibration import Calibration
from qa.evaluate import Question, calibrate


def test_dense_scores_map_each_models_cosines_to_0_1():
    c = Calibration(dense_floor=0.8, dense_ceiling=0.9, cross_floor=0.7, cross_ceiling=0.8)
    assert c.dense_score(0.85) == pytest.approx(0.5) and c.dense_score(0.95) == 1.0 and c.dense_score(0.5) == 0.0
    assert c.dense_score(0.75, cross_lingual=True) == pytest.approx(0.5)


def test_stored_per_model_beside_the_index_and_shipped_default_otherwise(tmp_path):
    assert calibration.load(tmp_path, "some-model") == Calibration()           # untuned fallback
    assert calibration.load(tmp_path, "multilingual-e5-small").fitted          # shipped
    calibration.save(tmp_path, "some-model", Calibration(bm25_weight=0.7, fitted=True))
    calibration.save(tmp_path, "other", Calibration(bm25_weight=0.2))
    assert calibration.load(tmp_path, "some-model").bm25_weight == 0.7
    assert set(json.loads((tmp_path / "calibration.json").read_text())) == {"some-model", "other"}


def test_fitting_answers_the_answerable_and_is_used_after_a_restart(engine):
    questions = [Question("1", "森林覆盖率达到多少", "23.1%", "report", "number", "dev"),
                 Question("2", "城乡居民收入倍差", "1.62", "jiangbei", "number", "dev"),
                 Question("3", "一号改革工程", "一号改革工程", "interview", "programme", "dev"),
                 Question("4", "如何申请美国签证", None, None, "unanswerable", "dev", "unanswerable")]
    fitted = calibrate(engine, questions)
    assert fitted.fitted and 0.3 <= fitted.bm25_weight <= 0.9 and "fitted on 4 questions" in fitted.note
    assert "answer rate 1.000" in fitted.note
    calibration.save(engine.settings.index_dir, engine.encoder.name, fitted)
    from qa import Engine
    again = Engine(data_dir=engine.settings.data_dir, index_dir=engine.settings.index_dir, encoder=engine.encoder,
                   progress=False)
    assert again.calibration == fitted
