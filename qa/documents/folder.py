"""Folder: a corpus folder on disk: its documents (*.txt, *.md), their catalog (catalog.json), loading it
into documents and chunks, writing its files atomically, and seeding a new home with the shipped corpus."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..settings import SHIPPED_CORPUS
from .document import Chunk, Document, IngestError
from .header import about, bylines, dateline, header_chunk
from .parse import parse
from .readers import read_text

TEXT_SUFFIXES = (".txt", ".md")
CATALOG = "catalog.json"


def load_catalog(data_dir: Path) -> dict[str, dict]:
    """Read data/catalog.json: {doc_id: {title, date, author, source, district}}."""
    path = Path(data_dir) / CATALOG
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise IngestError(f"{path} is not valid JSON ({e}); fix the file or delete it") from None


def corpus_files(data_dir: Path) -> list[Path]:
    """The document files of a corpus folder (not its subfolders), in name order."""
    return sorted(p for p in Path(data_dir).iterdir() if p.suffix.lower() in TEXT_SUFFIXES and p.is_file())


def document(path: Path, catalog: dict[str, dict], found_title: str = "", found_date: str = "") -> Document:
    """A file's Document: its catalog metadata, titled by the title found in it (or its id) if none."""
    meta = {k: str(v) for k, v in catalog.get(path.stem, {}).items()
            if k in ("title", "date", "author", "source", "district")}
    meta.setdefault("title", found_title or path.stem)
    if found_date and not meta.get("date"):
        meta["date"] = found_date
    return Document(doc_id=path.stem, path=str(path), **meta)


def load_corpus(data_dir: Path) -> tuple[list[Document], list[Chunk]]:
    """Read every document in data_dir (not its subfolders) into documents and chunks."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise IngestError(f"no corpus folder {data_dir}: create it or pass --data DIR")
    catalog = load_catalog(data_dir)
    docs, chunks = [], []
    for path in corpus_files(data_dir):
        doc, doc_chunks = read_document(path, catalog)
        docs.append(doc)
        chunks.extend(doc_chunks)
    return docs, chunks


def read_document(path: Path, catalog: dict[str, dict]) -> tuple[Document, list[Chunk]]:
    """One corpus file as its document (metadata from the catalog, else from the text) and chunks."""
    text = read_text(path)
    return as_document(path, text, catalog, *parse(text, path.stem))


def as_document(path: Path, text: str, catalog: dict[str, dict], found_title: str,
                doc_chunks: list[Chunk]) -> tuple[Document, list[Chunk]]:
    """A parsed corpus file (its text, the title and chunks parse() found) as its document and chunks,
    the header passage first."""
    doc = document(path, catalog, found_title, dateline(text))
    header = header_chunk(doc, bylines(text), about(text))
    return doc, ([header] if header else []) + doc_chunks


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so readers see the old or the new content, never a part: temp file, fsync, replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def seed_corpus(data_dir: Path) -> bool:
    """Give a new, empty corpus folder the shipped documents, catalog and glossary (so an installed copy
    answers out of the box); a folder that exists is left alone. Returns whether it copied."""
    data_dir = Path(data_dir)
    if data_dir.exists() or data_dir.resolve() == SHIPPED_CORPUS.resolve():
        return False
    tmp = data_dir.with_name(f".{data_dir.name}.seeding-{os.getpid()}")
    shutil.copytree(SHIPPED_CORPUS, tmp, ignore=shutil.ignore_patterns("eval", "__pycache__", "*.py", ".lock"))
    try:
        os.replace(tmp, data_dir)    # whole or not at all, even with two first runs at once
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return True
