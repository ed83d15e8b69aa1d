"""Conversation: rewrite a follow-up question with the context of the questions before it."""
from __future__ import annotations

import re

_FOLLOW_UP = re.compile(r"^(那么?|那|还有|另外|同时|其中|它|其|他|她|这|该|此|what about|and|how about)", re.I)
_YEAR = re.compile(r"(19|20)\d{2}年?")
_TAIL = re.compile(r"[呢吗啊呀？?。！!\s]+$")
PLACES = ("宁波", "浙江", "杭州")


def rewrite(question: str, history: list[str], districts: list[str] = ()) -> str:
    """The question to search: the question itself, or, for a follow-up, the previous question with
    its district or year replaced (“那江北呢？”) or extended by the new words (“增长了多少？”).

    A question is a follow-up when there is history and it is short (at most 12 characters) or
    opens with a linking word (那/还有/它/what about…). The rule is simple so it can be shown.
    """
    question = question.strip()
    previous = next((h.strip() for h in reversed(history) if h and h.strip()), "")
    if not previous or not question:
        return question
    if len(question) > 12 and not _FOLLOW_UP.match(question):
        return question
    core = _TAIL.sub("", _FOLLOW_UP.sub("", question)).strip(" ，,")
    places = [p for p in (*districts, *PLACES) if p]
    new_place = next((p for p in places if p in core), None)
    old_place = next((p for p in places if p in previous), None)
    new_year, old_year = _YEAR.search(core), _YEAR.search(previous)
    base = _TAIL.sub("", previous)
    if new_place and old_place and core.replace(new_place, "").strip() == "":
        return base.replace(old_place, new_place) + "？"
    if new_year and old_year and _YEAR.sub("", core).strip() == "":
        return base.replace(old_year.group(0), new_year.group(0)) + "？"
    if new_place and old_place and len(core) <= 12:
        return base.replace(old_place, new_place) + " " + core.replace(new_place, "").strip()
    return f"{base} {core}".strip()
