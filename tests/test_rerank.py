"""Second stage: the question's years and places must be in the passage; terms that meet in a sentence count."""
from qa.ranking.answer import best_sentence
from qa.ranking.rerank import (Constraints, Terms, constraints, proximity, rerank_score, states_target, unsupported,
                               wants_result, years_of)


def test_a_question_pins_down_the_years_and_places_it_names():
    wanted = constraints("江北区2019年的一般公共预算收入是多少？")
    assert wanted.years == {"2019"} and "江北" in wanted.places


def test_relative_years_are_read_against_the_document_date():
    assert years_of("今年地区生产总值增长6%", "2020-05-09") == {"2020"}
    assert years_of("过去一年，成绩来之不易", "2020-05-09") == {"2019", "2020"}
    assert years_of("没有时间词", "") == set()


def test_a_year_or_place_the_passage_never_mentions_is_unsupported():
    wanted = Constraints(frozenset({"2019"}), frozenset({"上海"}))
    assert unsupported(wanted, "二、2020年目标\n今年地区生产总值增长6%\n政府工作报告\n镇海", "2020") == ["2019", "上海"]
    assert unsupported(Constraints(frozenset({"2019"})), "一、2019年工作回顾\n地区生产总值", "2020") == []


def test_proximity_is_the_best_single_sentence_share_of_query_weight():
    terms = Terms(((("森林",), 2.0), (("覆盖率",), 2.0), (("2020",), 1.0)))
    assert proximity(terms, ["森林很多", "覆盖率高"]) == 0.4
    assert proximity(terms, ["森林覆盖率", ""]) == 0.8
    assert proximity(Terms(), ["森林"]) == 0.0


def test_a_term_is_met_by_any_of_its_glossary_forms():
    terms = Terms(((("gdp", "地区生产总值"), 3.0), (("2019",), 1.0)))
    assert terms.share("2019年地区生产总值1021.6亿元") == 1.0
    assert terms.share("2019年") == 0.25


def test_a_mismatch_costs_more_than_proximity_can_win_back():
    assert rerank_score(0.9, mismatches=1, near=1.0) < rerank_score(0.9, mismatches=0, near=0.0)
    assert rerank_score(0.9, mismatches=2, near=0.0) == rerank_score(0.9, mismatches=1, near=0.0)


def test_the_passage_about_the_asked_year_outranks_a_shorter_one_about_another_year(engine):
    hit = engine.search("2019年地区生产总值是多少", k=1)[0]
    assert "1021.6亿元" in hit.text and hit.heading.startswith("一、2019年")


def test_a_place_missing_from_the_corpus_abstains_and_says_why(engine):
    answer = engine.ask("上海的地区生产总值是多少", k=1)
    assert answer.abstained and answer.confidence == 0.0
    assert any("上海" in n for n in answer.notices)


def test_every_mode_ranks_the_same_candidates(engine):
    modes = ("bm25", "dense", "hybrid", "rrf", "rerank")
    tops = {m: {h.chunk_id for h in engine.ask_in_mode("森林覆盖率", m, k=50).hits} for m in modes}
    assert len({frozenset(t) for t in tops.values()}) == 1


def test_a_question_for_a_figure_wants_the_result_unless_it_asks_for_a_plan():
    assert wants_result("2020年地区生产总值增长了多少？", constraints("2020年地区生产总值增长了多少？"))
    for planned in ("2020年地区生产总值的目标是多少？", "镇海2020年想把产业集群做到多大规模？",
                    "What was the GDP growth target for 2020?"):
        assert not wants_result(planned, constraints(planned)), planned
    assert not wants_result("谁做的报告", constraints("谁做的报告"))        # not a figure at all


def test_a_target_where_a_result_is_asked_costs_less_than_a_missing_year():
    terms = Terms(((("地区生产总值",), 2.0), (("增长",), 1.0)))
    assert states_target(terms, ["二、2020年目标", "地区生产总值增长6%"])
    assert states_target(terms, ["", "地区生产总值增长6%左右", "人口增长"])
    assert not states_target(terms, ["一、2019年工作回顾", "地区生产总值增长7.1%"])
    assert rerank_score(0.9, 0, 0.5, target_unasked=True) < rerank_score(0.9, 0, 0.5)
    assert rerank_score(0.9, 0, 0.5, target_unasked=True) > rerank_score(0.9, 1, 0.5)


def test_the_best_sentence_is_never_the_title_and_gives_what_was_asked():
    said = ["《政府工作报告》（2020-05-09）", "作者、记者、讲话人或报告人：镇海区人民政府区长 某某", "来源：镇海区人代会"]
    terms = Terms(((("政府工作报告",), 2.0), (("镇海",), 1.0)))
    assert best_sentence(terms, said, said, "who", "政府工作报告") == said[1]    # the person with the role
    result = ["2020年地区生产总值增长6%左右", "2020年地区生产总值增长3.5%"]
    terms = Terms(((("地区生产总值",), 2.0), (("2020",), 1.0)))
    assert best_sentence(terms, result, result, "figure", "", result=True) == result[1]
    assert best_sentence(terms, result, result, "figure", "", result=False) == result[0]
    off_topic = ["2019年地区生产总值预期增长7%左右。", "全区共有3个街道。"]     # a figure, but not about it
    assert best_sentence(terms, off_topic, off_topic, "figure", "", result=True) == off_topic[0]
