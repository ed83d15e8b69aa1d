"""Decide: answer or abstain, in one place — the engine, the chat and `eval` all read this decision."""
from __future__ import annotations

from dataclasses import dataclass

from .answer import confidence
from .calibration import Calibration
from .passages import Context
from .query import Query
from .rerank import unsupported
from ..wording import Language, joined, say


@dataclass(frozen=True)
class Decision:
    """Whether the top passage answers: its confidence (0..1), and the years and places the question names
    that the passage and its document never mention (any one of them means abstain)."""
    abstained: bool
    confidence: float
    missing: tuple[str, ...] = ()


def decide(query: Query, top: Context, dense: float, calibration: Calibration, cross_lingual: bool,
           answers: float | None = None, learned_below: float = 0.5) -> Decision:
    """The learned stage's probability against its threshold (`answers`, from the cross-encoder), else the
    rule stage's calibrated confidence (term coverage and cosine) against the calibration's; a named year or
    place the top passage lacks abstains either way."""
    missing = tuple(unsupported(query.wanted, top.text, top.date))
    ruled = 0.0 if missing else confidence(query.terms, "\n".join(top.normalized), dense, calibration, cross_lingual)
    if answers is None:
        return Decision(bool(missing) or ruled < calibration.abstain_below, round(ruled, 4), missing)
    sure = 0.0 if missing else float(answers)
    # The rules' confidence at 0 (no term of the question in the passage, its cosine under the model's floor)
    # abstains too: the cross-encoder alone gave 如何申请美国签证 a passage (dev: recall 0.675 -> see card).
    return Decision(bool(missing) or sure < learned_below or ruled <= 0.0, round(sure, 4), missing)


def instead(missing: tuple[str, ...], citation: str, said: str, language: Language = "zh") -> str:
    """What the documents do have, when they do not answer: the nearest passage's citation and sentence."""
    lacking = say("lacking", language, terms=joined(missing, language)) if missing else say("no_answer", language)
    return say("nearest", language, lacking=lacking, citation=citation, said=said[:120])
