"""Schema: the JSON API's request and answer models (what /openapi.json declares) and its JSON response."""
from __future__ import annotations

import json
from dataclasses import fields
from typing import Annotated, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..ranking.answer import HIT_JSON, Hit
from ..settings import K, MAX_K, Settings

MAX_HISTORY = 20              # earlier questions taken for a follow-up
MAX_CHARS = Settings.max_input_chars   # a question or an earlier one (the engine shortens past max_question_chars)


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
                         for f in fields(Hit) if f.name in HIT_JSON},
                      url=(str, Field(description="the passage in its document: /documents/{doc_id}#c-{chunk_id}, "
                                                  "relative to the server")))


class SearchResponse(BaseModel):
    """The answer: passages best first, the best sentence, and whether nothing reliable was found."""
    answer_id: str = Field(description="name it in POST /api/feedback to judge this answer")
    question: str
    query: str = Field(description="what was searched: the question, rewritten for a follow-up")
    abstained: bool = Field(description="true: the documents do not reliably answer; hits are the nearest")
    confidence: float
    best_sentence: str
    notices: list[str]
    language: Literal["zh", "en"] = Field(description="the notices' language: the question's, unless QA_LANGUAGE fixes one")
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
    status: str = Field(description="ok, or indexing while documents added before a restart or uploaded are "
                                    "embedded (searches answer from the index as it is)")
    model: str
    documents: int
    passages: int
    index: str
    calibration: str
    notices: list[str] = Field(description="how the index differs from this server's corpus folder, if it does")
    embedding: dict[str, int] = Field(default_factory=dict, description="passages done and total of what is "
                                                                        "being embedded now")


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


class FeedbackRequest(BaseModel):
    """A judgement of an answer this server gave."""
    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(min_length=1, max_length=64, description="the answer_id of a search's answer")
    verdict: Literal["right", "wrong", "not_in_documents", "wrong_citation"] = Field(
        description="right; wrong; not_in_documents (it should have said the documents do not say); "
                    "wrong_citation")
    chunk_id: str | None = Field(None, max_length=64, description="the hit that is the answer (这段才是答案)")
    note: str = Field("", max_length=2000)


class FeedbackResponse(BaseModel):
    id: int
    message: str


class BatchResponse(BaseModel):
    id: str = Field(description="follow it at GET /api/batch/{id}; the report at GET /api/batch/{id}/report.xlsx")
    state: str = Field(description="running, done or failed")
    done: int
    total: int
    error: str
    summary: dict | None = Field(description="once done: answer rate, abstentions; hit@1, hit@3, MRR@10 where "
                                             "`expected` was given")


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
