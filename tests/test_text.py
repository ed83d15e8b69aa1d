"""Normalisation: width, script and case, with OpenCC called only when it could change something."""
from qa.text import names_in, normalize, romanized_names


def test_traditional_characters_and_phrases_become_simplified():
    assert normalize("鎮海區經濟") == "镇海区经济"
    assert normalize("反覆思量") == "反复思量"   # a phrase entry: 覆 alone is left as it is


def test_full_width_and_case_are_folded():
    assert normalize("ＧＤＰ１０２１．６亿元") == "gdp1021.6亿元"


def test_simplified_text_passes_unchanged():
    text = "镇海区经济发展 城乡居民收入倍差缩小至1.684以内"
    assert normalize(text) == text


def test_pinyin_names_in_an_english_question_map_to_the_corpus_names():
    names = romanized_names(["林斌：扛起新担当", "张国锋：深化“六大变革”江北实践", "镇海"])
    assert names_in("What did Lin Bin say about Jiangbei?", names) == ["林斌", "江北"]
    assert names_in("How did Zhang Guofeng's district reform?", names) == ["张国锋"]
    assert names_in("What is the population of Tokyo?", names) == []
