"""API: the plain JSON HTTP API beside the chat, on the same server: POST /api/search, GET/POST/DELETE
/api/documents, GET /api/uploads/{id}, GET /api/health. Its OpenAPI schema says what the server accepts; bad input gets a 4xx naming the field
and the fix, never a 500; answers are UTF-8 JSON (Chinese readable in curl)."""
from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ..answer import HIT_JSON, Answer, Hit, answer_json
from ..engine import Engine, stats
from ..settings import K, MAX_K
from ..stores import StoreError
from ..uploads import Uploads
from .guard import bearer_ok

MAX_BODY_BYTES = 64 * 1024    # a question, its history and filters fit in far less
MAX_HISTORY = 20              # earlier questions taken for a follow-up
MAX_CHARS = 2000              # a question or an earlier one (the engine searches the first 500)

log = logging.getLogger("reform-qa")


class UTF8JSON(JSONResponse):
    """JSON with Chinese as written, not \\u escapes."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class SearchRequest(BaseModel):
    """A question with its earlier questions and filters; the answer is `ask --json`'s shape."""
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_CHARS, pattern=r"\S",
                          description="the question, Chinese or English", examples=["2019年镇海GDP是多少？"])
    k: int = Field(K, ge=1, le=MAX_K, description="passages to return")
    history: list[Annotated[str, Field(max_length=MAX_CHARS)]] = Field(default_factory=list, max_length=MAX_HISTORY,
                               description="earlier questions of the conversation, oldest first (for follow-ups)")
    district: str | None = Field(None, max_length=64, description="only documents of this district (one of "
                                 "GET /api/documents' districts, e.g. 镇海); another is a 422")
    year: int | None = Field(None, ge=1900, le=2100, description="only documents dated in this year")
    doc_ids: list[str] | None = Field(None, max_length=500, description="only these documents (ids from "
                                      "GET /api/documents); an unknown id is a 422")


HitOut = create_model("HitOut", __doc__="One cited passage.",   # the Hit fields the JSON answers carry
                      **{f.name: ({"str": str, "int": int, "float": float}[f.type], ...)
                         for f in fields(Hit) if f.name in HIT_JSON})


class SearchResponse(BaseModel):
    """The answer: passages best first, the best sentence, and whether nothing reliable was found."""
    question: str
    query: str = Field(description="what was searched: the question, rewritten for a follow-up")
    abstained: bool = Field(description="true: the documents do not reliably answer; hits are the nearest")
    confidence: float
    best_sentence: str
    notices: list[str]
    hits: list[HitOut]


class DocumentOut(BaseModel):
    id: str
    title: str
    date: str
    district: str
    author: str
    passages: int


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]


class HealthResponse(BaseModel):
    status: str
    model: str
    documents: int
    passages: int
    index: str
    calibration: str
    notices: list[str] = Field(description="how the index differs from this server's corpus folder, if it does")


class RemovedResponse(BaseModel):
    removed: str
    message: str


class FileOut(BaseModel):
    name: str
    status: str = Field(description="added, skipped (already in the corpus) or error")
    message: str
    id: str = Field(description="the document id, once added")


class UploadResponse(BaseModel):
    id: str = Field(description="follow it at GET /api/uploads/{id}")
    state: str = Field(description="embedding (searches still use the index as it was), done or failed")
    done: int = Field(description="passages embedded so far")
    total: int = Field(description="passages to embed (0 until counted, or when nothing new)")
    seconds_left: float | None
    error: str
    files: list[FileOut]


class ErrorResponse(BaseModel):
    """What went wrong, naming the field and the fix."""
    error: str
    field: str


ERRORS = {404: {"model": ErrorResponse, "description": "no such document or upload"},
          413: {"model": ErrorResponse, "description": "body over 64 KB (uploads: over the files' size limit)"},
          422: {"model": ErrorResponse, "description": "a field is invalid: the message names it and the fix"},
          503: {"model": ErrorResponse, "description": "the index store is not answering"}}
WRITE_ERRORS = {401: {"model": ErrorResponse, "description": "no admin token: send Authorization: Bearer TOKEN"},
                403: {"model": ErrorResponse, "description": "a wrong admin token, or a page of another origin"}}


