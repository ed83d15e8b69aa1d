"""Server: the chat at / and the JSON API at /api/ on one FastAPI app, served by uvicorn on 127.0.0.1. The
port answers at once (serve.starting's page) while the model, the index and the chat load behind it."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import uvicorn

from ..settings import VERSION, Settings
from .labels import page_language, word
from .starting import Starting

log = logging.getLogger("reform-qa")


def build_app(settings: Settings, at: Callable[[str], None] = print, early: Callable[[object], None] = lambda app: None):
    """The guarded app (chat, JSON API, offline docs) and its search workers (None for none), reporting
    each start-up step to `at`; the JSON API alone goes to `early` as soon as the index is read, before
    gradio is imported (3-16 s here), so that searches answer as soon as the CLI's would."""
    language = page_language(settings.language)
    at(word("loading_model", language))
    from fastapi_offline import FastAPIOffline

    from ..engine import Engine
    from ..feedback import Feedback
    from ..uploads import Uploads
    from .api import add_api, body_limit
    from .guard import LOCAL_NAMES, Guard, admin_token
    from .workers import Searchers
    engine = Engine(settings=settings, update="none")     # listen at once: what is pending embeds behind
    token, made = admin_token(settings.admin_token, settings.token_file())
    uploads = Uploads(engine, settings.index_dir / "uploads.json")
    uploads.resume()
    searchers = Searchers(engine, settings.workers) if settings.workers > 1 else None
    ask = searchers.ask if searchers else engine.ask
    feedback = Feedback(settings.feedback_file())
    hosts = {*LOCAL_NAMES, settings.host, *settings.allowed_hosts}

    def api_app():
        server = FastAPIOffline(title="reform-qa", summary="Cited passages from Chinese government reform documents",
                                version=VERSION)
        add_api(server, engine, uploads, ask, token, feedback)
        return server
    early(Guard(api_app(), hosts, set(settings.cors_origins), body_limit(engine)))
    at(word("loading_gradio", language))
    import gradio as gr

    from .browser import CSS, head
    from .chat import build
    from .page_locale import PageLocale
    at(word("building_page", language))
    demo = build(engine, uploads, ask, token, feedback)
    demo.queue(default_concurrency_limit=4, max_size=256)
    server = gr.mount_gradio_app(api_app(), demo, path="/", css=CSS, head=head(language),
                                 max_file_size=f"{engine.settings.max_file_mb:g}mb")
    server = PageLocale(server, "zh-CN" if language == "zh" else "en")   # Gradio's own labels in it too
    where = "QA_ADMIN_TOKEN" if settings.admin_token else f"{settings.token_file()} ({'made now' if made else 'kept'})"
    print(f"reform-qa: uploads and deletes need the admin token, in {where}", flush=True)
    return Guard(server, hosts, set(settings.cors_origins), body_limit(engine)), searchers


def serve(settings: Settings, port: int | None = None) -> None:
    """Serve the chat at / and the JSON API at /api/ (docs at /docs) on 127.0.0.1:port until stopped; the
    port answers within seconds, with a start-up page until the app has loaded."""
    port = port or settings.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    language = page_language(settings.language)
    starting = Starting(lambda line: print(line, flush=True), language)
    workers = []

    def load() -> None:
        try:
            app, searchers = build_app(settings, starting.at, starting.early)
            workers.append(searchers)
            starting.ready(app)
        except Exception as e:   # the page and the terminal say why; the traceback goes to the log
            log.exception("start-up failed")
            starting.fail(str(e)[:300])
            return
        starting.at(word("ready", language, url=f"http://{shown}:{port}/")
                    + (word("workers", language, n=settings.workers) if settings.workers > 1 else ""))

    print(f"reform-qa: listening on http://{shown}:{port}/ (a start-up page until the app has loaded)", flush=True)
    threading.Thread(target=load, name="reform-qa-start", daemon=True).start()
    try:
        uvicorn.run(starting, host=settings.host, port=port, log_level="warning")
    finally:
        for searchers in workers:
            if searchers:
                searchers.close()


def main() -> None:
    """Serve on 127.0.0.1 with the settings from the environment (port: GRADIO_SERVER_PORT, else 7860)."""
    settings = Settings.from_env()
    serve(settings, settings.port)
