"""Chat: the Gradio app over an Engine: the conversation (its turns are serve.turn's), the filters, the
feedback and batch checks, and adding or deleting documents; replies are drawn by serve.render."""
from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from ..ranking.answer import Answer, answer_json
from ..documents.document import IngestError
from ..documents.readers import SUFFIXES
from ..engine import Engine, stats
from ..settings import K
from .render import esc, failure
from .. import batch
from ..feedback import Feedback, FeedbackError
from ..uploads import Upload, Uploads
from .browser import CONFIRM_DELETE, SCROLL_TO_REPLY
from .turn import chat_turn, scope_notices
from .guard import bearer_ok
from . import transcript

EXAMPLES = ["2019年镇海GDP是多少？", "“122”产业集群是什么？", "一号改革工程是什么？",
            "张国锋怎么谈营商环境改革？", "What did Lin Bin say about the Third Plenary Session?"]
PLACEHOLDER = "输入问题，例如：2019年镇海GDP是多少？"
POLL = 0.5       # seconds between two looks at an upload's progress
STATUS = {"added": "已添加", "skipped": "已跳过", "error": "错误"}

VERDICT_BUTTONS = (("答对了", "right"), ("答错了", "wrong"), ("应该说“文档中没有”", "not_in_documents"),
                   ("引用有误", "wrong_citation"))


def judge_last(feedback: Feedback, last: dict | None, verdict: str, chunk_id: str | None = None) -> str:
    """Store a judgement of the chat's latest answer; what to tell the person."""
    if not last:
        return "还没有可评价的回答：先提一个问题。"
    try:
        feedback.judge(last["answer_id"], verdict, chunk_id)
    except FeedbackError as e:
        return f"未能记录评价：{esc(e.message)}"
    said = dict((v, label) for label, v in VERDICT_BUTTONS)[verdict]
    return f"已记录评价：{said}" + ("（并标记了这段才是答案）" if chunk_id else "") + "。谢谢！"


def upload_html(upload: Upload) -> str:
    """Each file's outcome, then a progress bar while its passages are embedded, then the result."""
    lines = [f"<li><b>[{STATUS[f.status]}]</b> {esc(f.message)}</li>" for f in upload.files]
    out = f"<div class='upload' data-state='{upload.state}'><ul>{''.join(lines)}</ul>"
    if upload.state == "embedding":
        if upload.total:
            left = f"，约 {upload.seconds_left:.0f} 秒" if upload.seconds_left is not None else ""
            out += (f"<progress value='{upload.done}' max='{upload.total}'></progress> 正在向量化 "
                    f"{upload.done}/{upload.total} 个段落（{upload.done / upload.total:.0%}）{left}。")
        else:
            out += "<progress></progress> 正在读取并切分文件……"
        out += "<p>期间可以继续提问：仍用现有索引回答，完成后自动换用新索引。</p>"
    elif upload.state == "done" and any(f.status == "added" for f in upload.files):
        out += f"<p><b>完成</b>：新文件已加入索引（{upload.total} 个新段落已向量化），现在可以检索。</p>"
    elif upload.state == "failed":
        out += f"<p><b>索引失败</b>：{esc(upload.error)}</p>"
    return out + "</div>"


TOKEN_NEEDED = ("需要管理员令牌：上传和删除文件须先在上方填写管理员令牌（服务器启动时打印了它所在的文件，"
                "或由 QA_ADMIN_TOKEN 设置）。")
TOKEN_WRONG = "管理员令牌不正确：请核对服务器启动时打印的令牌文件中的内容。"


def token_problem(given: str | None, token: str | None) -> str:
    """"" when the chat's token box holds the admin token, else the message saying what to do."""
    if not given:
        return TOKEN_NEEDED
    return "" if token and bearer_ok(f"Bearer {given}", token) else TOKEN_WRONG


