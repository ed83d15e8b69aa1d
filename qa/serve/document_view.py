"""Document view: a document of the corpus as one page, every passage under its heading path with an
element id (c-<chunk id>, and p<N> for paragraph N), so a citation's link opens the document scrolled to
the passage it quotes, highlighted, between its neighbours; with the metadata and the original file."""
from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import quote

from ..documents.document import Chunk, Document
from ..documents.folder import TEXT_SUFFIXES, load_catalog, read_document
from ..documents.library import ORIGINALS

STYLE = """
body { font: 17px/1.75 "Noto Sans CJK SC", "PingFang SC", sans-serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #1f2328; background: #fff; }
h1 { font-size: 1.5em; line-height: 1.4; } h2 { font-size: 1.1em; color: #57606a; margin-top: 1.6em; }
.meta { color: #57606a; font-size: .9em; } .meta a { color: #0969da; }
.passage { padding: .2em .5em; border-left: 3px solid transparent; scroll-margin-top: 35vh; }
.passage .n { color: #8c959f; font-size: .8em; margin-right: .4em; user-select: none; }
.passage:target { background: #fff8c5; border-left-color: #bf8700; }
@media (prefers-color-scheme: dark) {
  body { color: #e6edf3; background: #0d1117; } h2, .meta, .passage .n { color: #9198a1; }
  .meta a { color: #4493f8; } .passage:target { background: #3b2e00; border-left-color: #d29922; }
}
"""


def document_file(data_dir: Path, doc_id: str) -> Path | None:
    """The corpus file of a document id (None for an id the folder lacks, or one naming a path)."""
    if not doc_id or "/" in doc_id or "\\" in doc_id or doc_id.startswith("."):
        return None
    return next((p for s in TEXT_SUFFIXES if (p := Path(data_dir) / f"{doc_id}{s}").is_file()), None)


def original_file(data_dir: Path, doc_id: str) -> Path | None:
    """The file a document was added from, as uploaded (kept in originals/), if it is there."""
    source = str(load_catalog(data_dir).get(doc_id, {}).get("source", ""))
    if not source.startswith(f"{ORIGINALS}/") or "/" in source[len(ORIGINALS) + 1:]:
        return None
    path = Path(data_dir) / source
    return path if path.is_file() else None


def document_page(data_dir: Path, doc_id: str) -> str | None:
    """The page of a document (None if the corpus folder has no such document)."""
    path = document_file(data_dir, doc_id)
    if path is None:
        return None
    doc, chunks = read_document(path, load_catalog(data_dir))
    original = original_file(data_dir, doc_id)
    return (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(doc.title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(doc.title)}</h1>{_meta(doc, original)}"
            f"{_passages(chunks)}</body></html>")


def _meta(doc: Document, original: Path | None) -> str:
    facts = [("日期", doc.date), ("作者", doc.author), ("地区", doc.district), ("来源", doc.source)]
    line = " · ".join(f"{k}：{escape(v)}" for k, v in facts if v)
    link = (f" · <a href='/documents/{quote(doc.doc_id, safe='')}/original' download>下载原文件"
            f"（{escape(original.suffix.lstrip('.'))}）</a>") if original else ""
    return f"<p class='meta'>{line}{link}</p>"


def _passages(chunks: list[Chunk]) -> str:
    parts, heading, seen = [], None, set()
    for c in chunks:
        if c.heading != heading and c.paragraph:
            heading = c.heading
            parts.append(f"<h2>{escape(c.heading)}</h2>" if c.heading else "")
        first = c.paragraph not in seen
        seen.add(c.paragraph)
        anchor = f" id='c-{escape(c.id)}'"
        label = f"第{c.page}页 · " if c.page else ""
        label += f"第{c.paragraph}段" if c.paragraph else "文首署名"
        paragraph_anchor = f"<span id='p{c.paragraph}'></span>" if first else ""
        parts.append(f"<div class='passage'{anchor}>{paragraph_anchor}<span class='n'>{label}</span>"
                     f"{escape(c.text)}</div>")
    return "".join(parts)
