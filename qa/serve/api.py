"""API: the plain JSON HTTP API beside the chat, on the same server: POST /api/search, GET/POST/DELETE
/api/documents, GET /api/uploads/{id}, GET /api/health. Its OpenAPI schema says what the server accepts; bad input gets a 4xx naming the field
and the fix, never a 500; answers are UTF-8 JSON (Chinese readable in curl)."""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ..ranking.answer import Answer, answer_json
from ..engine import Engine, stats
from ..batch import Jobs
from ..documents.document import IngestError
from ..feedback import Feedback, FeedbackError
from ..stores import StoreError
from ..uploads import Uploads
from .document_view import document_file, document_page, original_file
from .guard import bearer_ok
from .schema import (ERRORS, WRITE_ERRORS, UTF8JSON, BatchResponse, DocumentsResponse, FeedbackRequest,
                     FeedbackResponse, HealthResponse, RemovedResponse, SearchRequest, SearchResponse, UploadResponse)

MAX_BODY_BYTES = 64 * 1024    # a question, its history and filters fit in far less
BATCH_BYTES = 8 * 2**20       # a question list: 1,000 questions with expected texts are about 200 KB

log = logging.getLogger("reform-qa")


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
        if method == "POST" and path == "/api/batch":
            return BATCH_BYTES
        return MAX_BODY_BYTES if path.startswith("/api/") else 2**20
    return limit


