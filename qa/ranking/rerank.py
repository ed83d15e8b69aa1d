"""Rerank: a second stage over the fused candidates, checking the question's years and places
against each passage and rewarding query terms that meet in one sentence."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from jieba import posseg

from ..text import YEAR, normalize

# Second-stage constants, chosen on the dev split (`python -m qa eval --split dev`, see README):
RERANK_DEPTH = 20           # fused candidates the second stage rescores
MISMATCH_PENALTY = 0.5      # subtracted when a year or place named in the question is absent from the
                            # passage and its document (0.2 / 0.5 / 1.0 tried: 0.5 and 1.0 tie on dev)
PROXIMITY_WEIGHT = 0.3      # x share of query IDF found in the passage's best single sentence
                            # (0.1 / 0.2 / 0.3 / 0.4 tried; hit@1 on dev 0.868 -> 0.906)

# The corpus's region, named as places whatever jieba tags them (it misses 慈溪, 余姚, 奉化): Ningbo's
# districts and counties, and Zhejiang's cities. A question about one must find it in the passage.
REGION = ("海曙", "江北", "镇海", "北仑", "鄞州", "奉化", "余姚", "慈溪", "宁海", "象山", "宁波", "杭州", "温州",
          "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水")
_PLACE_SUFFIX = re.compile(r"^(.{2,})(市|区|县|省)$")
_ADMIN_WORDS = frozenset("省市区县镇乡村城")   # words made only of these (镇村, 乡镇, 城乡) are kinds of place
# Relative time words resolved against the document's date: “今年” in a 2020 report means 2020.
RELATIVE_YEARS = {"今年": 0, "本年": 0, "去年": -1, "上年": -1, "过去一年": -1, "一年来": -1, "明年": 1}


# The kind of answer a question wants, by its question words (first match wins): a person or body, a date,
# or a figure. A passage that holds the asked terms but no answer of that kind does not answer it.
WANTS = (("who", re.compile(r"谁|哪位|哪个部门|哪些部门|哪个单位|哪些单位|何人|\bwho(m|se)?\b|\bwhich (journalist|reporter|"
                            r"official|office|ministry|person|people|department|agency|body|leader|organi[sz]ation)s?\b", re.I)),
         ("when", re.compile(r"什么时候|何时|哪一年|哪年|哪一天|哪天|几月|几号|\bwhen\b|\bwhat year\b", re.I)),
         ("figure", re.compile(r"多少|几[个项成倍家座所条位次种年]|多大|多高|多快|多长|多远|比例|比重|占比|幅度|"
                               r"\bhow (many|much|fast|big|large|high|far)\b|\bwhat (share|percentage|proportion|rate)\b|"
                               r"\bby how much\b", re.I)))
_KIND = {"figure": re.compile(r"\d|[一二三四五六七八九十两百千万亿]+(个|项|成|倍|家|座|所|条|位|次|种|年|万|亿)"),
         "when": re.compile(r"(19|20)\d\d|\d{1,2}月|[一二三四五六七八九十]+月|今年|去年|明年"),
         "who": re.compile(r"书记|市长|区长|县长|省长|主任|主席|总理|局长|部长|厅|局|委员会|政府|中共中央|国务院|"
                           r"记者|作者|报告人|讲话人|[\u4e00-\u9fff]{1,3}(同志|先生|女士)")}
HEADER_PENALTY = 0.5        # the header passage (title, byline) ranks for a question that asks who, only

# A sentence or section that states a plan or target (“增长6%左右”, “二、2020年目标”), not what happened; a
# question for a figure that does not ask for a plan wants what was achieved, so a passage whose best
# sentence (or heading) is a target ranks below one that reports the result (TARGET_PENALTY, on dev).
TARGET = re.compile(r"目标|预期|力争|左右|计划(?!生育|单列)|争取")
ASKS_TARGET = re.compile(r"目标|预期|预计|计划|规划|打算|想把|想要|要把|准备|将要|力争|争取|安排|部署|\baims?\b|\btargets?\b|\bplan(s|ned)?\b|\bgoals?\b|"
                         r"\bexpect", re.I)
TARGET_PENALTY = 0.1        # dev MRR@10 (default, learned) ningbo 0.887 -> 0.887, other-cities 0.869 -> 0.872;
                            # until 想把/要把/准备 asked for a plan, one ningbo dev question fell to rank 2


@dataclass(frozen=True)
class Constraints:
    """What a question pins down: the years and places it names, and the kind of answer it wants."""
    years: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    wants: str = ""                     # "who", "when", "figure" or "" (anything)


def wants(question: str) -> str:
    """The kind of answer a question asks for: "who", "when", "figure", or "" for anything."""
    return next((kind for kind, words in WANTS if words.search(question)), "")


# A question about the document itself — its number, issue, meeting or signature — which its header
# passage (title, dateline, 文号, 落款, bylines) answers.
_ABOUT_DOCUMENT = re.compile(r"文号|发文|印发|哪次会议|什么会议|哪个会议|会议上|落款|署名|签发|"
                             r"\b(issued|signed|document number)\b", re.I)


def asks_header(question: str, kind: str) -> bool:
    """Whether a question may be answered by a document's header passage: it asks who or when, or asks
    about the document itself (its 文号, when it was issued, at which meeting)."""
    return kind in ("who", "when") or bool(_ABOUT_DOCUMENT.search(question))


def gives(kind: str, text: str) -> bool:
    """Whether a text holds an answer of the kind (a figure, a date, a person or body); "" always does."""
    return not kind or bool(_KIND[kind].search(text))


@lru_cache(maxsize=1024)
def constraints(question: str) -> Constraints:
    """Years (2019) and places (jieba `ns` words, or words ending 市/区/县/省) named in a question."""
    text = normalize(question)
    places = set()
    for word, flag in posseg.cut(text):
        suffixed = _PLACE_SUFFIX.match(word)
        if (flag == "ns" or suffixed) and not set(word) <= _ADMIN_WORDS:   # 镇村, 城乡 name no place
            places.add(suffixed.group(1) if suffixed else word)   # 江北区 -> 江北, 北京市 -> 北京
    places.update(p for p in REGION if p in text)
    return Constraints(frozenset(YEAR.findall(text)), frozenset(p for p in places if len(p) >= 2), wants(question))


def years_of(text: str, doc_date: str) -> set[str]:
    """Years a passage speaks about: written years, its document's year, and 今年/去年/明年 resolved."""
    years = set(YEAR.findall(text))
    found = YEAR.match(doc_date or "")
    if found:
        year = int(found.group(1))
        years.add(str(year))
        years.update(str(year + shift) for word, shift in RELATIVE_YEARS.items() if word in text)
    return years


