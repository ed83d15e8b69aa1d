"""Search: hybrid BM25 + dense ranking, citations, the best sentence, and abstention."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .conversation import check_history, rewrite
from .embeddings import Encoder, load_encoder
from .fusion import rrf_fusion, weighted_fusion
from .index import Index, open_index
from .rerank import RERANK_DEPTH, Constraints, constraints, proximity, rerank_score, unsupported
from .settings import Settings
from .text import names_in, normalize, romanized_names

# Search constants, chosen on the dev split with `python -m qa eval` (see README, "Quality"):
CANDIDATES = 100        # top candidates taken from each retriever before fusion
ABSTAIN_BELOW = 0.29    # confidence under which an answer is marked as not found (dev: 0.28-0.30 meet both targets)
COVERAGE_WEIGHT = 0.5   # confidence = 0.5 * query IDF coverage + 0.5 * dense cosine (0.6-0.8 abstained less on dev)

MODES = ("bm25", "dense", "hybrid", "rrf", "rerank")   # ranking modes compared by `python -m qa eval`

_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*[”’）)」』]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")


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


@dataclass(frozen=True)
class Ranking:
    """Candidate chunk positions best first, with their final, raw BM25 and dense scores."""
    positions: np.ndarray
    scores: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray


@dataclass(frozen=True)
class _Context:
    """What the second stage and the answer need of a chunk: normalised text with heading and document
    metadata, the document date, its sentences as written, and the heading and sentences normalised."""
    text: str
    date: str
    sentences: list[str]
    normalized: list[str]


def citation(title: str, date: str, paragraph: int, page: int = 0) -> str:
    """Human citation: 《title》（date）第N段, or 第N页 for a passage of a paged (PDF) document."""
    where = f"第{page}页" if page else f"第{paragraph}段"
    return f"《{title}》（{date}）{where}" if date else f"《{title}》{where}"


class Engine:
    """The retrieval engine over one corpus folder and its persisted index."""

    def __init__(self, data_dir: str | Path | None = None, index_dir: str | Path | None = None,
                 model: str | None = None, encoder: Encoder | None = None, progress: bool = True,
                 settings: Settings | None = None, index: Index | None = None):
        base = settings or Settings()
        self.settings = replace(base, data_dir=Path(data_dir or base.data_dir),
                                index_dir=Path(index_dir or base.index_dir), model=model or base.model)
        self.encoder = encoder or load_encoder(self.settings.model)
        self._lock = threading.Lock()
        self._attach(index or open_index(self.settings.data_dir, self.settings.index_dir, self.encoder,
                                         progress=progress))

    def _attach(self, index: Index) -> None:
        """Switch to a new index (callers hold self._lock once searches may be running)."""
        self._docs = {d.doc_id: d for d in index.documents}
        self._names = romanized_names(f"{d.title} {d.district} {d.author}" for d in index.documents)
        self._contexts: dict[str, _Context] = getattr(self, "_contexts", {})   # keyed by chunk id: survives
        indptr = np.asarray(index.bm25.scores["indptr"]) if index.chunks else np.zeros(1)
        self._df = np.diff(indptr)   # documents per BM25 vocabulary id
        self.index = index

    def reload(self, rebuild: bool = False) -> None:
        """Re-read the corpus folder and refresh the index (only new chunks are embedded); searches
        keep running on the old index until the new one is swapped in."""
        index = open_index(self.settings.data_dir, self.settings.index_dir, self.encoder, rebuild=rebuild)
        with self._lock:
            self._attach(index)

    # -- scoring -------------------------------------------------------------------------------------
    def _idf(self, token: str) -> float:
        n = max(len(self.index.chunks), 1)
        tid = self.index.bm25.vocab_dict.get(token) if self.index.chunks else None
        df = int(self._df[tid]) if tid is not None and tid < len(self._df) else 0
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def _allowed(self, doc_ids, district, year) -> np.ndarray:
        docs = self._docs
        keep = [(not doc_ids or c.doc_id in doc_ids)
                and (not district or docs[c.doc_id].district == district)
                and (not year or docs[c.doc_id].date.startswith(str(year))) for c in self.index.chunks]
        return np.flatnonzero(keep)

    def lexical(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query."""
        index = self.index
        tokens = [t for t in index.tokenizer(query) if t in index.bm25.vocab_dict]
        return index.bm25.get_scores(tokens) if tokens else np.zeros(len(index.chunks), np.float32)

    def candidates(self, bm25: np.ndarray, qvec: np.ndarray, doc_ids=None, district: str | None = None,
                   year=None) -> np.ndarray:
        """Chunk positions worth fusing: the dense top-N with the BM25 top-N, or every chunk a filter allows."""
        if doc_ids or district or year:
            return self._allowed(set(doc_ids or ()), district, year)
        n = min(CANDIDATES, len(self.index.chunks))
        _, dense_ids = self.index.dense.search(qvec[None, :].astype(np.float32), n)
        return np.union1d(dense_ids[0][dense_ids[0] >= 0], np.argpartition(-bm25, n - 1)[:n])

    def scores(self, query: str, qvec: np.ndarray, doc_ids=None, district: str | None = None, year=None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate chunk positions with their raw BM25 and dense (cosine) scores."""
        if not self.index.chunks:
            return np.zeros(0, int), np.zeros(0), np.zeros(0)
        bm25 = self.lexical(query)
        cand = self.candidates(bm25, qvec, doc_ids, district, year)
        return cand, bm25[cand].astype(np.float64), self.index.vectors[cand] @ qvec

    def rank(self, query: str, qvec: np.ndarray, mode: str = "rerank", doc_ids=None,
             district: str | None = None, year=None) -> Ranking:
        """All candidates best first under one ranking mode (see MODES)."""
        if mode not in MODES:
            raise ValueError(f"unknown ranking mode {mode!r}: use one of {', '.join(MODES)}")
        return self.fuse(query, *self.scores(query, qvec, doc_ids, district, year), mode)

    def fuse(self, query: str, cand: np.ndarray, bm25: np.ndarray, dense: np.ndarray, mode: str = "rerank"
             ) -> Ranking:
        """Order candidates by fused score; in rerank mode the top RERANK_DEPTH get the second stage."""
        if mode == "bm25":
            fused = bm25 + 1e-6 * dense          # dense only breaks BM25 ties
        elif mode == "dense":
            fused = dense.copy()
        elif mode == "rrf":
            fused = rrf_fusion(bm25, dense)
        else:
            fused = weighted_fusion(bm25, dense)
        order = np.argsort(-fused, kind="stable")
        if mode == "rerank" and len(order):
            top = order[:RERANK_DEPTH]
            wanted = self._wanted(query)
            weights = self._weights(query)
            for i in top:
                context = self._context(int(cand[i]))
                fused[i] = rerank_score(fused[i], len(unsupported(wanted, context.text, context.date)),
                                        proximity(weights, context.normalized))
            order = np.concatenate([top[np.argsort(-fused[top], kind="stable")], order[RERANK_DEPTH:]])
        return Ranking(cand[order], fused[order], bm25[order], dense[order])

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
        query = rewrite(text, history, districts=sorted({d.district for d in self._docs.values() if d.district}))
        if query != text:
            notices.append(f"结合上文检索：{query}")
        if names := names_in(query, self._names):
            notices.append("拼音人名/地名对应为：" + "、".join(names))
        if not text or not self.index.chunks:
            return Answer(text, (), "", True, 0.0, query, tuple(notices or ["问题为空或没有可检索的内容"]))
        qvec = self.encoder.encode([query], query=True)[0]
        with self._lock:   # one index from ranking to citations, even if reload() swaps it meanwhile
            return self.answer(text, query, self.rank(query, qvec, mode, doc_ids, district, year), k, notices)

    def answer(self, text: str, query: str, ranking: Ranking, k: int, notices: list[str]) -> Answer:
        """The Answer for a ranking: top-k hits with citations, best sentence, confidence and notices."""
        if not len(ranking.positions):
            return Answer(text, (), "", True, 0.0, query, tuple(notices + ["筛选条件下没有可检索的段落"]))
        hits = tuple(self._hit(int(p), float(s), float(b), float(d)) for p, s, b, d in
                     zip(ranking.positions[:k], ranking.scores[:k], ranking.bm25[:k], ranking.dense[:k]))
        top = int(ranking.positions[0])
        missing = unsupported(self._wanted(query), self._context(top).text, self._context(top).date)
        if missing:
            notices.append("最相关的段落及其文档没有提到：" + "、".join(missing))
        weights = self._weights(query)
        confidence = 0.0 if missing else self.confidence(weights, top, float(ranking.dense[0]),
                                                         not _CJK.search(text))
        return Answer(text, hits, self.best_sentence(weights, top), confidence < ABSTAIN_BELOW,
                      round(confidence, 4), query, tuple(notices))

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

    def _weights(self, query: str) -> dict[str, float]:
        """IDF weight of each word token of the query (bigram fallbacks left out)."""
        return {t: self._idf(t) for t in self.index.tokenizer(query) if not t.startswith("#")}

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

    def confidence(self, weights: dict[str, float], pos: int, dense: float, cross_lingual: bool = False) -> float:
        """How surely a chunk answers: for Chinese questions COVERAGE_WEIGHT x the share of the query's
        IDF mass found in it (words unknown to the corpus weigh the most) + the rest x the dense cosine;
        for questions without Chinese (cross-lingual, no shared words) the dense cosine alone."""
        if cross_lingual or not weights:
            return max(dense, 0.0)
        top_idf = float(np.log(1 + (len(self.index.chunks) + 0.5) / 0.5))
        weights = {t: (w if t in self.index.bm25.vocab_dict else top_idf) for t, w in weights.items()}
        found = "\n".join(self._context(pos).normalized)
        coverage = sum(w for t, w in weights.items() if t in found) / sum(weights.values())
        return COVERAGE_WEIGHT * coverage + (1 - COVERAGE_WEIGHT) * max(dense, 0.0)

    def best_sentence(self, weights: dict[str, float], pos: int) -> str:
        """The sentence of a chunk that shares the most query IDF mass (the earlier one on a tie)."""
        context = self._context(pos)
        lexical = [sum(w for t, w in weights.items() if t in found) for found in context.normalized[1:]]
        return context.sentences[int(np.argmax(lexical))]

    def neighbours(self, hit: Hit) -> tuple[str, str]:
        """The paragraphs just before and after a hit in its document, for context."""
        same = [c for c in self.index.chunks if c.doc_id == hit.doc_id]
        pos = next((i for i, c in enumerate(same) if c.id == hit.chunk_id), None)
        if pos is None:
            return "", ""
        return (same[pos - 1].text if pos > 0 else "", same[pos + 1].text if pos + 1 < len(same) else "")