class ApiError(Exception):
    """Bad input the schema cannot see (an unknown district or document); becomes a 422 naming the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def error(status: int, field: str, message: str) -> JSONResponse:
    return UTF8JSON({"error": f"{field}: {message}" if field else message, "field": field}, status_code=status)


def _explain(problem: dict) -> tuple[str, str]:
    """A validation problem as (field, message with the fix)."""
    where = [str(p) for p in problem.get("loc", ()) if p != "body"]
    field = ".".join(where) or "body"
    kind, ctx = problem.get("type", ""), problem.get("ctx", {})
    if kind == "missing":
        return field, "is required" + (': send {"question": "…"}' if field == "question" else "")
    if kind == "extra_forbidden":
        return field, "is not a field of this request: send question, k, history, district, year or doc_ids"
    if kind in ("less_than_equal", "greater_than_equal") and field in SearchRequest.model_fields:
        bounds = {k: getattr(m, k) for m in SearchRequest.model_fields[field].metadata for k in ("ge", "le")
                  if hasattr(m, k)}
        return field, f"must be between {bounds.get('ge')} and {bounds.get('le')} (got {problem.get('input')!r})"
    if kind == "too_long":
        if isinstance(problem.get("input"), list):
            return field, f"has too many items (at most {ctx.get('max_length')})"
        return field, f"is too long (at most {ctx.get('max_length')} characters)"
    if kind in ("string_too_short", "string_pattern_mismatch") and field == "question":
        return field, "is empty: send the question text"
    if kind == "json_invalid":
        return "body", "is not valid JSON: send a JSON object such as {\"question\": \"一号改革工程是什么？\"}"
    return field, f"{problem.get('msg', 'is invalid')} (got {str(problem.get('input'))[:80]!r})"


class Unauthorized(Exception):
    """A write without the admin token (401) or with a wrong one (403)."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def upload_bytes(engine: Engine) -> int:
    """The largest upload body: the files' count and size limits, plus the form around them."""
    return int(engine.settings.max_upload_files * engine.settings.max_file_mb * 2**20) + MAX_BODY_BYTES


def body_limit(engine: Engine):
    """(method, path) -> the body limit in bytes, for the guard: uploads by the files' limits, the API 64 KB,
    the chat's own calls 1 MB."""
    big = upload_bytes(engine)

    def limit(method: str, path: str) -> int:
        if (method == "POST" and path == "/api/documents") or path.startswith("/gradio_api/upload"):
            return big
        return MAX_BODY_BYTES if path.startswith("/api/") else 2**20
    return limit


