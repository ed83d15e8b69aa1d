"""Passages: a store's chunks as people and the second stage see them: citations, hits, the normalised
context the second stage checks (cached per chunk), and the paragraphs around a hit."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from .answer import Hit
from ..documents.document import Chunk, Document
from ..documents.header import HEADER
from ..stores.base import Searcher
from ..text import normalize, sentences

CACHE_LIMIT = 50_000     # contexts kept; the cache starts afresh past this (about 2 KB each)


@dataclass(frozen=True)
class Context:
    """What the second stage and the answer need of a chunk: normalised text with heading and document
    metadata, the document date, its sentences as written, and the heading and sentences normalised."""
    text: str
    date: str
    sentences: list[str]
    normalized: list[str]
    header: bool = False     # a document's header passage (title, date, byline), not its body


def told_apart(hits: tuple[Hit, ...]) -> tuple[Hit, ...]:
    """Hits whose citations would read the same (two parts of one long paragraph: 第4段 and 第4段) each
    cite the words they begin with as well: 第4段（“地区生产总值跃上千亿…”起）."""
    counts = Counter(h.citation for h in hits)
    return tuple(replace(h, citation=f"{h.citation}（“{h.text.strip()[:10]}…”起）") if counts[h.citation] > 1 else h
                 for h in hits)


def citation(title: str, date: str, paragraph: int, page: int = 0) -> str:
    """Human citation: 《title》（date）第N段, 第N页 for a passage of a paged (PDF) document, or 文首署名
    for the header passage (paragraph 0: byline, author, source)."""
    where = f"第{page}页" if page else f"第{paragraph}段" if paragraph else "文首署名"
    return f"《{title}》（{date}）{where}" if date else f"《{title}》{where}"


class Passages:
    """The chunks of one opened store, by position, with their documents."""

    def __init__(self, store: Searcher):
        self.store = store
        self._contexts: dict[str, Context] = {}

    def chunk(self, pos: int) -> Chunk:
        """The chunk at a position of the store."""
        return self.store.chunk(pos)

    def document(self, doc_id: str) -> Document:
        """A listed document by id (one deleted since its chunk was retrieved: its id as its title)."""
        return self.store.listing().by_id.get(doc_id) or Document(doc_id, doc_id)

    def hit(self, pos: int, score: float, bm25: float, dense: float) -> Hit:
        """The chunk at a position as a ranked, cited Hit."""
        c = self.store.chunk(pos)
        d = self.document(c.doc_id)
        return Hit(c.text, round(score, 4), c.doc_id, d.title, d.date, c.paragraph, c.heading,
                   citation(d.title, d.date, c.paragraph, c.page), round(bm25, 4), round(dense, 4), c.id,
                   d.district, d.author, c.page)

    def context(self, pos: int) -> Context:
        """A chunk's context for the second stage and the answer (cached per chunk)."""
        c = self.store.chunk(pos)
        if c.id not in self._contexts:
            if len(self._contexts) >= CACHE_LIMIT:
                self._contexts.clear()
            d = self.document(c.doc_id)
            said = sentences(c.text) or [c.text]
            self._contexts[c.id] = Context(
                normalize("\n".join((c.heading, c.text, d.title, d.district, d.author, d.source))), d.date,
                said, [normalize(t) for t in (c.heading, *said)], c.paragraph == 0 and c.heading == HEADER)
        return self._contexts[c.id]

    def forget(self) -> None:
        """Drop the cached contexts (the bench times chunks seen cold)."""
        self._contexts.clear()

    def neighbours(self, hit: Hit) -> tuple[str, str]:
        """The paragraphs just before and after a hit in its document, for context (a store keeps each
        document's chunks together and in order)."""
        return self.store.neighbours(hit.chunk_id)
