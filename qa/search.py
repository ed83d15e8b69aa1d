"""Search: hybrid BM25 + dense ranking with a second stage, over one corpus and its index."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import calibration as calibrations
from .answer import Answer, Hit, best_sentence, confidence
from .conversation import check_history, rewrite
from .embeddings import Encoder, load_encoder
from .fusion import rrf_fusion, weighted_fusion
from .glossary import GLOSSARY, Expansion, Glossary
from .rerank import REGION, RERANK_DEPTH, Constraints, Terms, constraints, proximity, rerank_score, unsupported
from .settings import Settings, seed_corpus
from .store import Filters, Store, open_store
from .text import has_chinese, names_in, normalize, romanized_names

# Search constants, chosen on the dev split with `python -m qa eval` (see README, "Quality"):
CANDIDATES = 100        # top candidates taken from each retriever before fusion
GLOSSARY_WEIGHT = 0.25  # BM25 weight of glossary forms added to a question, against 1 for its own words
                        # (dev MRR@10 at 0 / 0.25 / 0.5 / 0.75 / 1: 0.860 / 0.894 / 0.889 / 0.879 / 0.874);
                        # the forms are not given to the encoder: that cost dev MRR@10 0.889 -> 0.879

MODES = ("bm25", "dense", "hybrid", "rrf", "rerank")   # ranking modes compared by `python -m qa eval`

_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*[”’）)」』]*")


@dataclass(frozen=True)
class Ranking:
    """Candidate chunk positions best first, with their final, raw BM25 and dense scores."""
    positions: np.ndarray
    scores: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray


@dataclass(frozen=True)
class Query:
    """A question made ready to search, once: the text searched, its glossary expansion, its vector, its
    weighted terms and the years and places it names."""
    text: str
    expansion: Expansion
    vector: np.ndarray
    terms: Terms
    wanted: Constraints


@dataclass(frozen=True)
class _Context:
    """What the second stage and the answer need of a chunk: normalised text with heading and document
    metadata, the document date, its sentences as written, and the heading and sentences normalised."""
    text: str
    date: str
    sentences: list[str]
    normalized: list[str]


def _year(year) -> str:
    """A year filter as four digits (2019, "2019", "2019年" alike); "" for none."""
    if not year:
        return ""
    found = re.search(r"(19|20)\d\d", str(year))
    if not found:
        raise ValueError(f"year {year!r} is not a year: give one such as 2019")
    return found.group(0)


def citation(title: str, date: str, paragraph: int, page: int = 0) -> str:
    """Human citation: 《title》（date）第N段, 第N页 for a passage of a paged (PDF) document, or 文首署名
    for the header passage (paragraph 0: byline, author, source)."""
    where = f"第{page}页" if page else f"第{paragraph}段" if paragraph else "文首署名"
    return f"《{title}》（{date}）{where}" if date else f"《{title}》{where}"


class Engine:
    """The retrieval engine over one corpus folder and its persisted index."""

    def __init__(self, data_dir: str | Path | None = None, index_dir: str | Path | None = None,
                 model: str | None = None, encoder: Encoder | None = None, progress: bool = True,
                 settings: Settings | None = None, index: Store | None = None, store: str | None = None):
        base = settings or Settings()
        self.settings = replace(base, data_dir=Path(data_dir or base.data_dir),
                                index_dir=Path(index_dir or base.index_dir), model=model or base.model,
                                store=store or base.store, seed=base.seed and not data_dir)
        if self.settings.wants_seed():
            seed_corpus(self.settings.data_dir)
        self.encoder = encoder or load_encoder(self.settings.model)
        self.calibration = calibrations.load(self.settings.index_dir, self.encoder.name)
        self._lock = threading.Lock()
        self._attach(index or open_store(self.settings, self.encoder, progress=progress))

    def _attach(self, index: Store) -> None:
        """Switch to a new index (callers hold self._lock once searches may be running)."""
        self._docs = {d.doc_id: d for d in index.documents}
        self._names = romanized_names((f"{d.title} {d.district} {d.author}" for d in index.documents), REGION)
        self.districts = sorted({d.district for d in index.documents if d.district})
        self.glossary = Glossary.load(self.settings.data_dir / GLOSSARY)
        self._contexts: dict[str, _Context] = getattr(self, "_contexts", {})   # keyed by chunk id: survives
        self.index = index

    def reload(self, rebuild: bool = False) -> None:
        """Re-read the corpus folder and refresh the index (only new chunks are embedded); searches
        keep running on the old index until the new one is swapped in."""
        index = open_store(self.settings, self.encoder, rebuild=rebuild)
        with self._lock:
            self._attach(index)

    # -- the question ------------------------------------------------------------------------------
    def query(self, text: str) -> Query:
        """A question made ready to search: glossary expansion and query vector."""
        expansion = self.glossary.expand(text, self._known)
        return Query(text, expansion, self.encoder.encode([text], query=True)[0], self.terms(text, expansion),
                     self._wanted(text))

    def _known(self, term: str) -> bool:
        """Whether the corpus uses a term: every word token of it is in the BM25 vocabulary."""
        tokens = [t for t in self.index.tokenizer(term) if not t.startswith("#")]
        return bool(tokens) and all(self.index.knows(t) for t in tokens)

    def terms(self, text: str, expansion: Expansion) -> Terms:
        """The query's word tokens (bigram fallbacks left out) with IDF weights (words unknown to the
        corpus weigh the most) and the glossary forms that also meet them."""
        tokens = dict.fromkeys(t for t in self.index.tokenizer(text) if not t.startswith("#"))
        return Terms(tuple(((t, *map(normalize, expansion.forms(t))), self.index.idf(t)) for t in tokens))

    # -- ranking -----------------------------------------------------------------------------------
    def rank(self, query: Query, mode: str = "rerank", doc_ids=None, district: str | None = None,
             year=None) -> Ranking:
        """All candidates best first under one ranking mode (see MODES)."""
        if mode not in MODES:
            raise ValueError(f"unknown ranking mode {mode!r}: use one of {', '.join(MODES)}")
        if not self.index.chunks:
            return Ranking(*(np.zeros(0),) * 4)
        found = self.index.retrieve(query.text, " ".join(query.expansion.added), GLOSSARY_WEIGHT, query.vector,
                                    CANDIDATES, Filters(frozenset(doc_ids or ()), district or "", _year(year)))
        return self.fuse(query, found.positions, found.bm25, found.dense, mode)

    def fuse(self, query: Query, cand: np.ndarray, bm25: np.ndarray, dense: np.ndarray, mode: str = "rerank"
             ) -> Ranking:
        """Order candidates by fused score; in rerank mode the top RERANK_DEPTH get the second stage."""
        if mode == "bm25":
            fused = bm25 + 1e-6 * dense          # dense only breaks BM25 ties
        elif mode == "dense":
            fused = dense.copy()
        elif mode == "rrf":
            fused = rrf_fusion(bm25, dense)
        else:
            fused = weighted_fusion(bm25, dense, self.calibration.bm25_weight)
        order = np.argsort(-fused, kind="stable")
        if mode == "rerank" and len(order):
            top = order[:RERANK_DEPTH]
            for i in top:
                context = self._context(int(cand[i]))
                fused[i] = rerank_score(fused[i], len(unsupported(query.wanted, context.text, context.date)),
                                        proximity(query.terms, context.normalized))
            order = np.concatenate([top[np.argsort(-fused[top], kind="stable")], order[RERANK_DEPTH:]])
        return Ranking(cand[order], fused[order], bm25[order], dense[order])

    # -- answering ---------------------------------------------------------------------------------
    def search(self, question: str, k: int | None = None, doc_ids=None, district: str | None = None,
               year=None) -> list[Hit]:
        """Best k passages for the question, best first."""
        return list(self.ask(question, k, doc_ids=doc_ids, district=district, year=year).hits)

    def ask(self, question: str, k: int | None = None, history=(), doc_ids=None,
            district: str | None = None, year=None, mode: str = "rerank") -> Answer:
        """Answer a question (with the earlier questions, as strings, for context): hits, best sentence,
        abstention. A history that is not a list of strings raises TypeError naming the bad item."""
        history = check_history(history)
        notices = []
        text = " ".join(str(question or "").split())
        if len(text) > self.settings.max_question_chars:
            text = text[: self.settings.max_question_chars]
            notices.append(f"问题过长，已截取前{self.settings.max_question_chars}个字符进行检索")
        k = max(1, min(int(k or self.settings.k), self.settings.max_k))
        searched = rewrite(text, history, self.districts)
        if searched != text:
            notices.append(f"结合上文检索：{searched}")
        if names := names_in(searched, self._names):
            notices.append("拼音人名/地名对应为：" + "、".join(names))
        if not text or not self.index.chunks:
            return Answer(text, (), "", True, 0.0, searched, tuple(notices or ["问题为空或没有可检索的内容"]))
        query = self.query(searched)
        if query.expansion.pairs:
            notices.append(query.expansion.notice())
        with self._lock:   # one index from ranking to citations, even if reload() swaps it meanwhile
            return self.answer(text, query, self.rank(query, mode, doc_ids, district, year), k, notices)

    def answer(self, text: str, query: Query, ranking: Ranking, k: int, notices: list[str]) -> Answer:
        """The Answer for a ranking: top-k hits with citations, best sentence, confidence and notices."""
        if not len(ranking.positions):
            return Answer(text, (), "", True, 0.0, query.text, tuple(notices + ["筛选条件下没有可检索的段落"]))
        hits = tuple(self._hit(int(p), float(s), float(b), float(d)) for p, s, b, d in
                     zip(ranking.positions[:k], ranking.scores[:k], ranking.bm25[:k], ranking.dense[:k]))
        top = self._context(int(ranking.positions[0]))
        missing = unsupported(query.wanted, top.text, top.date)
        if missing:
            notices.append("最相关的段落及其文档没有提到：" + "、".join(missing))
        sure = 0.0 if missing else confidence(query.terms, "\n".join(top.normalized), float(ranking.dense[0]),
                                              self.calibration, not has_chinese(text))
        return Answer(text, hits, best_sentence(query.terms, top.sentences, top.normalized[1:]),
                      sure < self.calibration.abstain_below, round(sure, 4), query.text, tuple(notices))

    def _hit(self, pos: int, score: float, bm25: float, dense: float) -> Hit:
        c = self.index.chunks[pos]
        d = self._docs[c.doc_id]
        return Hit(c.text, round(score, 4), c.doc_id, d.title, d.date, c.paragraph, c.heading,
                   citation(d.title, d.date, c.paragraph, c.page), round(bm25, 4), round(dense, 4), c.id,
                   d.district, d.author, c.page)

    def _wanted(self, query: str) -> Constraints:
        """The years and places the query names, with the Chinese of pinyin names (Zhenhai -> 镇海)."""
        wanted = constraints(query)
        return Constraints(wanted.years, wanted.places | frozenset(names_in(query, self._names)))

    def _context(self, pos: int) -> _Context:
        """A chunk's context for the second stage and the answer (cached per chunk)."""
        c = self.index.chunks[pos]
        if c.id not in self._contexts:
            d = self._docs[c.doc_id]
            sentences = [t.strip() for t in _SENTENCE.findall(c.text) if len(t.strip()) > 1] or [c.text]
            self._contexts[c.id] = _Context(
                normalize("\n".join((c.heading, c.text, d.title, d.district, d.author, d.source))), d.date,
                sentences, [normalize(t) for t in (c.heading, *sentences)])
        return self._contexts[c.id]

    def neighbours(self, hit: Hit) -> tuple[str, str]:
        """The paragraphs just before and after a hit in its document, for context."""
        same = [c for c in self.index.chunks if c.doc_id == hit.doc_id]
        pos = next((i for i, c in enumerate(same) if c.id == hit.chunk_id), None)
        if pos is None:
            return "", ""
        return (same[pos - 1].text if pos > 0 else "", same[pos + 1].text if pos + 1 < len(same) else "")
