"""The glossary: synonym groups from a plain file, matched in questions, shown and searched."""
from qa.glossary import Glossary


def glossary(tmp_path, text):
    path = tmp_path / "glossary.tsv"
    path.write_text(text, encoding="utf-8")
    return Glossary.load(path)


def test_file_format_comments_blank_lines_and_groups(tmp_path):
    g = glossary(tmp_path, "# formal term first, then what people say\n\n地区生产总值\tGDP\t经济总量\n一般公共预算收入\t财政收入\n")
    assert len(g) == 2 and g.groups[0] == ("地区生产总值", "GDP", "经济总量")
    assert len(Glossary.load(tmp_path / "missing.tsv")) == 0


def test_a_question_word_expands_to_the_forms_the_corpus_uses(tmp_path):
    g = glossary(tmp_path, "地区生产总值\tGDP\t经济总量\n")
    known = {"地区生产总值"}.__contains__
    expansion = g.expand("2019年镇海GDP是多少？", known)
    assert expansion.pairs == (("GDP", "地区生产总值"),)
    assert expansion.notice() == "同义扩展：GDP→地区生产总值"
    assert expansion.forms("gdp") == ("地区生产总值",)


def test_english_matches_whole_words_in_any_case_and_chinese_as_substrings(tmp_path):
    g = glossary(tmp_path, "出口总额\texports\t外贸出口\n")
    known = lambda term: term == "出口总额"
    assert g.expand("How did EXPORTS grow?", known).added == ("出口总额",)
    assert g.expand("exportsx and reexports", known).added == ()
    assert g.expand("镇海外贸出口增长多少", known).added == ("出口总额",)


def test_nothing_is_added_that_the_question_has_or_the_corpus_lacks(tmp_path):
    g = glossary(tmp_path, "地区生产总值\tGDP\t经济总量\n")
    assert g.expand("地区生产总值和GDP", lambda t: True).added == ("经济总量",)
    assert g.expand("GDP", lambda t: False).pairs == ()


def test_the_shipped_glossary_is_large_and_each_term_is_in_one_group():
    from pathlib import Path
    g = Glossary.load(Path(__file__).resolve().parent.parent / "qa" / "vocabulary" / "glossary.tsv")
    terms = [t.lower() for group in g.groups for t in group]
    assert len(g) >= 150 and len(terms) == len(set(terms))


def test_the_engine_expands_shows_and_finds(engine, tmp_path):
    answer = engine.ask("2019年GDP多少", k=1)                 # the product's glossary serves every corpus
    assert any(n.startswith("同义扩展：GDP→地区生产总值") for n in answer.notices) and "1021.6亿元" in answer.hits[0].text
    (engine.settings.data_dir / "glossary.tsv").write_text("一号改革工程\t头号改革\n", encoding="utf-8")
    engine.sync()                                              # and a corpus may add its own
    answer = engine.ask("头号改革是什么", k=1)
    assert "同义扩展：头号改革→一号改革工程" in answer.notices and "一号改革工程" in answer.hits[0].text


def test_english_words_and_places_expand_one_way_to_chinese():
    from qa.glossary import Glossary
    g = Glossary([], [(("growth",), ("增长", "增速")), (("Hefei",), ("合肥",))])
    known = lambda term: True
    assert g.expand("Hefei GDP growth in 2023", known).added == ("合肥", "增长", "增速")
    assert g.expand("合肥增长", known).added == ()               # Chinese is not expanded through them
