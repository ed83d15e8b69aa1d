"""Page locale: Gradio's own labels (its footer, buttons and upload boxes) in the page's language. Gradio
takes them from the browser's language, read before the app's own head is added, so this wrapper puts a
script giving the page's language first in the chat page's HTML; every other request passes untouched."""
from __future__ import annotations


def locale_script(locale: str) -> bytes:
    """A script that makes navigator.language (and languages) say `locale`, e.g. zh-CN."""
    return (f"<script>for (const name of ['language', 'languages']) Object.defineProperty(Navigator.prototype, name, "
            f"{{configurable: true, get: () => name === 'language' ? '{locale}' : ['{locale}']}});"
            f"document.documentElement.lang = '{locale}';</script>").encode()


class PageLocale:
    """ASGI wrapper: GET / (the chat page) answers with the locale script first in its <head>."""

    def __init__(self, app, locale: str):
        self.app, self.script = app, locale_script(locale)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            return await self.app(scope, receive, send)
        start, body = {}, []

        async def rewrite(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = dict(start.get("headers", []))
            data = b"".join(body)
            if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                data = data.replace(b"<head>", b"<head>" + self.script, 1)
            kept = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": [*kept, (b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, rewrite)
