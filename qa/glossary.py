"""Glossary: the synonym groups of statistics and government writing, for expanding a question's words
(GDP → 地区生产总值, 财政收入 → 一般公共预算收入, exports → 出口总额) into the forms the documents use."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .text import normalize
from .wording import Language, joined, say

GLOSSARY = "glossary.tsv"   # one group per line, tab-separated, formal term first (qa/vocabulary, a corpus folder)
VOCABULARY = Path(__file__).resolve().parent / "vocabulary"   # the product's: see vocabulary/SOURCES.md


@dataclass(frozen=True)
class Expansion:
    """What a question's words were expanded to: (said, added) pairs, shown to the user."""
    pairs: tuple[tuple[str, str], ...] = ()

    @property
    def added(self) -> tuple[str, ...]:
        """The forms added to the search, each once."""
        return tuple(dict.fromkeys(added for _, added in self.pairs))

    def forms(self, said_token: str) -> tuple[str, ...]:
        """The added forms that stand for a question token (the token lies inside what was said)."""
        return tuple(added for said, added in self.pairs if said_token in normalize(said))

    def notice(self, language: Language = "zh") -> str:
        """“同义扩展：GDP→地区生产总值、生产总值” (“Also searched for: …” in English), or "" when nothing was expanded."""
        return say("expanded", language, pairs=self.listed(language)) if self.pairs else ""

    def listed(self, language: Language = "zh") -> str:
        """The expansions, each trigger with its forms: “GDP→地区生产总值、生产总值；…”."""
        said = dict.fromkeys(s for s, _ in self.pairs)
        return ("；" if language == "zh" else "; ").join(
            f"{s}→" + joined([a for t, a in self.pairs if t == s], language) for s in said)


class Glossary:
    """Synonym groups, matched in a question as whole words (English, case-insensitive) or substrings. A
    group is its trigger words and the forms they expand to: all of a two-way group's terms do both; in a
    one-way group (the English dictionary, the gazetteer) only the English words trigger."""

    def __init__(self, groups: list[tuple[str, ...]], one_way: list[tuple[tuple[str, ...], tuple[str, ...]]] = ()):
        self.groups = [g for g in (tuple(dict.fromkeys(g)) for g in groups) if len(g) >= 2]
        self.one_way = [(tuple(t), tuple(f)) for t, f in one_way if t and f]
        self._expansions = [(g, g) for g in self.groups] + self.one_way   # (trigger words, forms)
        self._groups_of: dict[str, list[int]] = {}
        for i, (triggers, _) in enumerate(self._expansions):
            for term in triggers:
                self._groups_of.setdefault(normalize(term), []).append(i)
        terms = sorted(self._groups_of, key=len, reverse=True)   # longest first: 外贸出口 before 出口
        self._pattern = re.compile("|".join(
            rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])" if re.search("[a-z]", t) else re.escape(t)
            for t in terms)) if terms else None

    @classmethod
    def load(cls, path: Path) -> "Glossary":
        """Read a glossary file of two-way groups (missing: an empty glossary)."""
        return cls(_lines(path))

    @classmethod
    def for_corpus(cls, data_dir: Path) -> "Glossary":
        """The product's vocabulary (qa/vocabulary: the glossary, English -> Chinese, the gazetteer) with the
        corpus folder's own glossary.tsv, if it has one."""
        dictionary = [((line[0],), line[1:]) for line in _lines(VOCABULARY / "en_zh.tsv")]
        places = [(line[2:], (line[0],)) for line in _lines(VOCABULARY / "places.tsv")]
        return cls(_lines(VOCABULARY / GLOSSARY) + _lines(Path(data_dir) / GLOSSARY), dictionary + places)

    def __len__(self) -> int:
        return len(self._expansions)

    def expand(self, question: str, known: Callable[[str], bool]) -> Expansion:
        """For each glossary term in the question, the other forms of its groups that `known` accepts
        (forms the corpus uses) and the question does not already contain. (Skipping terms the corpus
        uses itself cost dev MRR@10 0.889 -> 0.884, so every term is expanded.)"""
        if self._pattern is None:
            return Expansion()
        text = normalize(question)
        pairs = []
        for match in self._pattern.finditer(text):
            said = question_span(question, text, match)
            for group in self._groups_of[match.group(0)]:
                for form in self._expansions[group][1]:
                    if normalize(form) not in text and known(form) and (said, form) not in pairs:
                        pairs.append((said, form))
        return Expansion(tuple(pairs))


def _lines(path: Path) -> list[tuple[str, ...]]:
    """The tab-separated fields of a vocabulary file's lines (missing file: none; # starts a comment)."""
    path = Path(path)
    if not path.exists():
        return []
    return [tuple(t.strip() for t in line.split("\t") if t.strip())
            for line in path.read_text(encoding="utf-8-sig").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def question_span(question: str, normalized: str, match: re.Match) -> str:
    """The words as the user wrote them (GDP, not gdp) where normalising kept the length."""
    return question[match.start():match.end()] if len(question) == len(normalized) else match.group(0)
