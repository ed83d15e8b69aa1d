"""Batch: a list of questions in (.csv, .xlsx or .txt, one a row, an optional `expected` column of text the
answer must contain), a checked report out (.xlsx, .csv or .html): a row per question and a summary —
answer rate, abstentions, and where `expected` is given hit@1, hit@3 and MRR@10."""
from __future__ import annotations

import csv
import html
import io
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .ranking.answer import Answer
from .documents.document import IngestError
from .documents.readers import read_text
from .engine import Engine

QUESTION_COLUMNS = ("question", "问题", "questions")
EXPECTED_COLUMNS = ("expected", "期望", "答案", "answer")
REPORT_COLUMNS = ("#", "question", "answered", "confidence", "best_sentence", "citation_1", "citation_2",
                  "citation_3", "first_passage", "notices", "expected", "rank_of_expected")
MAX_QUESTIONS = 10_000


@dataclass(frozen=True)
class Item:
    """One question of the list, with the text its answer must contain (None: not checked)."""
    question: str
    expected: str | None = None


@dataclass(frozen=True)
class Row:
    """One question's outcome."""
    item: Item
    answer: Answer
    rank: int | None            # where the first passage holding `expected` ranks in the top 10 (None: absent)


def read_questions(path: Path) -> list[Item]:
    """The questions of a .txt (one a line), .csv or .xlsx (a header row naming `question` and optionally
    `expected`; without a header, the first column); IngestError names what is wrong."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        rows = [[line] for line in read_text(path).splitlines()]
    elif suffix == ".csv":
        rows = list(csv.reader(io.StringIO(read_text(path))))
    elif suffix == ".xlsx":
        rows = _xlsx_rows(path)
    else:
        raise IngestError(f"{path.name}: a question list is .txt, .csv or .xlsx, not {suffix or '(none)'}",
                          f"{path.name}：问题清单须是 .txt、.csv 或 .xlsx 文件，不是 {suffix or '（无扩展名）'}")
    items = _items(rows)
    if not items:
        raise IngestError(f"{path.name} has no questions: put one question per row", f"{path.name} 中没有问题：请每行写一个问题")
    if len(items) > MAX_QUESTIONS:
        raise IngestError(f"{path.name} has {len(items)} questions, over {MAX_QUESTIONS}: split it",
                          f"{path.name} 有 {len(items)} 个问题，超过 {MAX_QUESTIONS} 个：请拆分")
    return items


def _xlsx_rows(path: Path) -> list[list[str]]:
    import openpyxl
    from .documents.readers import check_zip
    check_zip(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        raise IngestError(f"{path.name} is not a readable .xlsx workbook: re-save it from Excel",
                          f"{path.name} 不是可读取的 .xlsx 工作簿：请用 Excel 另存后重试") from e
    sheet = book.worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def _items(rows: list[list[str]]) -> list[Item]:
    rows = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        return []
    head = [c.lower() for c in rows[0]]
    q_col = next((head.index(c) for c in QUESTION_COLUMNS if c in head), None)
    e_col = next((head.index(c) for c in EXPECTED_COLUMNS if c in head), None)
    body = rows[1:] if q_col is not None else rows
    q_col = q_col or 0
    return [Item(r[q_col], (r[e_col] or None) if e_col is not None and e_col < len(r) else None)
            for r in body if q_col < len(r) and r[q_col]]


def run(engine: Engine, items: list[Item], progress: Callable[[int, int], None] | None = None) -> list[Row]:
    """Ask every question (ten passages each, to find where the expected text ranks)."""
    out = []
    for i, item in enumerate(items, 1):
        answer = engine.ask(item.question, k=10)
        rank = next((r for r, h in enumerate(answer.hits, 1) if item.expected and item.expected in h.text), None)
        out.append(Row(item, answer, rank))
        if progress:
            progress(i, len(items))
    return out


def summary(rows: list[Row]) -> dict[str, float]:
    """Answer rate and abstentions over all; hit@1, hit@3 and MRR@10 over the questions with `expected`."""
    n = max(len(rows), 1)
    checked = [r for r in rows if r.item.expected]
    m = max(len(checked), 1)
    out = {"questions": len(rows), "answered": sum(not r.answer.abstained for r in rows),
           "abstained": sum(r.answer.abstained for r in rows),
           "answer_rate": round(sum(not r.answer.abstained for r in rows) / n, 4), "checked": len(checked)}
    if checked:
        out.update({"hit@1": round(sum(1 for r in checked if r.rank == 1) / m, 4),
                    "hit@3": round(sum(1 for r in checked if r.rank and r.rank <= 3) / m, 4),
                    "mrr@10": round(sum(1 / r.rank for r in checked if r.rank) / m, 4)})
    return out


def cells(index: int, row: Row) -> list:
    """A report row, in REPORT_COLUMNS' order."""
    a = row.answer
    cites = [h.citation for h in a.hits[:3]] + [""] * 3
    return [index, row.item.question, "否（文档中没有可靠答案）" if a.abstained else "是", a.confidence, a.best_sentence,
            *cites[:3], a.hits[0].text if a.hits else "", "；".join(a.notices), row.item.expected or "",
            row.rank if row.rank else ("" if not row.item.expected else "未进前10")]


