"""Transcript: a conversation as a file to keep or send — Markdown and Word (.docx) — each reply with its
best sentence, notices and the passages it cites, quoted with their citations and links; never HTML."""
from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from ..text import digest

TITLE = "reform-qa 对话记录"


def _quote(hit: dict, base: str) -> tuple[str, str]:
    """A cited passage as (its quote, its citation with a link to the paragraph in the document view)."""
    link = f"{base.rstrip('/')}{hit['url']}" if base and hit.get("url") else hit.get("url", "")
    return f"“{hit['text'].strip()}”", f"（{hit['citation']}）" + (f" {link}" if link else "")


def markdown(turns: list[dict], base: str = "") -> str:
    """The conversation in Markdown: one section per question (the JSON of each answer, answer_json)."""
    lines = [f"# {TITLE}", "", f"导出时间：{datetime.now().strftime('%Y-%m-%d %H:%M')}", ""]
    for n, turn in enumerate(turns, 1):
        lines += [f"## {n}. {turn['question']}", ""]
        if turn.get("abstained"):
            lines += ["**文档中没有可靠的答案。**", ""]
        elif turn.get("best_sentence"):
            lines += [f"**{turn['best_sentence'].strip()}**", ""]
        lines += [f"> {notice}" for notice in turn.get("notices", [])] + ([""] if turn.get("notices") else [])
        for i, hit in enumerate(turn.get("hits", []), 1):
            quote, cited = _quote(hit, base)
            lines += [f"{i}. {quote}{cited}", ""]
    return "\n".join(lines).rstrip() + "\n"


def word(turns: list[dict], path: Path, base: str = "") -> Path:
    """The conversation as a Word document, laid out like the Markdown."""
    import docx
    document = docx.Document()
    document.core_properties.title, document.core_properties.author = TITLE, "reform-qa"
    document.add_heading(TITLE, level=1)
    document.add_paragraph(f"导出时间：{datetime.now().strftime('%Y-%m-%d %H:%M')}")
    for n, turn in enumerate(turns, 1):
        document.add_heading(f"{n}. {turn['question']}", level=2)
        top = "文档中没有可靠的答案。" if turn.get("abstained") else turn.get("best_sentence", "").strip()
        if top:
            document.add_paragraph().add_run(top).bold = True
        for notice in turn.get("notices", []):
            document.add_paragraph(notice, style="Intense Quote")
        for hit in turn.get("hits", []):
            quote, cited = _quote(hit, base)
            document.add_paragraph(quote + cited, style="List Number")
    document.save(str(path))
    return path


def write(turns: list[dict], base: str = "", session: str = "") -> tuple[str, str]:
    """The conversation written as (.md path, .docx path) for the downloads, in its session's temporary
    folder, which holds only the latest pair (a new folder when there is no session)."""
    if session:
        folder = Path(tempfile.gettempdir()) / "reform-qa-conversations" / digest(session, 16)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("reform-qa-*"):
            old.unlink(missing_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="qa-conversation-"))
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    md = folder / f"reform-qa-对话-{stamp}.md"
    md.write_text(markdown(turns, base), encoding="utf-8")
    return str(md), str(word(turns, folder / f"reform-qa-对话-{stamp}.docx", base))
