"""Document and Chunk: what a corpus is made of, and the error a file that cannot be read raises."""
from __future__ import annotations

from dataclasses import dataclass

from ..text import cn_figures, digest


class IngestError(ValueError):
    """A document that cannot be read or added; the message names the file and the fix (zh: the same in
    Chinese, for the chat page)."""

    def __init__(self, message: str, zh: str = ""):
        super().__init__(message)
        self.zh = zh


@dataclass(frozen=True)
class Document:
    """One source document and the metadata its citations show."""
    doc_id: str
    title: str
    date: str = ""
    author: str = ""
    source: str = ""
    district: str = ""
    path: str = ""


@dataclass(frozen=True)
class Chunk:
    """One answer passage: a paragraph (or part of one) with where it stands in its document."""
    id: str
    doc_id: str
    text: str
    paragraph: int
    heading: str = ""
    page: int = 0       # 1-based PDF page the passage starts on; 0 for documents without pages


def content_hash(doc_id: str, heading: str, text: str) -> str:
    """A chunk's id, the hash of its content: unchanged text keeps its id, so it is never re-embedded."""
    return digest(f"{doc_id}\n{heading}\n{text}", 16)


def index_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its heading path gives the passage context; figures
    in Chinese numerals as digits, which the encoder reads as numbers (二〇〇三年 -> 2003年)."""
    return cn_figures(f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text)
