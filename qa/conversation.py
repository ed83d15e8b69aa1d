"""Conversation: rewrite a follow-up question with the context of the questions before it."""
from __future__ import annotations

import re

from .ranking.rerank import REGION

_FOLLOW_UP = re.compile(r"^(那么?|那|还有|另外|同时|其中|它|其|他|她|这|该|此|what about|and|how about)", re.I)
_YEAR = re.compile(r"(19|20)\d{2}年?")
_TAIL = re.compile(r"[呢吗啊呀？?。！!\s]+$")
_ASKING = re.compile(r"什么时候|什么|多少|怎么样|怎么|如何|哪些|哪里|哪个|是否|有没有|分别|是|了|的|有|呢|吗|啊|呀|[\s\W]")
OWN_TOPIC = 4   # a short question with more than this many characters of topic of its own is a new question
PLACES = REGION + ("浙江",)   # places a follow-up swaps (“那慈溪呢？”), besides the corpus's districts


def check_history(history) -> list[str]:
    """The earlier questions as a list of strings; anything else is refused with the fix."""
    if isinstance(history, (str, bytes)):
        raise TypeError(f"history must be a list of earlier questions, not one string ({str(history)[:40]!r}): "
                        "pass history=[\"2019年镇海GDP是多少？\"]")
    history = list(history or ())
    bad = next((h for h in history if not isinstance(h, str)), None)
    if bad is not None:
        raise TypeError(f"history must hold the earlier questions as strings, got {type(bad).__name__} "
                        f"{str(bad)[:60]!r}: pass the question texts, e.g. history=[\"2019年镇海GDP是多少？\"]")
    return history


def rewrite(question: str, history: list[str], districts: list[str] = ()) -> str:
    """The question to search: each earlier question is resolved against the one before it, so a chain
    of follow-ups (“2019年镇海GDP是多少？” → “那江北呢？” → “2020年呢？”) keeps its topic."""
    context = ""
    for earlier in history:
        context = rewrite_one(earlier, context, districts) if earlier.strip() else context
    return rewrite_one(question, context, districts)


def rewrite_one(question: str, previous: str, districts: list[str] = ()) -> str:
    """One follow-up against the previous (resolved) question: the previous question with its district
    or year replaced (“那江北呢？”) or extended by the new words (“增长了多少？”).

    A question is a follow-up when there is a previous one and it opens with a linking word
    (那/还有/它/what about…), or has at most OWN_TOPIC characters of topic once places, years and
    question words are set aside and is either short (at most 12 characters) or ends in 呢 (“增长了多少？”
    and “人均收入呢？” are; “三官堂大桥什么时候通车呢？” is not). The rule is simple so it can be shown.
    """
    question, previous = question.strip(), previous.strip()
    if not previous or not question:
        return question
    places = [p for p in (*districts, *PLACES) if p]
    topic = _ASKING.sub("", _YEAR.sub("", re.sub("|".join(map(re.escape, places)) or "$^", "", question)))
    if not (_FOLLOW_UP.match(question) or (len(topic) <= OWN_TOPIC and (len(question) <= 12 or
                                                                          re.search(r"呢[？?\s]*$", question)))):
        return question
    core = _TAIL.sub("", _FOLLOW_UP.sub("", question)).strip(" ，,")
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
