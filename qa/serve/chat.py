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
from .labels import page_language, word
from .render import esc, failure
from .. import batch
from ..feedback import Feedback, FeedbackError
from ..uploads import Upload, Uploads
from ..wording import Language, reply_language
from .browser import SCROLL_TO_REPLY, confirm_delete
from .turn import chat_turn, scope_notices
from .guard import bearer_ok
from . import transcript

EXAMPLES = {"zh": ["2019年镇海GDP是多少？", "“122”产业集群是什么？", "一号改革工程是什么？",
                   "张国锋怎么谈营商环境改革？", "What did Lin Bin say about the Third Plenary Session?"],
            "en": ["What was Zhenhai's GDP in 2019?", "What is the No. 1 reform project?",
                   "What did Lin Bin say about the Third Plenary Session?", "2019年镇海GDP是多少？"]}
POLL = 0.5       # seconds between two looks at an upload's progress
VERDICTS = ("right", "wrong", "not_in_documents", "wrong_citation")


def judge_last(feedback: Feedback, last: dict | None, verdict: str, chunk_id: str | None = None,
               lang: Language = "zh") -> str:
    """Store a judgement of the chat's latest answer; what to tell the person."""
    if not last:
        return word("judge_first", lang)
    try:
        feedback.judge(last["answer_id"], verdict, chunk_id)
    except FeedbackError as e:
        return word("judge_failed", lang, why=esc(e.message))
    return word("judged_passage" if chunk_id else "judged", lang, said=word(verdict, lang))


def upload_html(upload: Upload, lang: Language = "zh") -> str:
    """Each file's outcome, then a progress bar while its passages are embedded, then the result."""
    lines = [f"<li><b>[{word(f.status, lang)}]</b> {esc(f.said_zh if lang == 'zh' and f.said_zh else f.message)}</li>"
             for f in upload.files]
    out = f"<div class='upload' data-state='{upload.state}'><ul>{''.join(lines)}</ul>"
    if upload.state == "embedding":
        if upload.total:
            left = word("seconds_left", lang, n=upload.seconds_left) if upload.seconds_left is not None else ""
            out += (f"<progress value='{upload.done}' max='{upload.total}'></progress> " + word(
                "embedding", lang, done=upload.done, total=upload.total, share=upload.done / upload.total, left=left))
        else:
            out += f"<progress></progress> {word('reading', lang)}"
        out += f"<p>{word('keep_asking', lang)}</p>"
    elif upload.state == "done" and any(f.status == "added" for f in upload.files):
        out += f"<p>{word('upload_done', lang, n=upload.total)}</p>"
    elif upload.state == "failed":
        out += f"<p>{word('upload_failed', lang, why=esc(upload.error))}</p>"
    return out + "</div>"


def token_problem(given: str | None, token: str | None, lang: Language = "zh") -> str:
    """"" when the chat's token box holds the admin token, else the message saying what to do."""
    if not given:
        return word("token_needed", lang)
    return "" if token and bearer_ok(f"Bearer {given}", token) else word("token_wrong", lang)


