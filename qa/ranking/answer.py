"""Answer: what the engine returns for a question, and how it is judged: the query's weighted terms,
confidence in the top passage, its best sentence, and abstention."""
from __future__ import annotations

import uuid
from urllib.parse import quote
from dataclasses import asdict, dataclass, field

import numpy as np

from .calibration import Calibration
from .rerank import Terms, gives, is_target
from ..wording import Language


@dataclass(frozen=True)
class Hit:
    """One ranked passage with the citation that locates it in its source document."""
    text: str
    score: float
    doc_id: str
    title: str
    date: str
    paragraph: int
    heading: str
    citation: str
    bm25: float = 0.0
    dense: float = 0.0
    chunk_id: str = ""
    district: str = ""
    author: str = ""
    page: int = 0

    @property
    def url(self) -> str:
        """Where the passage is shown in its document, relative to the server (/documents/{id}#c-{chunk})."""
        return f"/documents/{quote(self.doc_id, safe='')}#c-{self.chunk_id}"


@dataclass(frozen=True)
class Answer:
    """Hits for a question, its best sentence, and whether the engine abstained (nothing reliable)."""
    question: str
    hits: tuple[Hit, ...]
    best_sentence: str
    abstained: bool
    confidence: float
    query: str = ""                 # what was searched: the question, rewritten for follow-ups
    notices: tuple[str, ...] = field(default=())
    terms: tuple[str, ...] = ()     # the query's words and the glossary forms that met them (to highlight)
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)   # what feedback names it by
    language: Language = "zh"       # what the notices are in, and the chat's labels for it (wording)


# The fields of a Hit that the JSON answers carry (`ask --json`, the JSON API, gradio_client's /search).
HIT_JSON = ("text", "score", "doc_id", "title", "date", "paragraph", "page", "heading", "citation", "bm25", "dense",
            "chunk_id")


def answer_json(answer: Answer) -> dict:
    """The JSON shape shared by `ask --json`, the JSON API and the app's gradio_client /search."""
    return {"answer_id": answer.answer_id, "question": answer.question, "query": answer.query, "abstained": answer.abstained,
            "confidence": answer.confidence, "best_sentence": answer.best_sentence,
            "notices": list(answer.notices), "language": answer.language,
            "hits": [{**{k: v for k, v in asdict(h).items() if k in HIT_JSON}, "url": h.url} for h in answer.hits]}


def confidence(terms: Terms, found: str, dense: float, calibration: Calibration, cross_lingual: bool) -> float:
    """How surely a passage answers, 0..1: coverage_weight x the share of the query's term weight found in
    the passage or its heading (`found`), plus the rest x the calibrated dense score.
    For a question without Chinese (cross-lingual: few shared words) the calibrated dense score alone."""
    near = calibration.dense_score(dense, cross_lingual)
    if cross_lingual or not terms.weighted:
        return near
    return calibration.coverage_weight * terms.share(found) + (1 - calibration.coverage_weight) * near


def best_sentence(terms: Terms, sentences: list[str], normalized: list[str], wants: str = "", title: str = "",
                  result: bool = False) -> str:
    """The sentence that holds the most query term weight (the earlier one on a tie), never a question, a
    reporter's line or the document's title line while the passage has another; of those, one that gives
    the kind of answer asked (a person or body for "who": the byline with its role), and for a question
    asking what happened (result) one that does not state a target."""
    shares = np.array([terms.share(s) for s in normalized], float)
    if len(sentences) != len(shares):
        return sentences[int(np.argmax(shares))]
    unfit = np.array([is_question(s) or is_title(s, title) for s in sentences], bool)
    shares[unfit] = -1.0 if not unfit.all() else shares[unfit]
    fits = np.array([gives(wants, s) and not (result and is_target(s)) for s in sentences], bool) & ~unfit
    fits &= shares >= shares.max() / 2 if shares.max() > 0 else False   # a fitting kind among those on topic
    if wants and fits.any():
        shares = np.where(fits, shares + 1.0, shares)
    return sentences[int(np.argmax(shares))]


def is_title(sentence: str, title: str) -> bool:
    """Whether a sentence is the document's title line (《标题》, maybe with its date), which answers nothing."""
    text = sentence.strip()
    return bool(title) and text.startswith(f"《{title}》") and len(text) <= len(title) + 16


def is_question(sentence: str) -> bool:
    """A question or an interviewer's line (记者：…), which is no answer however many terms it shares."""
    text = sentence.strip()
    return text.endswith(("？", "?")) or text.startswith(("记者：", "记者:", "问：", "问:"))
