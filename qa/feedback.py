"""Feedback: every served answer remembered, every judgement of one stored beside it (SQLite in WAL mode,
one file per data home, safe for several app processes on one machine), and judgements turned into gold
questions that `reform-qa eval --gold` runs."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .ranking.answer import Answer

Verdict = Literal["right", "wrong", "not_in_documents", "wrong_citation"]
VERDICTS: tuple[str, ...] = ("right", "wrong", "not_in_documents", "wrong_citation")
SCHEMA = """
create table if not exists answers (answer_id text primary key, question text not null, query text not null,
    history text not null, fingerprint text not null, abstained integer not null, hits text not null,
    created real not null);
create table if not exists judgements (id integer primary key autoincrement, answer_id text not null
    references answers(answer_id), verdict text not null, chunk_id text, note text not null, created real not null);
"""


class FeedbackError(ValueError):
    """A judgement that cannot be stored: the field and the fix."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Judgement:
    """One judgement with the answer it judges."""
    id: int
    answer_id: str
    verdict: str
    chunk_id: str
    note: str
    question: str
    query: str
    history: list[str]
    fingerprint: str
    hits: list[dict]
    created: float


class Feedback:
    """The feedback database of one data home."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("pragma journal_mode=wal")
            db.execute("pragma busy_timeout=30000")
            with db:
                yield db
        finally:
            db.close()

    def remember(self, answer: Answer, history: list[str], fingerprint: str) -> None:
        """Keep a served answer, so a later judgement of it knows what was asked and shown."""
        hits = [{"chunk_id": h.chunk_id, "doc_id": h.doc_id, "score": h.score, "citation": h.citation,
                 "text": h.text} for h in answer.hits]
        with self._db() as db:
            db.execute("insert or ignore into answers values (?, ?, ?, ?, ?, ?, ?, ?)",
                       (answer.answer_id, answer.question, answer.query, json.dumps(history, ensure_ascii=False),
                        fingerprint, int(answer.abstained), json.dumps(hits, ensure_ascii=False), time.time()))

    def judge(self, answer_id: str, verdict: Verdict | str, chunk_id: str | None = None, note: str = "") -> int:
        """Store a judgement of a served answer; its id. The chunk, if given, must be one the answer showed."""
        if verdict not in VERDICTS:
            raise FeedbackError("verdict", f"{str(verdict)[:40]!r} is not a verdict: use one of {', '.join(VERDICTS)}")
        with self._db() as db:
            row = db.execute("select hits from answers where answer_id = ?", (answer_id,)).fetchone()
            if row is None:
                raise FeedbackError("answer_id", f"no answer {str(answer_id)[:40]!r} was served here: send the "
                                                 "answer_id of a search's answer")
            shown = {h["chunk_id"] for h in json.loads(row[0])}
            if chunk_id and chunk_id not in shown:
                raise FeedbackError("chunk_id", f"{chunk_id[:40]!r} is not a passage of that answer: send one of "
                                                "its hits' chunk_id")
            cursor = db.execute("insert into judgements (answer_id, verdict, chunk_id, note, created) "
                                "values (?, ?, ?, ?, ?)", (answer_id, verdict, chunk_id or "", note[:2000], time.time()))
            return int(cursor.lastrowid)

    def judgements(self) -> list[Judgement]:
        """Every judgement, oldest first, with its answer."""
        with self._db() as db:
            rows = db.execute("select j.id, j.answer_id, j.verdict, j.chunk_id, j.note, a.question, a.query, "
                              "a.history, a.fingerprint, a.hits, j.created from judgements j join answers a "
                              "using (answer_id) order by j.id").fetchall()
        return [Judgement(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], json.loads(r[9]), r[10])
                for r in rows]


def gold(judgements: list[Judgement]) -> tuple[list[dict], list[dict]]:
    """Judgements as gold questions (the format `eval` reads: a passage keyed by its text) and those that
    still need a key ("wrong" with no passage chosen). The latest judgement of an answer wins."""
    latest = {j.answer_id: j for j in judgements}
    rows, needs = [], []
    for j in latest.values():
        hit = next((h for h in j.hits if h["chunk_id"] == j.chunk_id), None)
        if j.verdict == "right" and hit is None and j.hits:
            hit = j.hits[0]
        base = {"id": f"fb-{j.id}", "question": j.query or j.question, "split": "test", "style": "feedback"}
        if hit is not None and j.verdict in ("right", "wrong", "wrong_citation"):
            rows.append({**base, "answer": hit["text"], "doc_id": hit["doc_id"], "kind": "feedback"})
        elif j.verdict == "not_in_documents":
            rows.append({**base, "answer": None, "doc_id": None, "kind": "unanswerable", "style": "unanswerable"})
        else:
            needs.append({**base, "verdict": j.verdict, "note": j.note, "shown": [h["citation"] for h in j.hits]})
    return rows, needs
