"""Normalisation: width, script and case, with OpenCC called only when it could change something."""
from qa.text import normalize


def test_traditional_characters_and_phrases_become_simplified():
    assert normalize("鎮海區經濟") == "镇海区经济"
    assert normalize("反覆思量") == "反复思量"   # a phrase entry: 覆 alone is left as it is


def test_full_width_and_case_are_folded():
    assert normalize("ＧＤＰ１０２１．６亿元") == "gdp1021.6亿元"


def test_simplified_text_passes_unchanged():
    text = "镇海区经济发展 城乡居民收入倍差缩小至1.684以内"
    assert normalize(text) == text