def unsupported(wanted: Constraints, context: str, doc_date: str) -> list[str]:
    """The question's years and places that the passage context (normalised text, heading, document
    title, district, author) never mentions: “上海” against a Zhenhai report, “2019” against a 2020 target."""
    years = years_of(context, doc_date)
    return sorted(y for y in wanted.years if y not in years) + sorted(p for p in wanted.places if p not in context)


@dataclass(frozen=True)
class Terms:
    """The query's word tokens with IDF weights; each is met by itself or any of its glossary forms
    (a question's “GDP” is met by a passage's 地区生产总值). Matched as substrings of normalised text:
    no segmentation at query time, so a check costs microseconds."""
    weighted: tuple[tuple[tuple[str, ...], float], ...] = ()
    total: float = field(init=False, default=0.0)   # the query's whole term weight, summed once

    def __post_init__(self):
        object.__setattr__(self, "total", sum(w for _, w in self.weighted))

    def share(self, text: str) -> float:
        """Share of the query's term weight found in a (normalised) text, 0..1."""
        if self.total <= 0:
            return 0.0
        return sum(w for forms, w in self.weighted if any(f in text for f in forms)) / self.total


def proximity(terms: Terms, sentences: Iterable[str]) -> float:
    """Largest share of the query's term weight found inside one (normalised) sentence, 0..1."""
    return max((terms.share(s) for s in sentences), default=0.0)


def is_target(sentence: str, heading: str = "") -> bool:
    """Whether a sentence (under its heading) states a plan or a target rather than a result."""
    return bool(TARGET.search(sentence) or TARGET.search(heading))


def wants_result(question: str, wanted: Constraints) -> bool:
    """Whether a question asks for a figure as it turned out: a figure, and no word asking for a plan."""
    return wanted.wants == "figure" and not ASKS_TARGET.search(question)


def states_target(terms: Terms, normalized: list[str]) -> bool:
    """Whether a passage (its normalised heading, then sentences) answers with a target: its heading is a
    plan's, or the sentence holding most of the query's terms states one."""
    heading, sentences = (normalized[0], normalized[1:]) if normalized else ("", [])
    best = max(sentences, key=terms.share, default="")
    return is_target(best, heading)


def rerank_score(fused: float, mismatches: int, near: float, header_unasked: bool = False,
                 target_unasked: bool = False) -> float:
    """Second-stage score: fused score, minus a penalty if any constraint is unmet, if the passage is a
    document's header the question does not ask for (asks_header), or if it gives a target where the
    question asks what happened (wants_result), plus proximity."""
    return (fused - MISMATCH_PENALTY * (mismatches > 0) - HEADER_PENALTY * header_unasked
            - TARGET_PENALTY * target_unasked + PROXIMITY_WEIGHT * near)
