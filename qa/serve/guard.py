"""Guard: what every request to the server passes before any route sees it — the Host it names must be one
the server serves (no DNS rebinding, reads included), a page of another origin cannot change anything
(no cross-site writes; CORS only for the read origins a setting lists, never with credentials), bodies
are bounded however they are sent (chunked included), and TRACE/CONNECT are refused."""
from __future__ import annotations

import hmac
import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = frozenset({"TRACE", "CONNECT"})
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


class BodyTooLarge(Exception):
    """A request body passed its limit while being read."""


def hostname(value: str) -> str:
    """The name in a Host header or an origin's netloc, without port or brackets, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def admin_token(configured: str | None, path: Path) -> tuple[str, bool]:
    """The admin token: the configured one, else the one kept at `path`, else a new one written there
    (readable by its owner only). Returns it and whether it was made now."""
    if configured:
        return configured, False
    try:
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept, False
    except OSError:
        pass
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(token + "\n", encoding="utf-8")
    tmp.replace(path)
    return token, True


def bearer_ok(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries the admin token (compared in constant time)."""
    scheme, _, value = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


class Guard:
    """Pure ASGI middleware over the whole app (chat and API alike)."""

    def __init__(self, app, hosts: set[str], read_origins: set[str], limit_for):
        self.app = app
        self.hosts = {hostname(h) for h in hosts}
        self.read_origins = {o.rstrip("/").lower() for o in read_origins}
        self.limit_for = limit_for        # (method, path) -> the body limit in bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        host = headers.get("host", "")
        if hostname(host) not in self.hosts:
            return await _refuse(send, 403, "host", f"the Host {host[:100]!r} is not a name this server serves: "
                                 "open it as http://127.0.0.1:PORT/, or add the name to QA_ALLOWED_HOSTS")
        if method in REFUSED:
            return await _refuse(send, 405, "method", f"{method} is not served here")
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc.lower() == host.lower():
            origin = None                                       # same origin
        listed = origin is not None and origin.rstrip("/").lower() in self.read_origins
        if origin is not None and method == "OPTIONS" and "access-control-request-method" in headers:
            if listed and path == "/api/search":
                return await _preflight(send, origin)
            return await _refuse(send, 403, "origin", f"a page of {origin[:100]!r} may not call this server "
                                 "(list it in QA_CORS_ORIGINS to let it search)")
        if origin is not None and (method not in SAFE or scope["type"] == "websocket"):
            if not listed or not _is_read(method, path):
                return await _refuse(send, 403, "origin", f"a page of {origin[:100]!r} cannot change or use this "
                                     "server; open the app itself, or list the origin in QA_CORS_ORIGINS for searches")
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        limit = self.limit_for(method, path)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            return await _refuse(send, 413, "body", f"is {int(length)} bytes, over the {limit} byte limit")
        seen, started, over = 0, False, False
        too_large = f"is over the {limit} byte limit (sent in pieces)"

        async def counted():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge
            return message

        async def watched(message):
            nonlocal started
            if over:                         # whatever the app made of the cut body, the answer is a 413
                if not started:
                    started = True
                    await _refuse(send, 413, "body", too_large)
                return
            if message["type"] == "http.response.start":
                started = True
                if origin is not None:       # no CORS answer but ours: never credentials, only listed origins
                    kept = [(k, v) for k, v in message.get("headers", ()) if not k.lower().startswith(b"access-control-")]
                    if listed and _is_read(method, path):
                        kept.append((b"access-control-allow-origin", origin.encode("latin-1")))
                    message = {**message, "headers": kept}
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, "body", too_large)


def _is_read(method: str, path: str) -> bool:
    return method == "POST" and path == "/api/search"


async def _preflight(send, origin: str) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": [
        (b"access-control-allow-origin", origin.encode("latin-1")), (b"access-control-allow-methods", b"POST"),
        (b"access-control-allow-headers", b"content-type"), (b"access-control-max-age", b"600")]})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send, status: int, field: str, message: str) -> None:
    body = json.dumps({"error": f"{field}: {message}", "field": field}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
