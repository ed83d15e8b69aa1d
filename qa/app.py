"""The chat in the browser: cited, explained passages from qa.Engine (no retrieval logic here)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import gradio as gr

from qa import Engine, IngestError, Settings
from qa.cli import answer_json, stats
from qa.library import add, remove
from qa.readers import SUFFIXES

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
    districts = sorted({d.district for d in engine.index.documents if d.district})
    years = sorted({d.date[:4] for d in engine.index.documents if d.date})
    titles = [(d.title, d.doc_id) for d in engine.index.documents]

    def respond(message, chat, k, district, year, docs):
        history = [m["content"] for m in chat if m.get("role") == "user"]
        answer = engine.ask(message, k=int(k), history=history, doc_ids=docs or None,
                            district=district or None, year=year or None)
        reply = render(engine, answer)
        return "", chat + [{"role": "user", "content": esc(message)}, {"role": "assistant", "content": reply}]

    def upload(files, title, date, district):
        files = [str(f) for f in (files or [])]
        limit = engine.settings.max_upload_files
        if not files:
            return "请先选择文件。", gr.update(), gr.update(), gr.update()
        if len(files) > limit:
            return f"一次最多上传 {limit} 个文件（收到 {len(files)} 个），请分批上传。", *[gr.update()] * 3
        results = add(engine.settings.data_dir, files, title or None, date or None, None, district or None,
                      engine.settings.max_file_mb, names=[Path(f).name for f in files])
        if any(r.status == "added" for r in results):
            engine.reload()
        label = {"added": "已添加", "skipped": "已跳过", "error": "错误"}
        lines = [f"- **[{label[r.status]}]** {esc(r.message)}" for r in results]
        return "\n".join(lines), *_documents_changed()

    def delete(doc_id):
        if not doc_id:
            return "请选择要删除的文件。", gr.update(), gr.update(), gr.update()
        try:
            message = remove(engine.settings.data_dir, doc_id)
        except IngestError as e:
            return f"**[错误]** {esc(e)}", gr.update(), gr.update(), gr.update()
        engine.reload()
        return f"**[已删除]** {esc(message)}", *_documents_changed()

    def _documents_changed():
        choices = [(d.title, d.doc_id) for d in engine.index.documents]
        return gr.update(choices=choices, value=[]), gr.update(choices=choices, value=None), header()

    def api_search(question: str, k: int = 3) -> dict:
        """Search the corpus: the same JSON as `python -m qa ask --json`."""
        return answer_json(engine.ask(question, k=int(k)))

    def header() -> str:
        info = stats(engine)
        return (f"### 改革文件问答 reform-qa\n语料：{info['documents']} 篇文件，{info['passages']} 个段落 · "
                f"向量模型：`{info['model']}`")

    with gr.Blocks(title="reform-qa") as demo:
        title = gr.Markdown(header())
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
        with gr.Accordion("文档管理：上传或删除文件", open=False):
            gr.Markdown(f"支持 .txt .md（UTF-8/GBK/UTF-16）、.docx、.pdf（需有文字层）、.html；"
                        f"每次最多 {engine.settings.max_upload_files} 个文件，每个不超过 {engine.settings.max_file_mb:g} MB。")
            files = gr.File(file_count="multiple", file_types=list(SUFFIXES), label="选择文件")
            with gr.Row():
                new_title = gr.Textbox(label="标题（可选，默认取自文件）")
                new_date = gr.Textbox(label="日期（可选，如 2024-07-30）")
                new_district = gr.Textbox(label="区（可选）")
            upload_btn = gr.Button("添加到语料库")
            with gr.Row():
                doomed = gr.Dropdown(titles, label="删除文件", scale=4)
                delete_btn = gr.Button("删除", variant="stop", scale=1)
            library_log = gr.Markdown()
        gr.Examples(EXAMPLES, inputs=box)
        clear = gr.Button("清空对话")
        inputs = [box, chat, k, district, year, docs]
        box.submit(respond, inputs, [box, chat], api_visibility="private")
        send.click(respond, inputs, [box, chat], api_visibility="private")
        clear.click(lambda: [], None, chat, api_visibility="private")
        upload_btn.click(upload, [files, new_title, new_date, new_district], [library_log, docs, doomed, title],
                         api_visibility="private", concurrency_limit=1, concurrency_id="library")
        delete_btn.click(delete, [doomed], [library_log, docs, doomed, title], api_visibility="private",
                         concurrency_limit=1, concurrency_id="library")
        gr.api(api_search, api_name="search")
    return demo


def main() -> None:
    """Serve on 127.0.0.1 (port from GRADIO_SERVER_PORT, default 7860)."""
    engine = Engine(settings=Settings.from_env())
    demo = build(engine)
    demo.queue(default_concurrency_limit=4, max_size=256)
    demo.launch(server_name="127.0.0.1", server_port=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                max_file_size=f"{engine.settings.max_file_mb:g}mb")


if __name__ == "__main__":
    main()
