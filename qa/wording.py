"""Wording: which language a reply is in, and every notice an answer carries, in Chinese and in English."""
from __future__ import annotations

import re
from typing import Literal

from .settings import ReplyLanguage
from .text import has_chinese

Language = Literal["zh", "en"]
_LATIN = re.compile(r"[A-Za-z]{2,}")

NOTICES: dict[str, tuple[str, str]] = {
    "too_long": ("问题有{whole}字，超过{limit}字的上限：只检索了其中提问和信息最多的部分（{kept}字）：“{start}…”",
                 "The question has {whole} characters, over the limit of {limit}: only the part that asks and says "
                 "the most was searched ({kept} characters): “{start}…”"),
    "follow_up": ("结合上文检索：{searched}", "Searched together with the earlier questions: {searched}"),
    "pinyin": ("拼音人名/地名对应为：{names}", "Names in pinyin read as: {names}"),
    "empty": ("问题为空或没有可检索的内容", "The question is empty or has nothing to search for"),
    "expanded": ("同义扩展：{pairs}", "Also searched for: {pairs}"),
    "no_passages": ("筛选条件下没有可检索的段落", "No passage matches the filters"),
    "missing": ("最相关的段落及其文档没有提到：{terms}", "The best passage and its document do not mention: {terms}"),
    "lacking": ("文档中没有{terms}的相关内容", "The documents say nothing about {terms}"),
    "no_answer": ("文档中没有可靠的答案", "The documents hold no reliable answer"),
    "nearest": ("{lacking}；最接近的是{citation}：“{said}”", "{lacking}; the nearest is {citation}: “{said}”"),
}


def reply_language(question: str, setting: ReplyLanguage = "auto") -> Language:
    """The language to reply in: the one the setting fixes, else English for a question written in Latin
    letters without any Chinese, else Chinese."""
    if setting in ("zh", "en"):
        return setting
    return "en" if not has_chinese(question) and _LATIN.search(question or "") else "zh"


def say(key: str, language: Language = "zh", **values) -> str:
    """A notice in the reply's language, its {fields} filled from values."""
    return NOTICES[key][language == "en"].format(**values)


def joined(items, language: Language = "zh") -> str:
    """Items listed the way the language lists them: 、 in Chinese, a comma in English."""
    return ("、" if language == "zh" else ", ").join(items)