def write_report(rows: list[Row], path: Path) -> Path:
    """Write the report as .xlsx (a sheet of rows and a summary sheet), .csv (rows, then the summary) or .html."""
    path = Path(path)
    suffix = path.suffix.lower()
    table = [cells(i, r) for i, r in enumerate(rows, 1)]
    totals = summary(rows)
    if suffix == ".xlsx":
        import openpyxl
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "answers"
        sheet.append(list(REPORT_COLUMNS))
        for line in table:
            sheet.append(line)
        overview = book.create_sheet("summary")
        for key, value in totals.items():
            overview.append([key, value])
        book.save(path)
    elif suffix == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as f:   # the BOM lets Excel read it as UTF-8
            writer = csv.writer(f)
            writer.writerow(REPORT_COLUMNS)
            writer.writerows(table)
            writer.writerow([])
            writer.writerows(totals.items())
    elif suffix in (".html", ".htm"):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in REPORT_COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in line) + "</tr>" for line in table)
        summed = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in totals.items())
        path.write_text(f"<!doctype html><meta charset='utf-8'><title>reform-qa report</title><table>{summed}</table>"
                        f"<table><tr>{head}</tr>{body}</table>", encoding="utf-8")
    else:
        raise IngestError(f"{path.name}: a report is .xlsx, .csv or .html, not {suffix or '(none)'}")
    return path


@dataclass
class Job:
    """A batch run in the background for the server: progress, then the rows."""
    id: str
    total: int
    done: int = 0
    state: str = "running"         # running, done or failed
    error: str = ""
    rows: list[Row] = field(default_factory=list)

    def json(self) -> dict:
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total, "error": self.error,
                "summary": summary(self.rows) if self.state == "done" else None}


class Jobs:
    """The server's batch runs: one runs at a time (the others wait their turn), the last 50 are kept."""

    def __init__(self, engine: Engine, max_questions: int):
        self.engine, self.max_questions = engine, max_questions
        self._jobs: dict[str, Job] = {}
        self._turn = threading.Lock()

    def start(self, path: Path) -> Job:
        """Read a question list now (IngestError names what is wrong) and answer it in the background."""
        items = read_questions(path)
        if len(items) > self.max_questions:
            raise IngestError(f"{len(items)} questions, over the {self.max_questions} a batch through the server may "
                              "hold (QA_MAX_BATCH_QUESTIONS): split the list, or run `reform-qa batch` on the server")
        job = Job(uuid.uuid4().hex[:12], len(items))
        self._jobs[job.id] = job
        for old in list(self._jobs)[:-50]:
            self._jobs.pop(old, None)
        threading.Thread(target=self._run, args=(job, items), daemon=True, name=f"batch-{job.id}").start()
        return job

    def _run(self, job: Job, items: list[Item]) -> None:
        def progress(done: int, total: int) -> None:
            job.done = done
        with self._turn:
            try:
                job.rows = run(self.engine, items, progress)
                job.state = "done"
            except Exception as e:      # the edge of a background job: the status says what broke
                job.state, job.error = "failed", str(e)[:500]

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def report(self, job: Job, suffix: str) -> Path:
        """The finished job's report written to a temporary file of the given type."""
        folder = Path(tempfile.mkdtemp(prefix="qa-report-"))
        return write_report(job.rows, folder / f"report-{job.id}{suffix}")