def build(engine: Engine, uploads: Uploads | None = None, ask: Callable[..., Answer] | None = None,
          token: str | None = None, feedback: Feedback | None = None) -> gr.Blocks:
    """The Gradio app over one engine (uploads: shared with the JSON API when both are served; ask: where
    the /search API's searches run, Engine.ask unless search workers take them; token: the admin token
    uploads and deletes need, None for none allowed)."""
    uploads = uploads or Uploads(engine)
    ask = ask or engine.ask
    feedback = feedback or Feedback(engine.settings.feedback_file())
    districts = engine.districts
    years = sorted({d.date[:4] for d in engine.listing().documents if d.date})
    titles = [(d.title, d.doc_id) for d in engine.listing().documents]

    def respond(message, chat, k, district, year, docs, turns):
        names = dict((doc_id, name) for name, doc_id in titles_now())
        scope = scope_notices(district, year, [names.get(d, d) for d in docs or []], uploads.embedding())
        box_value, chat, answer = chat_turn(engine, message, chat, k, district, year, docs, feedback, scope)
        last = {"answer_id": answer.answer_id} if answer else None
        passages = [(f"{i}. {h.citation}", h.chunk_id) for i, h in enumerate(answer.hits, 1)] if answer else []
        turns = [*(turns or []), answer_json(answer)] if answer else turns
        return box_value, chat, last, gr.update(choices=passages, value=None), "", turns

    def keep(chat, turns, request: gr.Request):
        """The conversation as the browser keeps it (across a reload), and its downloads."""
        headers = dict(request.headers) if request else {}
        base = f"{headers.get('x-forwarded-proto', 'http')}://{headers['host']}" if "host" in headers else ""
        files = transcript.write(turns, base, getattr(request, "session_hash", "") or "") if turns else (None, None)
        return {"chat": chat, "turns": turns or []}, *files

    def restore(saved):
        saved = saved if isinstance(saved, dict) else {}
        return saved.get("chat") or [], saved.get("turns") or []

    def upload(files, title, date, district, given):
        if problem := token_problem(given, token):
            yield problem, *[gr.update()] * 5
            return
        files = [str(f) for f in (files or [])]
        limit = engine.settings.max_upload_files
        if not files:
            yield "请先选择文件。", *[gr.update()] * 5
            return
        if len(files) > limit:
            yield f"一次最多上传 {limit} 个文件（收到 {len(files)} 个），请分批上传。", *[gr.update()] * 5
            return
        try:
            job = uploads.start(files, [Path(f).name for f in files], title or None, date or None, district or None)
        except Exception as e:
            yield failure("添加文件", e), *[gr.update()] * 5
            return
        while not job.finished:     # the chat keeps answering meanwhile: this event has its own queue
            yield upload_html(job), *[gr.update()] * 5
            time.sleep(POLL)
            job = uploads.get(job.id)
        yield upload_html(job), *_documents_changed()

    def delete(doc_id, given, sure="yes"):
        if problem := token_problem(given, token):
            return problem, *[gr.update()] * 5
        if not doc_id:
            return "请选择要删除的文件。", *[gr.update()] * 5
        if sure != "yes":
            return "已取消：没有删除任何文件。", *[gr.update()] * 5
        try:
            message = engine.remove(doc_id)
        except IngestError as e:
            return f"<b>[错误]</b> {esc(e)}", *[gr.update()] * 5
        except Exception as e:
            return failure("删除文件", e), *[gr.update()] * 5
        return f"<b>[已删除]</b> {esc(message)}", *_documents_changed()

    def run_batch(listing):
        if not listing:
            yield "请先选择问题清单文件。", None
            return
        try:
            items = batch.read_questions(Path(str(listing)))
        except IngestError as e:
            yield f"<b>[错误]</b> {esc(e)}", None
            return
        if len(items) > engine.settings.max_batch_questions:
            yield (f"<b>[错误]</b> 清单有 {len(items)} 个问题，超过上限 {engine.settings.max_batch_questions}"
                   "（QA_MAX_BATCH_QUESTIONS）：请拆分，或在服务器上运行 reform-qa batch。"), None
            return
        rows = []
        for i, item in enumerate(items, 1):
            rows += batch.run(engine, [item])
            if i % 10 == 0 or i == len(items):
                yield f"<progress value='{i}' max='{len(items)}'></progress> 已回答 {i}/{len(items)} 个问题。", None
        out = batch.write_report(rows, Path(tempfile.mkdtemp(prefix="qa-report-")) / "reform-qa-report.xlsx")
        totals = batch.summary(rows)
        shown = "，".join(f"{k} {v}" for k, v in totals.items())
        yield f"<b>完成</b>：{esc(shown)}。", str(out)

    def titles_now() -> list[tuple[str, str]]:
        return [(d.title, d.doc_id) for d in engine.listing().documents]

    def _documents_changed():
        """The menus and header as the corpus is now (the server may still have been indexing at build)."""
        choices = titles_now()
        years_now = sorted({d.date[:4] for d in engine.listing().documents if d.date})
        return (gr.update(choices=choices, value=[]), gr.update(choices=choices, value=None), header(),
                gr.update(choices=[""] + engine.districts), gr.update(choices=[""] + years_now))

    def api_search(question: str, k: int = K, history: list[str] | None = None) -> dict:
        """Search the corpus (with earlier questions for a follow-up): the same JSON as `ask --json`."""
        return answer_json(ask(question, k=int(k), history=history or []))

    def header() -> str:
        info = stats(engine)
        return (f"### 改革文件问答 reform-qa\n语料：{info['documents']} 篇文件，{info['passages']} 个段落 · "
                f"向量模型：`{info['model']}`")

    with gr.Blocks(title="reform-qa") as demo:
        title = gr.Markdown(header())
        chat = gr.Chatbot(height="70vh", label="对话", elem_id="chat", autoscroll=False)
        with gr.Row():
            box = gr.Textbox(placeholder=PLACEHOLDER, scale=5, show_label=False,   # a longer question is
                             max_length=engine.settings.max_input_chars)     # shortened by the engine, said

            send = gr.Button("提问", variant="primary", scale=1)
        examples = gr.Dataset(components=[box], samples=[[e] for e in EXAMPLES], label="示例问题（点击即问）")
        with gr.Accordion("筛选与设置", open=False):
            k = gr.Slider(1, 10, value=engine.settings.k, step=1, label="显示段落数")
            district = gr.Dropdown([""] + districts, value="", label="区")
            year = gr.Dropdown([""] + years, value="", label="年份")
            docs = gr.Dropdown(titles, multiselect=True, label="文件")
        with gr.Accordion("文档管理：上传或删除文件", open=False):
            gr.Markdown(f"支持 .txt .md（UTF-8/GBK/UTF-16）、.docx、.pdf（需有文字层）、.html；"
                        f"每次最多 {engine.settings.max_upload_files} 个文件，每个不超过 {engine.settings.max_file_mb:g} MB。")
            admin = gr.Textbox(label="管理员令牌（上传、删除需要；本次会话内保留）", type="password",
                               elem_id="admin-token")
            files = gr.File(file_count="multiple", file_types=list(SUFFIXES), label="选择文件")
            with gr.Row():
                new_title = gr.Textbox(label="标题（可选，默认取自文件）")
                new_date = gr.Textbox(label="日期（可选，如 2024-07-30）")
                new_district = gr.Textbox(label="区（可选）")
            upload_btn = gr.Button("添加到语料库")
            with gr.Row():
                doomed = gr.Dropdown(titles, label="删除文件", scale=4, elem_id="delete-doc")
                delete_btn = gr.Button("删除", variant="stop", scale=1)
                sure = gr.Textbox("no", visible=False)   # the browser's confirm() answer (CONFIRM_DELETE)
            library_log = gr.HTML(elem_id="library-log")
        last = gr.State(None)
        with gr.Row(elem_id="judge"):
            verdicts = [gr.Button(label, size="sm", elem_id=f"judge-{v}") for label, v in VERDICT_BUTTONS]
            right_passage = gr.Dropdown([], label="这段才是答案", scale=2, elem_id="judge-passage")
        judged = gr.Markdown(elem_id="judged")
        with gr.Accordion("批量提问：上传问题清单，下载检查报告", open=False):
            gr.Markdown("问题清单：.csv / .xlsx（表头含 question 或 问题，可选 expected 或 期望：答案须包含的文字）"
                        "或 .txt（每行一个问题）。报告含每题的回答、置信度、引用，以及汇总（回答率；有期望时 hit@1、hit@3、MRR@10）。")
            question_list = gr.File(file_types=[".csv", ".xlsx", ".txt"], label="问题清单", elem_id="batch-file")
            batch_btn = gr.Button("开始批量提问", elem_id="batch-start")
            batch_log = gr.HTML(elem_id="batch-log")
            batch_report = gr.File(label="检查报告（.xlsx）", elem_id="batch-report")
        with gr.Row():
            clear = gr.Button("清空对话")
            export_md = gr.DownloadButton("下载对话（Markdown）", value=None, elem_id="export-md")
            export_docx = gr.DownloadButton("下载对话（Word）", value=None, elem_id="export-docx")
        turns = gr.State([])   # each reply's answer_json, for the downloads
        saved = gr.BrowserState({"chat": [], "turns": []}, storage_key="reform-qa-conversation")
        inputs = [box, chat, k, district, year, docs, turns]
        outputs = [box, chat, last, right_passage, judged, turns]
        private = {"api_visibility": "private"}
        kept = {"fn": keep, "inputs": [chat, turns], "outputs": [saved, export_md, export_docx], **private}
        for event in (box.submit, send.click):
            event(respond, inputs, outputs, **private).then(None, js=SCROLL_TO_REPLY, **private).then(**kept)
        examples.click(lambda sample: sample[0], examples, box, **private).then(
            respond, inputs, outputs, **private).then(None, js=SCROLL_TO_REPLY, **private).then(**kept)
        for button, (_, verdict) in zip(verdicts, VERDICT_BUTTONS):
            button.click(lambda state, v=verdict: judge_last(feedback, state, v), last, judged, **private)
        right_passage.input(lambda state, chunk: judge_last(feedback, state, "right", chunk) if chunk else "",
                            [last, right_passage], judged, **private)
        clear.click(lambda: ([], []), None, [chat, turns], **private).then(**kept)
        upload_btn.click(upload, [files, new_title, new_date, new_district, admin], [library_log, docs, doomed, title, district, year],
                         concurrency_limit=1, concurrency_id="library", **private)
        delete_btn.click(delete, [doomed, admin, sure], [library_log, docs, doomed, title, district, year],
                         js=CONFIRM_DELETE, concurrency_limit=1, concurrency_id="library", **private)
        batch_btn.click(run_batch, question_list, [batch_log, batch_report], concurrency_limit=1,
                        concurrency_id="batch", **private)
        demo.load(_documents_changed, None, [docs, doomed, title, district, year], **private)   # others may have added some
        demo.load(restore, saved, [chat, turns], **private).then(**kept)   # the conversation before a reload
        gr.api(api_search, api_name="search")
    return demo
