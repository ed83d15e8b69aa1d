"""Server: the chat at / and the JSON API at /api/ on one FastAPI app, served by uvicorn on 127.0.0.1."""
from __future__ import annotations

import logging

import gradio as gr
import uvicorn
from fastapi import FastAPI

from ..engine import Engine
from ..settings import VERSION, Settings
from .api import add_api
from .chat import CSS, HEAD, build
from ..uploads import Uploads
from .workers import Searchers


def serve(settings: Settings, port: int | None = None) -> None:
    """Serve the chat at / and the JSON API at /api/ (docs at /docs) on 127.0.0.1:port until stopped."""
    port = port or settings.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = Engine(settings=settings)
    uploads = Uploads(engine)
    searchers = Searchers(engine, settings.workers) if settings.workers > 1 else None
    ask = searchers.ask if searchers else engine.ask
    demo = build(engine, uploads, ask)
    demo.queue(default_concurrency_limit=4, max_size=256)
    server = FastAPI(title="reform-qa", summary="Cited passages from Chinese government reform documents",
                     version=VERSION)
    add_api(server, engine, uploads, ask)
    server = gr.mount_gradio_app(server, demo, path="/", css=CSS, head=HEAD,
                                 max_file_size=f"{engine.settings.max_file_mb:g}mb")
    print(f"reform-qa: chat on http://127.0.0.1:{port}/ , JSON API on http://127.0.0.1:{port}/api/ "
          f"(docs: /docs){f', searches on {settings.workers} worker processes' if searchers else ''}", flush=True)
    try:
        uvicorn.run(server, host="127.0.0.1", port=port, log_level="warning")
    finally:
        if searchers:
            searchers.close()


def main() -> None:
    """Serve on 127.0.0.1 with the settings from the environment (port: GRADIO_SERVER_PORT, else 7860)."""
    settings = Settings.from_env()
    serve(settings, settings.port)
