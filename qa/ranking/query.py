"""Query: a question made ready to search, once: the text searched, its glossary expansion, its vector,
its weighted terms and the years and places it names."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..encoders import Encoder
from ..glossary import Expansion, Glossary
from .rerank import Constraints, Terms, constraints
from ..stores.base import Vocabulary
from ..text import names_in, normalize


@dataclass(frozen=True)
class Query:
    """What the ranking and the answer need of a question, computed once."""
    text: str
    expansion: Expansion
    vector: np.ndarray
    terms: Terms
    wanted: Constraints


def prepare(text: str, vocabulary: Vocabulary, glossary: Glossary, encoder: Encoder, names: dict[str, str]) -> Query:
    """A question made ready to search: glossary expansion (to forms the corpus uses), the query vector,
    IDF-weighted terms, and the years and places it names (pinyin names mapped to Chinese)."""
    expansion = glossary.expand(text, lambda term: known(vocabulary, term))
    wanted = constraints(text)
    return Query(text, expansion, encoder.encode([text], query=True)[0], terms(vocabulary, text, expansion),
                 Constraints(wanted.years, wanted.places | frozenset(names_in(text, names)), wanted.wants))


def known(vocabulary: Vocabulary, term: str) -> bool:
    """Whether the corpus uses a term: every word token of it is in the BM25 vocabulary."""
    tokens = [t for t in vocabulary.tokenizer(term) if not t.startswith("#")]
    return bool(tokens) and all(vocabulary.knows(t) for t in tokens)


def terms(vocabulary: Vocabulary, text: str, expansion: Expansion) -> Terms:
    """The query's word tokens (bigram fallbacks left out) with IDF weights (words unknown to the corpus
    weigh the most) and the glossary forms that also meet them."""
    tokens = dict.fromkeys(t for t in vocabulary.tokenizer(text) if not t.startswith("#"))
    return Terms(tuple(((t, *map(normalize, expansion.forms(t))), vocabulary.idf(t)) for t in tokens))


ASKING = re.compile(r"[？?]|什么|多少|哪|如何|怎么|怎样|为何|为什么|是否|吗|几|谁|when|what|how|which|who|why", re.I)


def shorten(text: str, limit: int, weight: Callable[[str], float]) -> str:
    """A question over `limit` characters cut to its most informative part: the sentences that ask (a
    question mark or word) when there are any, the last first, else those whose terms weigh most per character (`weight`
    gives a sentence's summed IDF); kept in the order written, up to the limit."""
    if len(text) <= limit:
        return text
    said = [s for s in re.split(r"(?<=[。！？!?；;\n])", text) if s.strip()]
    asking = [i for i, s in enumerate(said) if ASKING.search(s)]
    order = asking[::-1] or sorted(range(len(said)), key=lambda i: (-weight(said[i]) / max(len(said[i]), 1), i))
    keep, used = set(), 0
    for i in order:
        if used + len(said[i]) <= limit:
            keep.add(i)
            used += len(said[i])
    if not keep:                 # one sentence longer than the limit: its start
        return said[order[0]][:limit]
    return "".join(said[i] for i in sorted(keep))
