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


def test_full_width_and_chinese_numeral_years_match_as_digits_but_passages_stay_as_written():
    from qa.text import normalize
    assert normalize("２００５年，全市实现地区生产总值ＧＤＰ３８６．４７亿元") == "2005年,全市实现地区生产总值gdp386.47亿元"
    assert normalize("二〇〇三年") == "2003年" and normalize("二００三年") == "2003年"
    assert normalize("一二三四年") == "一二三四年"     # not a year of these centuries: left alone


def test_a_kind_of_place_is_not_read_as_a_place_the_documents_lack():
    from qa.ranking.rerank import constraints
    assert "镇村" not in constraints("东溪镇村集体经济收入有多少").places
    assert constraints("镇海区2019年GDP").places == frozenset({"镇海"})


def test_chinese_numeral_dates_amounts_and_percentages_match_as_digits_and_words_stay_words():
    from qa.text import normalize
    assert normalize("二〇一八年十二月二十九日") == "2018年12月29日"
    assert normalize("十一万六千六百九十四亿元") == "116694亿元" and normalize("三点五万人") == "3.5万人"
    assert normalize("增长百分之九点一") == "增长9.1%" and normalize("一百零五亿元") == "105亿元"
    for words in ("一些人", "千人计划", "一个人", "十四五", "第十一届"):   # no amount: left as written
        assert normalize(words) == words
