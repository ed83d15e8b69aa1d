"""Engine: answers questions over one corpus through its store: the question prepared once, hybrid BM25 +
dense ranking with a second stage, and the answer with citations, confidence and notices."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from .ranking import calibration as calibrations
from .ranking.answer import Answer, Hit, best_sentence
from .conversation import check_history, rewrite
from .documents.document import IngestError
from .documents.folder import seed_corpus
from .documents import library
from .encoders import Encoder, load_encoder
from .ranking.fusion import rrf_fusion, weighted_fusion
from .glossary import Glossary
from .ranking.passages import Passages, told_apart
from .ranking.query import Query, prepare, shorten
from .ranking.decide import Decision, decide, instead
from .ranking.rerank import REGION, wants_result
from .ranking.second_stage import LearnedStage, RuleStage, SecondStage
from .settings import Settings
from .documents.library import Added
from .indexing import Indexer, Report
from .indexing.indexer import CACHE, Parsed
from .indexing.plan import Update
from .stores import Filters, Listing, Store, open_store
from .text import has_chinese, names_in, romanized_names
from .wording import Language, joined, reply_language, say

# Search constants, chosen on the dev split with `python -m qa eval` (see README, "Quality"):
CANDIDATES = 100        # top candidates taken from each retriever before fusion
GLOSSARY_WEIGHT = 0.25  # BM25 weight of glossary forms added to a question, against 1 for its own words
                        # (dev MRR@10 at 0 / 0.25 / 0.5 / 0.75 / 1: 0.860 / 0.894 / 0.889 / 0.879 / 0.874);
                        # the forms are not given to the encoder: that cost dev MRR@10 0.889 -> 0.879

# Ranking modes compared by `python -m qa eval`: each retriever alone, two fusions, and fusion with a second
# stage ("rules", "learned"); "rerank" is the engine's own second stage (settings.second_stage).
Mode = Literal["bm25", "dense", "hybrid", "rrf", "rules", "learned", "rerank"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True)
class Ranking:
    """Candidate chunk positions best first, with their final, raw BM25 and dense scores."""
    positions: np.ndarray
    scores: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray
    answers: np.ndarray | None = None    # the learned stage's P(answers) of the candidates it read, in order


class Engine:
    """The retrieval engine over one corpus and its store (the local index folder, or Milvus)."""

    def __init__(self, data_dir: str | Path | None = None, index_dir: str | Path | None = None,
                 model: str | None = None, encoder: Encoder | None = None, progress: bool = True,
                 settings: Settings | None = None, store: str | None = None, opened: Store | None = None,
                 update: Update = "add"):
        """Settings come from the environment (QA_HOME, QA_DATA_DIR, ...; see qa.settings) unless given;
        the arguments win over both. `opened` is a store opened already (the bench makes its own);
        `update` is what opening does with the corpus folder (indexing.plan; "none": the store as it is)."""
        base = settings or Settings.from_env()
        self.settings = replace(base, data_dir=Path(data_dir or base.data_dir),
                                index_dir=Path(index_dir or base.index_dir), model=model or base.model,
                                store=store or base.store, seed=base.seed and not data_dir)
        if self.settings.wants_seed():
            seed_corpus(self.settings.data_dir)
        self.encoder = encoder or load_encoder(self.settings.model, self.settings.runtime)
        self._given_encoder, self._uploads_encoder = encoder is not None, None
        self.calibration = calibrations.load(self.settings.index_dir, self.encoder.name)
        self.progress = progress
        self._stages: dict[str, SecondStage] = {"rules": RuleStage()}
        self._lock = threading.Lock()      # a search sees one state of the corpus from ranking to citations
        self.store = opened or open_store(self.settings, self.encoder.name, self.encoder.dim, update == "rebuild")
        self.passages = Passages(self.store)
        self.indexer = Indexer(self.store, self.encoder, self.settings.data_dir, self.settings.index_dir / CACHE)
        self.report = Report()
        self._attach()
        if update != "none":
            self.sync(update)

    def _attach(self) -> None:
        """Take in what the store holds now: its documents' names and districts, the glossary."""
        listing = self.store.listing()
        names = romanized_names((f"{d.title} {d.district} {d.author}" for d in listing.documents), REGION)
        glossary = Glossary.for_corpus(self.settings.data_dir)
        with self._lock:
            self._names, self.glossary = names, glossary
            self.districts = sorted({d.district for d in listing.documents if d.district})
            self.passages.forget()

    def _weight(self, sentence: str) -> float:
        """How much a sentence says to BM25: the summed IDF of its word tokens."""
        vocabulary = self.store.vocabulary
        return sum(vocabulary.idf(t) for t in vocabulary.tokenizer(sentence) if not t.startswith("#"))

    def listing(self) -> Listing:
        """The documents the engine searches now, with their passage counts and fingerprint."""
        return self.store.listing()

    def sync(self, update: Update = "add", callback: Callable[[int, int], None] | None = None) -> Report:
        """Bring the store up to date with the corpus folder: "add" its new documents (what opening does),
        "sync" changed ones too, or "rebuild" the store as the folder (indexing.plan); only new chunks are
        embedded, and searches go on meanwhile."""
        report = self.indexer.sync(update, self.progress, callback)
        self.report = report
        self._attach()
        return report

    def add(self, paths: list[str | Path], title: str | None = None, date: str | None = None,
            author: str | None = None, district: str | None = None, names: list[str] | None = None,
            callback: Callable[[int, int], None] | None = None,
            report: Callable[[Added], None] | None = None) -> int:
        """Add files to the corpus folder and index them: each parsed once, only they embedded and written,
        whatever the corpus's size. Each file's outcome goes to `report` (a bad file is reported, never
        raised) before indexing starts; returns the chunks embedded."""
        s = self.settings
        results, parsed = library.add_parsed(s.data_dir, paths, title, date, author, district, s.max_file_mb, names)
        for result in results:
            (report or (lambda r: None))(result)
        return self.index(parsed, callback)

    def index(self, parsed: list[Parsed], callback: Callable[[int, int], None] | None = None,
              background: bool = False) -> int:
        """Index documents already in the corpus folder, as library.add_parsed gives them; returns the
        chunks embedded. `background`: embed on settings.upload_threads, leaving the rest to searches."""
        encoder = self._background_encoder() if background else None
        embedded = self.indexer.index(parsed, self.progress and not background, callback, encoder=encoder)
        self._attach()
        return embedded

    def _background_encoder(self) -> Encoder | None:
        """The encoder uploads embed with: the engine's model on fewer threads (None: the engine's own,
        for an encoder given from outside)."""
        if self._given_encoder:
            return None
        if self._uploads_encoder is None:
            self._uploads_encoder = load_encoder(self.settings.model, self.settings.runtime, self.settings.upload_threads)
        return self._uploads_encoder

    def refresh(self) -> None:
        """See what other processes wrote to the store since (a search worker beside the app's process)."""
        self.store.refresh()
        self._attach()

    def remove(self, doc_id: str) -> str:
        """Delete a document from the corpus folder (with its original) and from the store; says what was
        removed. It does not wait for an embedding under way (that document is then not written)."""
        known = self.store.listing().by_id
        in_folder = self.settings.data_dir.is_dir() and any(
            d.doc_id == doc_id for d in library.documents(self.settings.data_dir))
        if doc_id not in known and not in_folder:
            raise IngestError(f"no document {doc_id[:200]!r}; documents are: {', '.join(sorted(known))}")
        title = known[doc_id].title if doc_id in known else doc_id
        self.indexer.remove([doc_id])
        self._attach()
        return f"removed {doc_id} ({title})"

    def query(self, text: str) -> Query:
        """A question made ready to search: glossary expansion, vector, weighted terms, constraints."""
        return prepare(text, self.store.vocabulary, self.glossary, self.encoder, self._names)

    # -- ranking -----------------------------------------------------------------------------------
    def rank(self, query: Query, mode: Mode = "rerank", doc_ids=None, district: str | None = None,
             year=None) -> Ranking:
        """All candidates best first under one ranking mode (see MODES)."""
        if mode not in MODES:
            raise ValueError(f"unknown ranking mode {mode!r}: use one of {', '.join(MODES)}")
        if not self.store.listing().count:
            return Ranking(*(np.zeros(0),) * 4)
        found = self.store.retrieve(query.text, " ".join(query.expansion.added), GLOSSARY_WEIGHT, query.vector,
                                    CANDIDATES, Filters.of(doc_ids, district, year))
        return self.fuse(query, found.positions, found.bm25, found.dense, mode)

    def stage(self, name: str) -> SecondStage:
        """A second stage by name ("rules", "learned"), loaded on first use (the learned one reads its model)."""
        if name not in self._stages:
            from .encoders.cross_e5 import CrossEncoder
            self._stages[name] = LearnedStage(CrossEncoder())
        return self._stages[name]

    def use_stage(self, stage: SecondStage) -> None:
        """Rank with another second stage under its name ("rules" or "learned"), e.g. one being measured."""
        self._stages[stage.name] = stage

    def mode(self) -> str:
        """The ranking mode people get: the second stage of the settings, or "hybrid" with none."""
        return "hybrid" if self.settings.second_stage == "off" else self.settings.second_stage

    def fuse(self, query: Query, cand: np.ndarray, bm25: np.ndarray, dense: np.ndarray, mode: Mode = "rerank"
             ) -> Ranking:
        """Order candidates by fused score; with a second stage its top `depth` are rescored by it."""
        if mode == "bm25":
            fused = bm25 + 1e-6 * dense          # dense only breaks BM25 ties
        elif mode == "dense":
            fused = dense.copy()
        elif mode == "rrf":
            fused = rrf_fusion(bm25, dense)
        else:
            fused = weighted_fusion(bm25, dense, self.calibration.bm25_weight)
        order = np.argsort(-fused, kind="stable")
        stage_name = self.mode() if mode == "rerank" else mode
        if stage_name not in ("rules", "learned") or not len(order):
            return Ranking(cand[order], fused[order], bm25[order], dense[order])
        stage = self.stage(stage_name)
        top = order[:stage.depth]
        rescored = stage.rescore(query, cand[top], fused[top], self.passages)
        inner = np.argsort(-rescored.scores, kind="stable")
        fused[top] = rescored.scores
        order = np.concatenate([top[inner], order[stage.depth:]])
        answers = None if rescored.answers is None else rescored.answers[inner]
        return Ranking(cand[order], fused[order], bm25[order], dense[order], answers)

    # -- answering ---------------------------------------------------------------------------------
    def search(self, question: str, k: int | None = None, doc_ids=None, district: str | None = None,
               year=None) -> list[Hit]:
        """Best k passages for the question, best first."""
        return list(self.ask(question, k, doc_ids=doc_ids, district=district, year=year).hits)

    def ask(self, question: str, k: int | None = None, history=(), doc_ids=None,
            district: str | None = None, year=None) -> Answer:
        """Answer a question (with the earlier questions, as strings, for context): hits, best sentence,
        abstention. A history that is not a list of strings raises TypeError naming the bad item."""
        return self.ask_in_mode(question, "rerank", k, history, doc_ids, district, year)

    def ask_in_mode(self, question: str, mode: Mode, k: int | None = None, history=(), doc_ids=None,
                    district: str | None = None, year=None) -> Answer:
        """ask() under one ranking mode of MODES (evaluate compares them; people get "rerank")."""
        history = check_history(history)
        notices = []
        text = " ".join(str(question or "").split())
        language = reply_language(text, self.settings.language)
        limit = self.settings.max_question_chars
        if len(text) > limit:
            whole, text = len(text), shorten(text, limit, self._weight)
            notices.append(say("too_long", language, whole=whole, limit=limit, kept=len(text), start=text[:40]))
        k = max(1, min(int(k or self.settings.k), self.settings.max_k))
        searched = rewrite(text, history, self.districts)
        if searched != text:
            notices.append(say("follow_up", language, searched=searched))
        if names := names_in(searched, self._names):
            notices.append(say("pinyin", language, names=joined(names, language)))
        if not text or not self.store.listing().count:
            return Answer(text, (), "", True, 0.0, searched, tuple(notices or [say("empty", language)]),
                          language=language)
        query = self.query(searched)
        if query.expansion.pairs:
            notices.append(query.expansion.notice(language))
        with self._lock:   # one state of the corpus from ranking to citations
            return self.answer(text, query, self.rank(query, mode, doc_ids, district, year), k, notices, language)

    def answer(self, text: str, query: Query, ranking: Ranking, k: int, notices: list[str],
               language: Language = "zh") -> Answer:
        """The Answer for a ranking: top-k hits with citations, best sentence, confidence and notices (in
        the reply's language)."""
        if not len(ranking.positions):
            return Answer(text, (), "", True, 0.0, query.text, tuple(notices + [say("no_passages", language)]),
                          language=language)
        hits = told_apart(tuple(self.passages.hit(int(p), float(s), float(b), float(d)) for p, s, b, d in
                                zip(ranking.positions[:k], ranking.scores[:k], ranking.bm25[:k], ranking.dense[:k])))
        top = self.passages.context(int(ranking.positions[0]))
        decision = self.decision(query, ranking, not has_chinese(text))
        said = best_sentence(query.terms, top.sentences, top.normalized[1:], query.wanted.wants, hits[0].title,
                             wants_result(query.text, query.wanted))
        if decision.missing:
            notices.append(say("missing", language, terms=joined(decision.missing, language)))
        if decision.abstained:
            notices.append(instead(decision.missing, hits[0].citation, said, language))
        return Answer(text, hits, said,
                      decision.abstained, decision.confidence, query.text, tuple(notices),
                      tuple(dict.fromkeys(form for forms, _ in query.terms.weighted for form in forms)), language=language)

    def decision(self, query: Query, ranking: Ranking, cross_lingual: bool) -> Decision:
        """Answer or abstain on a ranking's top passage (qa.ranking.decide, which `eval` reads as well)."""
        top = self.passages.context(int(ranking.positions[0]))
        learned = ranking.answers is not None
        below = self.stage("learned").abstain_below if learned else 0.5
        return decide(query, top, float(ranking.dense[0]), self.calibration, cross_lingual,
                      float(ranking.answers[0]) if learned else None, below)

    def neighbours(self, hit: Hit) -> tuple[str, str]:
        """The paragraphs just before and after a hit in its document, for context."""
        return self.passages.neighbours(hit)


def stats(engine: Engine) -> dict:
    """Corpus and store figures for the CLI, the chat's header and the API's health."""
    listing = engine.listing()
    return {"documents": len(listing.documents), "passages": listing.count,
            "model": listing.model, "dim": int(engine.encoder.dim), "store": engine.settings.store or "local",
            "index_dir": str(engine.settings.index_dir),
            "per_document": {d.doc_id: {"title": d.title, "date": d.date, "passages": listing.passages.get(d.doc_id, 0)}
                             for d in listing.documents}}
