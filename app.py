"""The chat in the browser: cited, explained passages from qa.Engine (no retrieval logic here)."""
from __future__ import annotations

import html
import os
import re

import gradio as gr

from qa import Engine, Settings
from qa.cli import answer_json, stats

EXAMPLES = ["2019年镇海的地区生产总值是多少？", "“122”产业集群是什么？", "一号改革工程是什么？",
            "张国锋怎么谈营商环境改革？", "What did Lin Bin say about the Third Plenary Session?"]
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "*_`#[]()!|~\\$<>&\"'"})


def esc(text: str) -> str:
    """Escape document or user text so that HTML and Markdown in it show as text and run nothing."""
    return str(text).translate(_MARKDOWN)


def highlight(text: str, terms: list[str], best: str) -> str:
    """Escaped passage with the query terms marked and the best sentence in bold."""
    out = esc(text)
    if best and best in text:
        out = out.replace(esc(best), f"<b>{esc(best)}</b>", 1)
    for term in sorted({t for t in terms if len(t) > 1 and not t.startswith("#")}, key=len, reverse=True):
        out = re.sub(f"(?<![&#\\d])({re.escape(esc(term))})", r"<mark>\1</mark>", out)
    return out


def render(engine: Engine, answer) -> str:
    """The chat reply: notices, the abstention line, and each passage with citation, scores and context."""
    parts = [f"<p><i>{esc(n)}</i></p>" for n in answer.notices]
    if not answer.hits:
        return "".join(parts) or "请输入问题。"
    if answer.abstained:
        parts.append("<p><b>未找到可靠的相关段落。</b>以下是最接近的候选，相关性弱，仅供参考：</p>")
    terms = engine.index.tokenizer(answer.query)
    for i, h in enumerate(answer.hits, 1):
        before, after = engine.neighbours(h)
        weak = "（弱相关）" if answer.abstained else ""
        where = f" · {esc(h.heading)}" if h.heading else ""
        parts.append(
            f"<div class='hit'><p><b>[{i}] {esc(h.citation)}</b>{where}{weak}</p>"
            f"<p>{highlight(h.text, terms, answer.best_sentence if i == 1 else '')}</p>"
            f"<p><small>关键词得分 {h.bm25:.2f} · 语义相似度 {h.dense:.2f} · 综合 {h.score:.2f}</small></p>"
            f"<details><summary>上下文（前后段落）</summary><p>{esc(before) or '（无）'}</p><hr>"
            f"<p>{esc(after) or '（无）'}</p></details></div>")
    return "".join(parts)


def build(engine: Engine) -> gr.Blocks:
    """The Gradio app over one engine."""
    info = stats(engine)
    districts = sorted({d.district for d in engine.index.documents if d.district})
    years = sorted({d.date[:4] for d in engine.index.documents if d.date})
    titles = [(d.title, d.doc_id) for d in engine.index.documents]

    def respond(message, chat, k, district, year, docs):
        history = [m["content"] for m in chat if m.get("role") == "user"]
        answer = engine.ask(message, k=int(k), history=history, doc_ids=docs or None,
                            district=district or None, year=year or None)
        reply = render(engine, answer)
        return "", chat + [{"role": "user", "content": esc(message)}, {"role": "assistant", "content": reply}]

    def api_search(question: str, k: int = 3) -> dict:
        """Search the corpus: the same JSON as `python -m qa ask --json`."""
        return answer_json(engine.ask(question, k=int(k)))

    with gr.Blocks(title="reform-qa") as demo:
        gr.Markdown(f"### 改革文件问答 reform-qa\n语料：{info['documents']} 篇文件，{info['passages']} 个段落 · "
                    f"向量模型：`{info['model']}`")
        chat = gr.Chatbot(height=520, label="对话")
        with gr.Row():
            box = gr.Textbox(placeholder="输入问题，例如：2019年镇海的地区生产总值是多少？", scale=5,
                             show_label=False, max_length=engine.settings.max_question_chars)
            send = gr.Button("提问", variant="primary", scale=1)
        with gr.Accordion("筛选与设置", open=False):
            k = gr.Slider(1, 10, value=engine.settings.k, step=1, label="显示段落数")
            district = gr.Dropdown([""] + districts, value="", label="区")
            year = gr.Dropdown([""] + years, value="", label="年份")
            docs = gr.Dropdown(titles, multiselect=True, label="文件")
        gr.Examples(EXAMPLES, inputs=box)
        clear = gr.Button("清空对话")
        inputs = [box, chat, k, district, year, docs]
        box.submit(respond, inputs, [box, chat], api_visibility="private")
        send.click(respond, inputs, [box, chat], api_visibility="private")
        clear.click(lambda: [], None, chat, api_visibility="private")
        gr.api(api_search, api_name="search")
    return demo


def main() -> None:
    """Serve on 127.0.0.1 (port from GRADIO_SERVER_PORT, default 7860)."""
    engine = Engine(settings=Settings.from_env())
    demo = build(engine)
    demo.queue(default_concurrency_limit=4, max_size=256)
    demo.launch(server_name="127.0.0.1", server_port=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))


if __name__ == "__main__":
    main()
