"""API: the plain JSON HTTP API beside the chat, on the same server: POST /api/search, GET /api/documents,
GET /api/health. Bad input gets a 4xx whose message names the field and the fix, never a 500."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .answer import answer_json
from .cli import stats
from .milvus_store import MilvusError
from .search import Engine

MAX_BODY_BYTES = 64 * 1024    # a question, its history and filters fit in far less
MAX_HISTORY = 20              # earlier questions taken for a follow-up

log = logging.getLogger("reform-qa")


class SearchRequest(BaseModel):
    """A question with its earlier questions and filters; the answer is `ask --json`'s shape."""
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="the question, Chinese or English", examples=["2019年镇海GDP是多少？"])
    k: int = Field(3, ge=1, le=50, description="passages to return")
    history: list[str] = Field(default_factory=list, max_length=MAX_HISTORY,
                               description="earlier questions of the conversation, oldest first (for follow-ups)")
    district: str | None = Field(None, description="only documents of this district, e.g. 镇海")
    year: int | None = Field(None, ge=1900, le=2100, description="only documents dated in this year")
    doc_ids: list[str] | None = Field(None, description="only these documents (ids from GET /api/documents)")


class ApiError(Exception):
    """Bad input the schema cannot see (an unknown district or document); becomes a 422 naming the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {message}" if field else message, "field": field}, status_code=status)


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
        return field, f"has too many items (at most {ctx.get('max_length')})"
    if kind == "json_invalid":
        return "body", "is not valid JSON: send a JSON object such as {\"question\": \"一号改革工程是什么？\"}"
    return field, f"{problem.get('msg', 'is invalid')} (got {str(problem.get('input'))[:80]!r})"


def add_api(app: FastAPI, engine: Engine) -> None:
    """Mount the JSON API routes and their error handling on a FastAPI app."""

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        size = request.headers.get("content-length")
        if request.url.path.startswith("/api/") and size and size.isdigit() and int(size) > MAX_BODY_BYTES:
            return error(413, "body", f"is {int(size)} bytes, over the {MAX_BODY_BYTES} byte limit: send a "
                                      "shorter question or fewer earlier questions")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        field, message = _explain(exc.errors()[0])
        return error(422, field, message)

    @app.exception_handler(MilvusError)
    async def store_down(request: Request, exc: MilvusError):
        log.error("store failed", exc_info=exc)
        return error(503, "", f"the index store is not answering: {exc}")

    @app.exception_handler(ApiError)
    async def bad_value(request: Request, exc: ApiError):
        return error(422, exc.field, exc.message)

    @app.post("/api/search", tags=["search"], summary="Cited passages for a question")
    def search(body: SearchRequest) -> dict:
        """The best k passages with citations, the best sentence, confidence and abstention; with
        `history`, a follow-up (“那江北呢？”) is searched with the earlier questions (see `query`)."""
        if not body.question.strip():
            raise ApiError("question", "is empty: send the question text")
        if body.district and body.district not in engine.districts:
            raise ApiError("district", f"unknown district {body.district!r}: use one of {', '.join(engine.districts)}")
        known = {d.doc_id for d in engine.index.documents}
        unknown = [d for d in body.doc_ids or () if d not in known]
        if unknown:
            raise ApiError("doc_ids", f"unknown document {unknown[0]!r}: ids are listed by GET /api/documents")
        return answer_json(engine.ask(body.question, k=body.k, history=body.history, doc_ids=body.doc_ids,
                                      district=body.district, year=body.year))

    @app.get("/api/documents", tags=["corpus"], summary="The documents of the corpus")
    def documents() -> dict:
        """Each document's id, title, date, district, author and passage count."""
        counts = stats(engine)["per_document"]
        return {"documents": [{"id": d.doc_id, "title": d.title, "date": d.date, "district": d.district,
                               "author": d.author, "passages": counts[d.doc_id]["passages"]}
                              for d in engine.index.documents]}

    @app.get("/api/health", tags=["corpus"], summary="Model, corpus and index build")
    def health() -> dict:
        """Whether the engine is ready, with the model, document and passage counts and the index build."""
        info = stats(engine)
        return {"status": "ok", "model": info["model"], "documents": info["documents"],
                "passages": info["passages"], "index": engine.index.fingerprint,
                "calibration": engine.calibration.note or ("fitted" if engine.calibration.fitted else
                                                           "not calibrated: run python -m qa calibrate")}
