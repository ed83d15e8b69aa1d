"""Query: a question made ready to search, once: the text searched, its glossary expansion, its vector,
its weighted terms and the years and places it names."""
from __future__ import annotations

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