def build(engine: Engine, uploads: Uploads | None = None, ask: Callable[..., Answer] | None = None,
          token: str | None = None, feedback: Feedback | None = None) -> gr.Blocks:
    """The Gradio app over one engine (uploads: shared with the JSON API when both are served; ask: where
    the /search API's searches run, Engine.ask unless search workers take them; token: the admin token
    uploads and deletes need, None for none allowed)."""
    uploads = uploads or Uploads(engine)
    ask = ask or engine.ask
    feedback = feedback or Feedback(engine.settings.feedback_file())
    districts = engine.districts
    lang = page_language(engine.settings.language)
    w = lambda key, **values: word(key, lang, **values)   # noqa: E731 — the page's labels
    in_page = lambda e: e.zh if lang == "zh" and getattr(e, "zh", "") else str(e)   # noqa: E731 — an error's words
    every = lambda choices: [(w("all"), "")] + list(choices)   # noqa: E731 — a menu's "all" entry, labelled
    years = sorted({d.date[:4] for d in engine.listing().documents if d.date})
    titles = [(d.title, d.doc_id) for d in engine.listing().documents]

    def respond(message, chat, k, district, year, docs, turns):
        names = dict((doc_id, name) for name, doc_id in titles_now())
        scope = scope_notices(district, year, [names.get(d, d) for d in docs or []], uploads.embedding(),
                              reply_language(message or "", engine.settings.language))
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
        if problem := token_problem(given, token, lang):
            yield problem, *[gr.update()] * 5
            return
        files = [str(f) for f in (files or [])]
        limit = engine.settings.max_upload_files
        if not files:
            yield w("choose_first"), *[gr.update()] * 5
            return
        if len(files) > limit:
            yield w("too_many_files", limit=limit, n=len(files)), *[gr.update()] * 5
            return
        try:
            job = uploads.start(files, [Path(f).name for f in files], title or None, date or None, district or None)
        except Exception as e:
            yield failure(w("adding"), e, lang), *[gr.update()] * 5
            return
        while not job.finished:     # the chat keeps answering meanwhile: this event has its own queue
            yield upload_html(job, lang), *[gr.update()] * 5
            time.sleep(POLL)
            job = uploads.get(job.id)
        yield upload_html(job, lang), *_documents_changed()

    def delete(doc_id, given, sure="yes"):
        if problem := token_problem(given, token, lang):
            return problem, *[gr.update()] * 5
        if not doc_id:
            return w("delete_none"), *[gr.update()] * 5
        if sure != "yes":
            return w("delete_cancelled"), *[gr.update()] * 5
        title = dict((i, t) for t, i in titles_now()).get(doc_id, doc_id)
        try:
            engine.remove(doc_id)
        except IngestError as e:
            return w("failed", why=esc(in_page(e))), *[gr.update()] * 5
        except Exception as e:
            return failure(w("deleting"), e, lang), *[gr.update()] * 5
        return w("deleted", title=esc(title), id=esc(doc_id)), *_documents_changed()

    def run_batch(listing):
        if not listing:
            yield w("list_first"), None
            return
        try:
            items = batch.read_questions(Path(str(listing)))
        except IngestError as e:
            yield w("failed", why=esc(in_page(e))), None
            return
        if len(items) > engine.settings.max_batch_questions:
            yield w("list_too_long", n=len(items), limit=engine.settings.max_batch_questions), None
            return
        rows = []
        for i, item in enumerate(items, 1):
            rows += batch.run(engine, [item])
            if i % 10 == 0 or i == len(items):
                yield f"<progress value='{i}' max='{len(items)}'></progress> {w('answered', i=i, n=len(items))}", None
        out = batch.write_report(rows, Path(tempfile.mkdtemp(prefix="qa-report-")) / "reform-qa-report.xlsx")
        totals = batch.summary(rows)
        shown = "，".join(f"{k} {v}" for k, v in totals.items())
        yield w("batch_done", totals=esc(shown)), str(out)

    def titles_now() -> list[tuple[str, str]]:
        return [(d.title, d.doc_id) for d in engine.listing().documents]

    def _documents_changed():
        """The menus and header as the corpus is now (the server may still have been indexing at build)."""
        choices = titles_now()
        years_now = sorted({d.date[:4] for d in engine.listing().documents if d.date})
        return (gr.update(choices=choices, value=[]), gr.update(choices=choices, value=None), header(),
                gr.update(choices=every(engine.districts)), gr.update(choices=every(years_now)))

    def api_search(question: str, k: int = K, history: list[str] | None = None) -> dict:
        """Search the corpus (with earlier questions for a follow-up): the same JSON as `ask --json`."""
        return answer_json(ask(question, k=int(k), history=history or []))

    def header() -> str:
        info = stats(engine)
        return f"### {w('title')}\n" + w("corpus", documents=info["documents"], passages=info["passages"], model=info["model"])

    with gr.Blocks(title="reform-qa") as demo:
        title = gr.Markdown(header())
        chat = gr.Chatbot(height="70vh", label=w("chat"), elem_id="chat", autoscroll=False)
        with gr.Row():
            box = gr.Textbox(label=w("question"), placeholder=w("placeholder"), scale=5, show_label=False,   # a longer question is
                             max_length=engine.settings.max_input_chars)     # shortened by the engine, said
            send = gr.Button(w("ask"), variant="primary", scale=1)
        examples = gr.Dataset(components=[box], samples=[[e] for e in EXAMPLES[lang]], label=w("examples"))
        with gr.Accordion(w("settings"), open=False):
            k = gr.Slider(1, 10, value=engine.settings.k, step=1, label=w("k"))
            district = gr.Dropdown(every(districts), value="", label=w("district"))
            year = gr.Dropdown(every(years), value="", label=w("year"))
            docs = gr.Dropdown(titles, multiselect=True, label=w("documents"))
        with gr.Accordion(w("library"), open=False):
            gr.Markdown(w("formats", files=engine.settings.max_upload_files, mb=engine.settings.max_file_mb))
            admin = gr.Textbox(label=w("admin"), type="password", elem_id="admin-token")
            files = gr.File(file_count="multiple", file_types=list(SUFFIXES), label=w("choose_files"))
            with gr.Row():
                new_title = gr.Textbox(label=w("new_title"))
                new_date = gr.Textbox(label=w("new_date"))
                new_district = gr.Textbox(label=w("new_district"))
            upload_btn = gr.Button(w("add"))
            with gr.Row():
                doomed = gr.Dropdown(titles, label=w("delete_which"), scale=4, elem_id="delete-doc")
                delete_btn = gr.Button(w("delete"), variant="stop", scale=1)
                sure = gr.Textbox("no", visible=False)   # the browser's confirm() answer (confirm_delete)
            library_log = gr.HTML(elem_id="library-log")
        last = gr.State(None)
        with gr.Row(elem_id="judge"):
            verdicts = [gr.Button(w(v), size="sm", elem_id=f"judge-{v}") for v in VERDICTS]
            right_passage = gr.Dropdown([], label=w("this_passage"), scale=2, elem_id="judge-passage")
        judged = gr.Markdown(elem_id="judged")
        with gr.Accordion(w("batch"), open=False):
            gr.Markdown(w("batch_help"))
            question_list = gr.File(file_types=[".csv", ".xlsx", ".txt"], label=w("question_list"), elem_id="batch-file")
            batch_btn = gr.Button(w("batch_start"), elem_id="batch-start")
            batch_log = gr.HTML(elem_id="batch-log")
            batch_report = gr.File(label=w("report"), elem_id="batch-report")
        with gr.Row():
            clear = gr.Button(w("clear"))
            export_md = gr.DownloadButton(w("download_md"), value=None, elem_id="export-md")
            export_docx = gr.DownloadButton(w("download_docx"), value=None, elem_id="export-docx")
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
        for button, verdict in zip(verdicts, VERDICTS):
            button.click(lambda state, v=verdict: judge_last(feedback, state, v, lang=lang), last, judged, **private)
        right_passage.input(lambda state, chunk: judge_last(feedback, state, "right", chunk, lang) if chunk else "",
                            [last, right_passage], judged, **private)
        clear.click(lambda: ([], []), None, [chat, turns], **private).then(**kept)
        upload_btn.click(upload, [files, new_title, new_date, new_district, admin], [library_log, docs, doomed, title, district, year],
                         concurrency_limit=1, concurrency_id="library", **private)
        delete_btn.click(delete, [doomed, admin, sure], [library_log, docs, doomed, title, district, year],
                         js=confirm_delete(lang), concurrency_limit=1, concurrency_id="library", **private)
        batch_btn.click(run_batch, question_list, [batch_log, batch_report], concurrency_limit=1,
                        concurrency_id="batch", **private)
        demo.load(_documents_changed, None, [docs, doomed, title, district, year], **private)   # others may have added some
        demo.load(restore, saved, [chat, turns], **private).then(   # the conversation before a reload, at its end
            None, js=SCROLL_TO_REPLY, **private).then(**kept)
        gr.api(api_search, api_name="search")
    return demo
