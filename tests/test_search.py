"""Hybrid search: fusion, exact terms, citations, filters, abstention, follow-ups."""
import numpy as np

from qa.conversation import rewrite
from qa.ranking.fusion import rrf_fusion, weighted_fusion


def test_weighted_fusion_keeps_lexical_zero_at_zero_and_scales_dense():
    fused = weighted_fusion(np.array([0.0, 2.0, 4.0]), np.array([0.5, 0.2, 0.3]), bm25_weight=0.8)
    assert np.allclose(fused, [0.2, 0.4, 0.8 + 0.2 * (0.1 / 0.3)])


def test_weighted_fusion_falls_back_to_dense_when_no_term_matches():
    fused = weighted_fusion(np.zeros(3), np.array([0.1, 0.9, 0.5]), bm25_weight=0.5)
    assert list(np.argsort(-fused)) == [1, 2, 0]


def test_rrf_rewards_agreement_between_retrievers():
    fused = rrf_fusion(np.array([3.0, 2.0, 1.0]), np.array([0.1, 0.9, 0.5]), k=60)
    assert fused.argmax() == 1 and np.isclose(fused[1], 1 / 62 + 1 / 61)


def test_quoted_programme_code_is_found(engine):
    hit = engine.search("“122”产业集群", k=1)[0]
    assert "“122”千百亿级产业集群" in hit.text


def test_hit_carries_a_checkable_citation(engine):
    hit = engine.search("2019年地区生产总值同比增长多少", k=1)[0]
    assert "1021.6亿元" in hit.text
    assert hit.citation == f"《政府工作报告》（2020-05-09）第{hit.paragraph}段"
    assert hit.heading == "一、2019年工作回顾" and hit.doc_id == "report"


def test_filters_restrict_to_a_district(engine):
    hits = engine.search("城乡居民收入倍差", k=5, district="江北")
    assert hits and {h.doc_id for h in hits} == {"jiangbei"}


def test_unrelated_question_abstains_but_still_shows_candidates(engine):
    answer = engine.ask("东京奥运会的金牌榜", k=2)
    assert answer.abstained and len(answer.hits) == 2


def test_answerable_question_does_not_abstain_and_names_its_best_sentence(engine):
    answer = engine.ask("森林覆盖率达到多少", k=2)
    assert not answer.abstained
    assert "23.1%" in answer.best_sentence and len(answer.best_sentence) < len(answer.hits[0].text) + 1


def test_overlong_question_is_truncated_with_a_notice(engine):
    answer = engine.ask("改革" * 5000, k=1)
    assert len(answer.question) == engine.settings.max_question_chars
    assert any("超过500字的上限" in n for n in answer.notices)


def test_a_long_question_is_searched_by_the_part_that_asks(engine):
    pasted = "镇海区是宁波的一个区，历史悠久，文化昌盛，港口发达。" * 30 + "请问2019年地区生产总值是多少？"
    answer = engine.ask(pasted, k=1)
    assert len(answer.question) <= engine.settings.max_question_chars and "地区生产总值是多少" in answer.question
    assert answer.hits[0].chunk_id == engine.ask("请问2019年地区生产总值是多少？", k=1).hits[0].chunk_id
    assert any("只检索了其中提问和信息最多的部分" in n for n in answer.notices)


def test_k_is_bounded(engine):
    assert len(engine.search("改革", k=10_000)) <= engine.settings.max_k


def test_follow_up_replaces_the_district_of_the_previous_question():
    assert rewrite("那江北呢？", ["镇海2019年GDP是多少？"], ["镇海", "江北"]) == "江北2019年GDP是多少？"


def test_follow_up_without_a_new_subject_extends_the_previous_question():
    assert rewrite("增长了多少？", ["镇海2019年GDP是多少？"], ["镇海"]) == "镇海2019年GDP是多少 增长了多少"


def test_a_full_new_question_is_searched_as_asked():
    question = "江北区常住人口城镇化率达到多少？"
    assert rewrite(question, ["镇海2019年GDP是多少？"], ["镇海", "江北"]) == question


def test_follow_up_is_searched_with_the_conversation(engine):
    answer = engine.ask("那江北呢？", k=1, history=["镇海城乡居民收入倍差是多少？"])
    assert answer.query.startswith("江北") and answer.hits[0].doc_id == "jiangbei"
    assert any("结合上文" in n for n in answer.notices)


def test_a_question_with_its_own_topic_is_not_glued_on_even_when_it_ends_in_ne():
    history = ["2019年镇海GDP是多少？"]
    assert rewrite("三官堂大桥什么时候通车呢？", history, ["镇海", "江北"]) == "三官堂大桥什么时候通车呢？"
    assert rewrite("那慈溪呢？", history, ["镇海", "江北"]) == "2019年慈溪GDP是多少？"
    assert rewrite("2020年呢？", [*history, "那江北呢？"], ["镇海", "江北"]) == "2020年江北GDP是多少？"


def test_the_best_sentence_is_never_a_reporters_question_when_the_passage_answers():
    from qa.ranking.answer import best_sentence
    from qa.ranking.rerank import Terms
    terms = Terms(((("改革",), 1.0), (("成效",), 1.0)))
    said = ["记者：改革取得了哪些成效？", "改革成效明显，重点项目落地平均提速近60%。"]
    assert best_sentence(terms, said, said) == said[1]
    assert best_sentence(terms, said[:1], said[:1]) == said[0]     # nothing else to show


def test_two_parts_of_one_paragraph_are_cited_apart_by_their_first_words():
    from qa.ranking.answer import Hit
    from qa.ranking.passages import told_apart
    one = Hit("地区生产总值跃上千亿台阶，达到1021.6亿元。", 1.0, "r", "报告", "2020", 4, "", "《报告》（2020）第4段")
    two = Hit("一般公共预算收入84.23亿元，同比增长7.2%。", 0.9, "r", "报告", "2020", 4, "", "《报告》（2020）第4段")
    other = Hit("森林覆盖率达到23.1%。", 0.8, "r", "报告", "2020", 5, "", "《报告》（2020）第5段")
    cited = [h.citation for h in told_apart((one, two, other))]
    assert cited == ["《报告》（2020）第4段（“地区生产总值跃上千亿…”起）", "《报告》（2020）第4段（“一般公共预算收入84…”起）",
                     "《报告》（2020）第5段"]
