"""Starting: the port answers at once while the app loads — a 正在启动 page (JSON for /api/) that names the
step and refreshes itself, then the app itself. The terminal prints each step with its time."""
from __future__ import annotations

import asyncio
import html
import json
import threading
import time
from collections.abc import Callable

from ..wording import Language
from .labels import word

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>reform-qa {starting}</title><style>body{{font:16px/1.6 system-ui,sans-serif;margin:15vh auto;max-width:36em;
color:#222;background:#fff}} @media (prefers-color-scheme: dark){{body{{color:#eee;background:#111}}}}</style></head>
<body><h1>reform-qa {starting}</h1><p>{step}{waited}</p>
<p>{refreshes}</p></body></html>"""


def early_request(scope) -> bool:
    """What the JSON API answers before the chat page has loaded: searches and reading documents (not the
    health, which says when the whole app is up, nor any write)."""
    path, method = scope["path"], scope["method"]
    return (method == "POST" and path == "/api/search") or (method == "GET" and (
        path == "/api/documents" or path.startswith("/documents/")))


class Starting:
    """An ASGI app that answers 503 with the current start-up step until `ready(app)` hands it the real
    app, whose lifespan it then starts; from then on every request goes to that app. Before that,
    `early(app)` may hand it the JSON API alone, which answers the early requests (early_request)."""

    def __init__(self, say: Callable[[str], None] = print, language: Language = "zh"):
        self.app = None
        self.api = None
        self.language = language
        self.step = word("starting", language)
        self.failed = ""
        self.started = time.monotonic()
        self._say = say
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listening = threading.Event()    # set once uvicorn runs this app's lifespan
        self._lifespan: asyncio.Queue | None = None

    def at(self, step: str) -> None:
        """Enter a start-up step (shown on the page, printed with the time so far)."""
        self.step = step
        self._say(f"reform-qa: {step} ({time.monotonic() - self.started:.1f} s)")

    def ready(self, app) -> None:
        """Hand over the real app (from the thread that built it): its lifespan starts, then it serves."""
        if not self._listening.wait(120):
            raise RuntimeError("uvicorn did not start within 120 s: is the port free?")
        asyncio.run_coroutine_threadsafe(self._start(app), self._loop).result()

    def early(self, api) -> None:
        """Hand over the JSON API (no lifespan of its own) to answer searches while the chat page loads."""
        self.api = api

    def fail(self, message: str) -> None:
        """Start-up failed: the page says why (the terminal has the traceback)."""
        self.failed = message
        self.at(word("start_failed", self.language, why=message))

    async def _start(self, app) -> None:
        queue, done, said = asyncio.Queue(), asyncio.Event(), {}

        async def send(message):
            if message["type"].startswith("lifespan.startup"):
                said.update(message)
                done.set()
        await queue.put({"type": "lifespan.startup"})
        asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, queue.get, send))
        await done.wait()
        if said["type"] == "lifespan.startup.failed":   # the app's own start-up failed: say so, serve nothing
            raise RuntimeError(f"the app did not start: {said.get('message') or 'its start-up failed'}")
        self._lifespan, self.app = queue, app

    async def __call__(self, scope, receive, send):
        if self.app is not None and scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] == "lifespan":
            return await self._own_lifespan(receive, send)
        if scope["type"] != "http":
            return None
        if self.api is not None and early_request(scope):
            return await self.api(scope, receive, send)
        await self._starting_page(scope, send)

    async def _own_lifespan(self, receive, send) -> None:
        self._loop = asyncio.get_running_loop()
        self._listening.set()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._lifespan is not None:
                    await self._lifespan.put({"type": "lifespan.shutdown"})
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _starting_page(self, scope, send) -> None:
        seconds = time.monotonic() - self.started
        if scope["path"].startswith("/api/"):
            said = {"status": "failed" if self.failed else "starting", "step": self.step, "seconds": round(seconds, 1)}
            if scope["path"] == "/api/health":   # the health's shape, nothing embedding yet
                said["embedding"] = {"done": 0, "total": 0}
            body = json.dumps(said, ensure_ascii=False).encode()
            kind = b"application/json"
        else:
            lang = self.language
            body = PAGE.format(lang=lang, starting=word("starting", lang), step=html.escape(self.step),
                               waited=word("waited", lang, seconds=seconds), refreshes=word("refreshes", lang)).encode()
            kind = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", kind), (b"retry-after", b"2"), (b"cache-control", b"no-store"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
