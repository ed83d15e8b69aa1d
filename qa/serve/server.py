"""Server: the chat at / and the JSON API at /api/ on one FastAPI app, served by uvicorn on 127.0.0.1."""
from __future__ import annotations

import logging

import gradio as gr
import uvicorn
from fastapi_offline import FastAPIOffline

from ..engine import Engine
from ..settings import VERSION, Settings
from .api import add_api, body_limit
from .guard import LOCAL_NAMES, Guard, admin_token
from .browser import CSS, HEAD
from .chat import build
from ..feedback import Feedback
from ..uploads import Uploads
from .workers import Searchers


def serve(settings: Settings, port: int | None = None) -> None:
    """Serve the chat at / and the JSON API at /api/ (docs at /docs) on 127.0.0.1:port until stopped."""
    port = port or settings.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = Engine(settings=settings, update="none")     # listen at once: what is pending embeds behind
    token, made = admin_token(settings.admin_token, settings.token_file())
    uploads = Uploads(engine, settings.index_dir / "uploads.json")
    uploads.resume()
    searchers = Searchers(engine, settings.workers) if settings.workers > 1 else None
    ask = searchers.ask if searchers else engine.ask
    feedback = Feedback(settings.feedback_file())
    demo = build(engine, uploads, ask, token, feedback)
    demo.queue(default_concurrency_limit=4, max_size=256)
    server = FastAPIOffline(title="reform-qa", summary="Cited passages from Chinese government reform documents",
                     version=VERSION)
    add_api(server, engine, uploads, ask, token, feedback)
    server = gr.mount_gradio_app(server, demo, path="/", css=CSS, head=HEAD,
                                 max_file_size=f"{engine.settings.max_file_mb:g}mb")
    hosts = {*LOCAL_NAMES, settings.host, *settings.allowed_hosts}
    guarded = Guard(server, hosts, set(settings.cors_origins), body_limit(engine))
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"reform-qa: chat on http://{shown}:{port}/ , JSON API on http://{shown}:{port}/api/ "
          f"(docs: /docs){f', searches on {settings.workers} worker processes' if searchers else ''}", flush=True)
    where = "QA_ADMIN_TOKEN" if settings.admin_token else f"{settings.token_file()} ({'made now' if made else 'kept'})"
    print(f"reform-qa: uploads and deletes need the admin token, in {where}", flush=True)
    try:
        uvicorn.run(guarded, host=settings.host, port=port, log_level="warning")
    finally:
        if searchers:
            searchers.close()


def main() -> None:
    """Serve on 127.0.0.1 with the settings from the environment (port: GRADIO_SERVER_PORT, else 7860)."""
    settings = Settings.from_env()
    serve(settings, settings.port)