def add_api(app: FastAPI, engine: Engine, uploads: Uploads | None = None,
            ask: Callable[..., Answer] | None = None, token: str | None = None) -> None:
    """Mount the JSON API routes and their error handling on a FastAPI app (uploads: shared with the chat;
    ask: where searches run, Engine.ask unless search workers take them; token: the admin token that
    uploads and deletes need, None for no writes at all)."""
    uploads = uploads or Uploads(engine)
    ask = ask or engine.ask
    max_files = engine.settings.max_upload_files
    bearer = HTTPBearer(auto_error=False, description="the admin token (QA_ADMIN_TOKEN, or the file the server "
                                                       "names when it starts)")

    def admin(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None:
            raise Unauthorized(401)
        if not token or not bearer_ok(f"Bearer {credentials.credentials}", token):
            raise Unauthorized(403)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized):
        if exc.status == 401:
            response = error(401, "authorization", "uploads and deletes need the admin token: send "
                             "Authorization: Bearer TOKEN (QA_ADMIN_TOKEN, or the file named when the server started)")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return error(403, "authorization", "the admin token is wrong: use the one in QA_ADMIN_TOKEN or in the file "
                                           "named when the server started")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        field, message = _explain(exc.errors()[0])
        return error(422, field, message)

    @app.exception_handler(HTTPException)
    async def unreadable(request: Request, exc: HTTPException):
        if exc.status_code == 400 and request.url.path.startswith("/api/"):   # a body not even UTF-8 JSON
            return error(422, "body", "is not valid JSON: send UTF-8 JSON such as {\"question\": \"一号改革工程是什么？\"}")
        if exc.status_code == 405:   # Starlette's Allow names the first route's methods only; /api/documents has two
            allowed = sorted({m for r in app.router.routes if isinstance(r, APIRoute)
                              and r.matches(request.scope)[0] != Match.NONE for m in r.methods})
            response = error(405, "method", f"{request.method} is not served here: use {', '.join(allowed)}")
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return await http_exception_handler(request, exc)

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError):
        log.error("store failed", exc_info=exc)
        return error(503, "", f"the index store is not answering: {exc}")

    @app.exception_handler(ApiError)
    async def bad_value(request: Request, exc: ApiError):
        return error(422, exc.field, exc.message)

    @app.post("/api/search", tags=["search"], summary="Cited passages for a question", response_class=UTF8JSON,
              response_model=SearchResponse, responses=ERRORS)
    def search(body: SearchRequest) -> dict:
        """The best k passages with citations, the best sentence, confidence and abstention; with
        `history`, a follow-up (“那江北呢？”) is searched with the earlier questions (see `query`)."""
        if not body.question.strip():
            raise ApiError("question", "is empty: send the question text")
        if body.district and body.district not in engine.districts:
            raise ApiError("district", f"unknown district {body.district!r}: use one of {', '.join(engine.districts)}")
        known = {d.doc_id for d in engine.store.documents}
        unknown = [d for d in body.doc_ids or () if d not in known]
        if unknown:
            raise ApiError("doc_ids", f"unknown document {unknown[0]!r}: ids are listed by GET /api/documents")
        return answer_json(ask(body.question, k=body.k, history=body.history, doc_ids=body.doc_ids,
                                      district=body.district, year=body.year))

    @app.get("/api/documents", tags=["corpus"], summary="The documents of the corpus", response_class=UTF8JSON,
             response_model=DocumentsResponse, responses={503: ERRORS[503]})
    def documents() -> dict:
        """Each document's id, title, date, district, author and passage count."""
        counts = stats(engine)["per_document"]
        return {"documents": [{"id": d.doc_id, "title": d.title, "date": d.date, "district": d.district,
                               "author": d.author, "passages": counts[d.doc_id]["passages"]}
                              for d in engine.store.documents]}

    @app.delete("/api/documents/{doc_id}", tags=["corpus"], summary="Remove a document from the corpus and index",
                response_class=UTF8JSON, response_model=RemovedResponse, dependencies=[Depends(admin)],
                responses={404: ERRORS[404], 503: ERRORS[503], **WRITE_ERRORS})
    def remove(doc_id: str) -> dict:
        """Delete one document: its file in the corpus folder and its passages in the index. The only
        way, with `reform-qa index --rebuild`, that passages leave the index."""
        if doc_id not in {d.doc_id for d in engine.store.documents}:
            return error(404, "doc_id", f"no document {doc_id[:100]!r}: ids are listed by GET /api/documents")
        return {"removed": doc_id, "message": engine.remove(doc_id)}

    @app.post("/api/documents", tags=["corpus"], summary="Add documents: they are searchable once embedded",
              status_code=202, response_class=UTF8JSON, response_model=UploadResponse, dependencies=[Depends(admin)],
              responses={413: ERRORS[413], 422: ERRORS[422], **WRITE_ERRORS})
    def upload(files: Annotated[list[UploadFile], File(description="txt/md (any Chinese encoding), docx, pdf "
                                                                   "with a text layer, html")],
               title: Annotated[str | None, Form(max_length=200)] = None,
               date: Annotated[str | None, Form(max_length=40)] = None,
               district: Annotated[str | None, Form(max_length=40)] = None) -> dict:
        """Each file is read and added to the corpus at once (a bad one is reported, the rest go on);
        their passages are then embedded in the background while searches use the index as it was.
        Follow the returned id at GET /api/uploads/{id}."""
        if len(files) > max_files:
            raise ApiError("files", f"{len(files)} files: send at most {max_files} per upload")
        with tempfile.TemporaryDirectory(prefix="qa-upload-") as folder:
            paths, names = [], []
            for i, f in enumerate(files):
                name = Path((f.filename or "").replace("\\", "/").replace("\0", "")).name[-120:] or f"upload-{i}.txt"
                path = Path(folder) / str(i) / name      # messages name the file as the user sent it
                path.parent.mkdir()
                path.write_bytes(f.file.read())
                paths.append(path)
                names.append(name)
            started = uploads.start(paths, names, title or None, date or None, district or None)
        if all(f.status == "error" for f in started.files):
            return error(422, "files", "no file could be added: " + "; ".join(f.message for f in started.files)[:2000])
        return started.json()

    @app.get("/api/uploads/{upload_id}", tags=["corpus"], summary="How far an upload's embedding is",
             response_class=UTF8JSON, response_model=UploadResponse, responses={404: ERRORS[404]})
    def upload_status(upload_id: str) -> dict:
        """An upload's files and embedding progress: passages done of total, seconds left, then done."""
        found = uploads.get(upload_id)
        if found is None:
            return error(404, "upload_id", f"no upload {upload_id[:100]!r} on this server: POST /api/documents "
                                           "returns the id")
        return found.json()

    @app.get("/api/health", tags=["corpus"], summary="Model, corpus and index build", response_class=UTF8JSON,
             response_model=HealthResponse, responses={503: ERRORS[503]})
    def health() -> dict:
        """Whether the engine is ready, with the model, document and passage counts and the index build."""
        info = stats(engine)
        return {"status": "ok", "model": info["model"], "documents": info["documents"],
                "passages": info["passages"], "index": engine.store.fingerprint,
                "calibration": engine.calibration.note or ("fitted" if engine.calibration.fitted else
                                                           "not calibrated: run python -m qa calibrate"),
                "notices": engine.store.report.notices()}
