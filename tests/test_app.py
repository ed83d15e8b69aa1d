"""The Gradio app: chat turns as Gradio 6 hands them over, its /search API, escaping, load, and uploads."""
import concurrent.futures
import os

import httpx
import pytest

from conftest import ADMIN_TOKEN, ARTIFACTS
from qa.serve import chat as app
from qa.serve import turn
from qa.serve.labels import word
from qa.serve.render import esc, render


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client
    return Client(server, verbose=False)


# Gradio 6 hands the Chatbot's messages back with content as a list of parts.
GRADIO6_CHAT = [{"role": "user", "content": [{"type": "text", "text": "镇海城乡居民收入倍差是多少&#65311;"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "<p>…</p>"}]},
                {"role": "user", "content": [{"type": "file", "file": {"path": "/tmp/x.png"}}]}]


def test_earlier_questions_reads_every_message_shape_gradio_hands_back():
    chat = GRADIO6_CHAT + [{"role": "user", "content": "江北呢"}, {"role": "user", "content": {"type": "text", "text": "a"}}]
    assert turn.earlier_questions(chat) == ["镇海城乡居民收入倍差是多少？", "江北呢", "a"]
    assert turn.earlier_questions(None) == []


def test_second_turn_uses_the_first_question(engine):
    box, chat, _ = turn.chat_turn(engine, "那江北呢？", GRADIO6_CHAT, k=1)
    reply = chat[-1]["content"]
    assert box == "" and len(chat) == len(GRADIO6_CHAT) + 2
    assert "结合上文检索：江北城乡居民收入倍差是多少？" in reply and "1.62" in reply


def test_engine_history_takes_only_strings(engine):
    with pytest.raises(TypeError, match="history must hold the earlier questions as strings, got dict"):
        engine.ask("那江北呢？", history=GRADIO6_CHAT)
    with pytest.raises(TypeError, match="not one string"):
        engine.ask("那江北呢？", history="镇海GDP")


def test_a_failing_turn_is_a_readable_reply_and_the_chat_goes_on(engine, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("index went away")
    monkeypatch.setattr(engine, "ask", broken)
    _, chat, _ = turn.chat_turn(engine, "一号改革工程是什么", [], k=1)
    assert "抱歉，检索这个问题时出错了" in chat[-1]["content"] and "index went away" in chat[-1]["content"]
    assert "RuntimeError" not in chat[-1]["content"]                  # the message, never the class name
    assert any(r.exc_info and "index went away" in str(r.exc_info[1]) for r in caplog.records)   # traceback logged
    monkeypatch.undo()
    _, chat, _ = turn.chat_turn(engine, "一号改革工程是什么", chat, k=1)
    assert "一号改革工程" in chat[-1]["content"] and "出错" not in chat[-1]["content"]


def test_search_endpoint_takes_history_and_returns_the_rewritten_query(client):
    out = client.predict("那江北呢？", 2, ["镇海城乡居民收入倍差是多少？"], api_name="/search")
    assert out["query"] == "江北城乡居民收入倍差是多少？"
    assert "1.62" in out["hits"][0]["text"]


def test_search_endpoint_returns_cited_passages(client):
    out = client.predict("2019年镇海的地区生产总值是多少？", 3, api_name="/search")
    assert set(out) >= {"question", "hits", "abstained"} and len(out["hits"]) == 3
    hit = next(h for h in out["hits"] if "1021.6亿元" in h["text"])
    assert hit["citation"].startswith("《政府工作报告（2020年，宁波市镇海区）》（2020-05-09）第")


def test_search_endpoint_abstains_on_unrelated_question(client):
    out = client.predict("如何申请美国签证？", 2, api_name="/search")
    assert out["abstained"] is True and len(out["hits"]) == 2


def test_twenty_concurrent_requests_all_succeed(server):
    from gradio_client import Client
    questions = ["一号改革工程", "江北城镇化率", "“620”工程", "三官堂大桥什么时候通车"] * 5

    def ask(q):
        return Client(server, verbose=False).predict(q, 2, api_name="/search")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(ask, questions))
    assert len(results) == 20 and all(len(r["hits"]) == 2 for r in results)