def add_api(app: FastAPI, engine: Engine, uploads: Uploads | None = None,
            ask: Callable[..., Answer] | None = None, token: str | None = None,
            feedback: Feedback | None = None) -> None:
    """Mount the JSON API routes and their error handling on a FastAPI app (uploads: shared with the chat;
    ask: where searches run, Engine.ask unless search workers take them; token: the admin token that
    uploads and deletes need, None for no writes at all)."""
    uploads = uploads or Uploads(engine)
    ask = ask or engine.ask
    feedback = feedback or Feedback(engine.settings.feedback_file())
    jobs = Jobs(engine, engine.settings.max_batch_questions)
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
        known = {d.doc_id for d in engine.listing().documents}
        unknown = [d for d in body.doc_ids or () if d not in known]
        if unknown:
            raise ApiError("doc_ids", f"unknown document {unknown[0]!r}: ids are listed by GET /api/documents")
        answer = ask(body.question, k=body.k, history=body.history, doc_ids=body.doc_ids, district=body.district,
                     year=body.year)
        feedback.remember(answer, body.history, engine.listing().fingerprint)
        return answer_json(answer)

    @app.post("/api/feedback", tags=["feedback"], summary="Judge an answer", status_code=201,
              response_class=UTF8JSON, response_model=FeedbackResponse, responses={422: ERRORS[422]})
    def judge(body: FeedbackRequest) -> dict:
        """Store a judgement of an answer this server gave (answer_id from POST /api/search); with
        `chunk_id` the hit that does answer. `reform-qa feedback export` turns judgements into gold questions."""
        try:
            judged = feedback.judge(body.answer_id, body.verdict, body.chunk_id, body.note)
        except FeedbackError as e:
            raise ApiError(e.field, e.message) from e
        return {"id": judged, "message": "thank you: the judgement is stored"}

    @app.get("/documents/{doc_id}", tags=["corpus"], summary="A document as a page: each hit's url opens it at "
             "the passage", response_class=HTMLResponse, responses={404: {"description": "no such document"}})
    def document(doc_id: str) -> HTMLResponse:
        """The document's passages under their headings, each with the element id a hit's url names
        (#c-<chunk_id>; #p<N> for paragraph N), highlighted when targeted; its metadata and original."""
        page = document_page(engine.settings.data_dir, doc_id)
        if page is None:
            return HTMLResponse(f"<!doctype html><meta charset='utf-8'><p>没有这个文档：{escape(doc_id[:100])}。"
                                "<a href='/'>返回</a></p>", status_code=404)
        return HTMLResponse(page)

    @app.get("/documents/{doc_id}/original", tags=["corpus"], summary="The file a document was added from",
             responses={404: ERRORS[404]})
    def original(doc_id: str):
        """The uploaded or added file as it was (docx, pdf, html, txt), for checking a citation in it."""
        path = original_file(engine.settings.data_dir, doc_id) if document_file(engine.settings.data_dir, doc_id) else None
        if path is None:
            return error(404, "doc_id", f"no original file for {doc_id[:100]!r}: documents are listed by "
                                        "GET /api/documents; the shipped ones have only their text (GET /documents/ID)")
        return FileResponse(path, filename=path.name)

    @app.get("/api/documents", tags=["corpus"], summary="The documents of the corpus", response_class=UTF8JSON,
             response_model=DocumentsResponse, responses={503: ERRORS[503]})
    def documents() -> dict:
        """Each document's id, title, date, district, author and passage count."""
        counts = stats(engine)["per_document"]
        return {"documents": [{"id": d.doc_id, "title": d.title, "date": d.date, "district": d.district,
                               "author": d.author, "passages": counts[d.doc_id]["passages"]}
                              for d in engine.listing().documents]}

    @app.delete("/api/documents/{doc_id}", tags=["corpus"], summary="Remove a document from the corpus and index",
                response_class=UTF8JSON, response_model=RemovedResponse, dependencies=[Depends(admin)],
                responses={404: ERRORS[404], 503: ERRORS[503], **WRITE_ERRORS})
    def remove(doc_id: str) -> dict:
        """Delete one document: its file in the corpus folder and its passages in the index. The only
        way, with `reform-qa index --rebuild`, that passages leave the index."""
        try:                              # a document still being embedded can be deleted too
            return {"removed": doc_id, "message": engine.remove(doc_id)}
        except IngestError:
            return error(404, "doc_id", f"no document {doc_id[:100]!r}: ids are listed by GET /api/documents")

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

    @app.post("/api/batch", tags=["batch"], summary="Answer a list of questions: a checked report", status_code=202,
              response_class=UTF8JSON, response_model=BatchResponse, responses={413: ERRORS[413], 422: ERRORS[422]})
    def batch(file: Annotated[UploadFile, File(description=".csv, .xlsx or .txt: one question a row, an optional "
                                                           "`expected` column the answer must contain")]) -> dict:
        """Read the list now (a bad one is a 422 naming what is wrong) and answer it in the background."""
        name = Path((file.filename or "questions.txt").replace("\\", "/")).name[-120:]
        with tempfile.TemporaryDirectory(prefix="qa-batch-") as folder:
            path = Path(folder) / ("questions" + Path(name).suffix.lower())
            path.write_bytes(file.file.read())
            try:
                return jobs.start(path).json()
            except IngestError as e:
                raise ApiError("file", str(e).replace(path.name, name)) from e

    @app.get("/api/batch/{job_id}", tags=["batch"], summary="How far a batch is", response_class=UTF8JSON,
             response_model=BatchResponse, responses={404: ERRORS[404]})
    def batch_status(job_id: str) -> dict:
        job = jobs.get(job_id)
        if job is None:
            return error(404, "job_id", f"no batch {job_id[:100]!r} on this server: POST /api/batch returns the id")
        return job.json()

    @app.get("/api/batch/{job_id}/report.{kind}", tags=["batch"], summary="A finished batch's report",
             responses={200: {"content": {"application/octet-stream": {}}}, 404: ERRORS[404], 422: ERRORS[422]})
    def batch_report(job_id: str, kind: str):
        """The report as .xlsx (rows and a summary sheet), .csv or .html, once the batch is done."""
        job = jobs.get(job_id)
        if job is None or job.state != "done":
            return error(404, "job_id", f"no finished batch {job_id[:100]!r}: wait until GET /api/batch/{{id}} says done")
        if kind not in ("xlsx", "csv", "html"):
            raise ApiError("kind", f"report.{kind[:20]} is not a report: use report.xlsx, report.csv or report.html")
        path = jobs.report(job, "." + kind)
        return FileResponse(path, filename=f"reform-qa-report.{kind}")

    @app.get("/api/health", tags=["corpus"], summary="Model, corpus and index build", response_class=UTF8JSON,
             response_model=HealthResponse, responses={503: ERRORS[503]})
    def health() -> dict:
        """Whether the engine is ready, with the model, document and passage counts and the index build."""
        info = stats(engine)
        return {"status": "indexing" if uploads.busy() else "ok", "model": info["model"], "documents": info["documents"],
                "passages": info["passages"], "index": engine.listing().fingerprint,
                "calibration": engine.calibration.note or ("fitted" if engine.calibration.fitted else
                                                           "not calibrated: run python -m qa calibrate"),
                "notices": engine.report.notices(), "embedding": uploads.embedding()}
