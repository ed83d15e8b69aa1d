"""One language: an answer's notices and the chat's labels are in the question's language (English for a
question in English, Chinese otherwise) unless QA_LANGUAGE fixes one; the page itself, Gradio's own labels
included, is in Chinese unless QA_LANGUAGE=en."""
import asyncio

import pytest

from qa import Engine
from qa.serve.page_locale import PageLocale
from qa.serve.render import render
from qa.settings import Settings
from qa.wording import reply_language


def test_a_question_in_latin_letters_without_chinese_is_answered_in_english():
    assert reply_language("What was the GDP of Zhenhai in 2019?") == "en"
    assert reply_language("2019年镇海GDP是多少？") == "zh" and reply_language("2019？") == "zh"
    assert reply_language("What is 一号改革工程?") == "zh"          # any Chinese: the Chinese reply
    assert reply_language("2019年GDP", "en") == "en" and reply_language("What GDP?", "zh") == "zh"


def test_an_english_question_gets_english_notices_and_labels(engine):
    answer = engine.ask("What was the GDP in 2019?", k=1)
    assert answer.language == "en" and any(n.startswith("Also searched for: GDP→") for n in answer.notices)
    html = render(answer, engine.neighbours)
    assert "Copy quote" in html and "Why this passage" in html and "Context (the paragraphs" in html
    assert not any(label in html for label in ("最佳句子", "复制引用", "为什么是这段", "上下文", "同义扩展"))
    chinese = engine.ask("2019年GDP多少", k=1)
    assert chinese.language == "zh" and "复制引用" in render(chinese, engine.neighbours)


def test_an_abstention_in_english_says_what_the_documents_do_have(engine):
    answer = engine.ask("How many pandas live in the zoo?", k=1)
    assert answer.abstained and answer.language == "en"
    said = " ".join(answer.notices)
    assert "the nearest is 《" in said and "文档中没有" not in said
    assert "No reliable passage found" in render(answer, engine.neighbours)


def test_qa_language_fixes_the_language_of_every_reply(corpus, tmp_path, encoder, monkeypatch):
    monkeypatch.setenv("QA_LANGUAGE", "zh")
    engine = Engine(data_dir=corpus, index_dir=tmp_path / "index", encoder=encoder, progress=False)
    answer = engine.ask("What was the GDP in 2019?", k=1)
    assert answer.language == "zh" and any(n.startswith("同义扩展：GDP→") for n in answer.notices)
    monkeypatch.setenv("QA_LANGUAGE", "fr")
    with pytest.raises(ValueError, match="'fr' .*QA_LANGUAGE.*auto .*zh or en"):
        Settings.from_env()


def page(wrapped, path="/", kind=b"text/html; charset=utf-8"):
    """GET path through a wrapper around an app answering <html><head></head>…; the headers and body sent."""
    async def app(scope, receive, send):
        body = b"<html><head><title>t</title></head><body>x</body></html>"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}
    asyncio.run(wrapped(app)({"type": "http", "method": "GET", "path": path}, receive, send))
    return dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_the_chat_page_tells_gradio_the_pages_language_first_in_its_head():
    headers, body = page(lambda app: PageLocale(app, "zh-CN"))
    assert body.startswith(b"<html><head><script>") and b"'zh-CN'" in body and b"<title>t</title>" in body
    assert int(headers[b"content-length"]) == len(body)
    _, other = page(lambda app: PageLocale(app, "zh-CN"), "/api/health")
    assert other == b"<html><head><title>t</title></head><body>x</body></html>"    # every other path untouched
    _, data = page(lambda app: PageLocale(app, "zh-CN"), kind=b"application/json")
    assert b"<script>" not in data


def test_qa_language_en_puts_the_whole_page_in_english(corpus, tmp_path, encoder):
    from qa.serve.chat import build
    engine = Engine(data_dir=corpus, index_dir=tmp_path / "index", encoder=encoder, progress=False,
                    settings=Settings.from_env(language="en"))
    config = build(engine).get_config_file()
    labels = [str(c["props"].get(key, "")) for c in config["components"] for key in ("label", "value", "placeholder")]
    shown = " ".join(labels)
    assert "Conversation" in shown and "Filters and settings" in shown and "Delete" in shown
    assert not any(word in shown for word in ("对话", "筛选与设置", "删除", "提问", "清空对话"))


def test_the_start_up_page_speaks_the_pages_language():
    from qa.serve.starting import Starting
    for language, said in (("zh", "reform-qa 正在启动"), ("en", "reform-qa Starting")):
        headers, body = page(lambda app: Starting(lambda line: None, language))
        assert said in body.decode() and f'lang="{language}"' in body.decode()
    assert "正在" not in body.decode()