def test_document_text_is_escaped_and_runs_nothing(engine):
    answer = engine.ask("<script>alert(1)</script> **粗体** 地区生产总值", k=1)
    html = render(answer, engine.neighbours)
    assert "<script>" not in html
    assert esc("<img src=x onerror=alert(1)> *a*") == "&#60;img src=x onerror=alert&#40;1&#41;&#62; &#42;a&#42;"


def test_reply_marks_terms_best_sentence_scores_and_context(engine):
    answer = engine.ask("森林覆盖率达到多少", k=1)
    html = render(answer, engine.neighbours)
    assert "<mark>" in html and "<b>" in html and "上下文" in html
    assert "<details class='why'><summary>为什么是这段</summary><p><small>关键词得分" in html   # scores folded away


def test_a_target_is_labelled_as_a_target_and_a_result_is_not(engine):
    target = render(engine.ask("2020年地区生产总值增长多少", k=1), engine.neighbours)
    assert "6%" in target and "最佳句子（预期目标，不是实际完成数）" in target
    result = render(engine.ask("2019年地区生产总值达到多少", k=1), engine.neighbours)
    assert "1021.6亿元" in result and "预期目标" not in result


def test_a_reply_says_which_filters_were_in_force_and_that_an_upload_is_still_embedding(engine):
    said = turn.scope_notices("江北", "2024", ["江北专访"], {"done": 3, "total": 10})
    assert said[0] == "筛选条件：区 江北；年份 2024；文件 江北专访（只在符合条件的文件中检索）"
    assert "3/10" in said[1] and "还不能检索" in said[1]
    assert turn.scope_notices(None, None, [], {"done": 0, "total": 0}) == ()
    _, chat, _ = turn.chat_turn(engine, "城镇化率是多少", [], k=1, district="江北", scope=said)
    assert "筛选条件：区 江北" in chat[-1]["content"] and "3/10" in chat[-1]["content"]


def ask_in_browser(page, question: str, expected: str) -> str:
    """Type a question, wait for the expected text in the reply, return the page text."""
    box = page.get_by_placeholder(word("placeholder"))
    box.fill(question)
    box.press("Enter")
    page.get_by_text(expected).first.wait_for(timeout=30_000)
    return page.inner_text("body")


def test_real_browser_uploads_a_gbk_file_and_then_answers_from_it(browser_page, server, tmp_path):
    upload = tmp_path / "宁海简讯.txt"
    upload.write_bytes("宁海简讯\n\n宁海县2023年建成十里红妆文化园，接待游客120万人次。".encode("gbk"))
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    page = browser_page(1400)
    before = len(httpx.get(server + "api/documents").json()["documents"])
    page.get_by_text("文档管理：上传或删除文件").click()
    page.locator("#admin-token input").fill(ADMIN_TOKEN)
    page.locator("input[type=file]").set_input_files([str(upload), str(broken)])
    page.get_by_text("宁海简讯.txt").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="添加到语料库").click()
    page.get_by_text("已添加为").first.wait_for(timeout=60_000)
    page.locator("#library-log .upload[data-state=done]").wait_for(timeout=60_000)
    log = page.inner_text("body")
    body = ask_in_browser(page, "十里红妆文化园接待游客多少人次", "120万人次")
    page.screenshot(path=os.path.join(ARTIFACTS, "upload.png"), full_page=True)
    assert "scan.pdf 不是可读取的 PDF 文件" in log and "[已添加]" in log and "新文件已加入索引" in log
    assert "not a readable" not in log and "added as" not in log   # one language: the page's
    assert "《宁海简讯》" in body and f"{before + 1} 篇文件" in body
