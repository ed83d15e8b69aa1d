"""Library: add, list and remove the documents of a corpus folder, atomically and one file at a time."""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from ..settings import MAX_FILE_MB
from .document import Document, IngestError
from .document import Chunk
from .folder import CATALOG, as_document, corpus_files, document, load_catalog, write_atomic
from .header import dateline, signature
from .parse import parse
from .readers import check_type, extract, read_text
from ..text import digest

ORIGINALS = "originals"     # data/originals/ keeps each added file as it was uploaded, for checking citations


@dataclass(frozen=True)
class Added:
    """What happened to one file of an `add`: status is added, skipped or error."""
    path: str
    status: str
    message: str
    doc_id: str = ""
    said_zh: str = ""     # the message in Chinese, for the chat page ("" : only the English one)


def safe_id(name: str, taken: set[str]) -> str:
    """A document id from an uploaded name: no folders, dots or odd characters, never an existing id."""
    stem = Path(unicodedata.normalize("NFKC", Path(str(name).replace("\\", "/")).name)).stem
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "-", stem).strip("-_.").lower()[:80] or "document"
    candidate, n = stem, 2
    while candidate in taken or candidate in (CATALOG.split(".")[0], ORIGINALS):
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def _fingerprint(text: str) -> str:
    return digest(re.sub(r"\s+", "", text))


def _safe_fingerprint(path: Path) -> str:
    try:
        return _fingerprint(read_text(path))
    except IngestError:   # an unreadable file already in the corpus matches nothing
        return ""


def _fingerprints(files: list[Path], catalog: dict) -> dict[str, str]:
    """Each corpus file's text fingerprint (duplicates are refused by it), kept in the catalog once
    computed, so an add reads no other document of the corpus."""
    out = {}
    for path in files:
        entry, stat = catalog.setdefault(path.stem, {}), path.stat()
        seen = [stat.st_size, stat.st_mtime_ns]
        if not entry.get("fingerprint") or entry.get("fingerprint_of") != seen:   # new, or edited by hand
            entry["fingerprint"], entry["fingerprint_of"] = _safe_fingerprint(path), seen
        out[path.stem] = entry["fingerprint"]
    return out


def _files(paths: list[str | Path]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        try:
            folder = p.is_dir()
        except OSError:                  # a name too long for the file system, say: _add_one reports it
            folder = False
        if folder:
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        else:
            out.append(p)
    return out


def documents(data_dir: Path) -> list[Document]:
    """The documents of a corpus folder with their catalog metadata (without parsing their text)."""
    catalog = load_catalog(data_dir)
    return [document(path, catalog) for path in corpus_files(data_dir)]


def add(data_dir: Path, paths: list[str | Path], title: str | None = None, date: str | None = None,
        author: str | None = None, district: str | None = None, max_mb: float = MAX_FILE_MB,
        names: list[str] | None = None, max_passages: int | None = None) -> list[Added]:
    """Copy files into the corpus as UTF-8 text (originals kept), one result per file; a bad file
    never stops the batch. `names` are the user's file names when `paths` are upload temp files;
    `max_passages` bounds each file's passages (the server's uploads; the CLI has no bound)."""
    return add_parsed(data_dir, paths, title, date, author, district, max_mb, names, max_passages)[0]


def add_parsed(data_dir: Path, paths: list[str | Path], title: str | None = None, date: str | None = None,
               author: str | None = None, district: str | None = None, max_mb: float = MAX_FILE_MB,
               names: list[str] | None = None, max_passages: int | None = None
               ) -> tuple[list[Added], list[tuple[Document, list[Chunk]]]]:
    """add(), with each added file as indexing takes it (its document and chunks, parsed once here)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    results: list[Added] = []
    parsed: list[tuple[Document, list[Chunk]]] = []
    files = _files(paths)
    names = names if names and len(names) == len(files) else [f.name for f in files]
    with FileLock(str(data_dir / ".lock")):
        catalog = load_catalog(data_dir)
        existing = _fingerprints(corpus_files(data_dir), catalog)
        for path, name in zip(files, names):
            try:
                result, doc = _add_one(data_dir, path, name, catalog, existing, title, date, author, district,
                                       max_mb, max_passages)
                results.append(result)
                parsed += [doc] if doc else []
            except IngestError as e:
                results.append(Added(name, "error", str(e), said_zh=e.zh))
            except OSError as e:
                results.append(Added(name, "error", f"{name}: cannot read it ({e.strerror or e})",
                                     said_zh=f"无法读取 {name}（{e.strerror or e}）"))
        write_atomic(data_dir / CATALOG, json.dumps(catalog, ensure_ascii=False, indent=1).encode("utf-8"))
    return results, parsed


def _add_one(data_dir: Path, path: Path, name: str, catalog: dict, existing: dict, title, date, author,
             district, max_mb: float, max_passages: int | None = None
             ) -> tuple[Added, tuple[Document, list[Chunk]] | None]:
    try:
        found_file = path.is_file()
    except OSError as e:
        return Added(name[:120], "error", f"{name[:120]}…: cannot open it ({e.strerror or e}): shorten the path"), None
    if not found_file:
        return Added(name, "error", f"{name}: no such file", said_zh=f"{name}：文件不存在"), None
    check_type(name)
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        return Added(name, "error", f"{name} is {size_mb:.1f} MB, over the {max_mb:g} MB limit: "
                                    f"split the file or raise the limit (--max-mb)",
                     said_zh=f"{name} 有 {size_mb:.1f} MB，超过 {max_mb:g} MB 的上限：请拆分文件"), None
    if path.suffix.lower() == Path(name).suffix.lower():
        found = extract(path)
    else:   # an upload temp file: the readers go by suffix, so read a copy under the real one
        with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
            found = extract(Path(shutil.copyfile(path, Path(tmp) / f"upload{Path(name).suffix.lower()}")))
    fingerprint = _fingerprint(found.text)
    same = next((d for d, f in existing.items() if f and f == fingerprint), None)
    if same:
        return Added(name, "skipped", f"{name} is already in the corpus as {same}: skipped", same,
                     f"{name} 已在语料库中（{same}）：跳过"), None
    doc_id = safe_id(name, set(existing) | set(catalog))
    found_title, chunks = parse(found.text, doc_id)
    if not chunks:
        return Added(name, "error", f"{name}: no passage left after cleaning (only a title, captions or "
                                    f"bylines?); add body text to it",
                     said_zh=f"{name}：清理后没有正文段落（只有标题、图表说明或署名？）；请加入正文"), None
    if max_passages and len(chunks) > max_passages:
        return Added(name, "error", f"{name} has {len(chunks)} passages, over the {max_passages} an upload may "
                                    f"embed (QA_MAX_UPLOAD_PASSAGES): raise it, split the file, or add it with "
                                    f"`reform-qa add {name}` on the server",
                     said_zh=f"{name} 有 {len(chunks)} 个段落，超过一次上传的上限 {max_passages}（QA_MAX_UPLOAD_PASSAGES）："
                             f"请拆分文件，或在服务器上用 reform-qa add 添加"), None
    original = data_dir / ORIGINALS / f"{doc_id}{Path(name).suffix.lower()}"
    original.parent.mkdir(exist_ok=True)
    write_atomic(original, path.read_bytes())
    text_file = data_dir / f"{doc_id}.txt"
    write_atomic(text_file, found.text.encode("utf-8"))
    existing[doc_id] = fingerprint
    from_text, signed_by = dateline(found.text), signature(found.text)[0]   # the text first, the file's metadata last
    catalog[doc_id] = {"title": title or found.title or found_title or Path(name).stem,
                       "date": date or from_text or found.date,
                       "date_from": "given" if date else "text" if from_text else "file" if found.date else "",
                       "author": author or signed_by or found.author,
                       "author_from": "given" if author else "text" if signed_by else "file" if found.author else "",
                       "source": f"{ORIGINALS}/{original.name}",
                       "district": district or "", "pages": found.pages,
                       "added": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    stat = text_file.stat()
    catalog[doc_id].update(fingerprint=fingerprint, fingerprint_of=[stat.st_size, stat.st_mtime_ns])
    pages = f", {found.pages} pages" if found.pages else ""
    pages_zh = f"，{found.pages} 页" if found.pages else ""
    return (Added(name, "added", f"{name} added as {doc_id} ({len(found.text)} characters{pages})", doc_id,
                  f"{name} 已添加为 {doc_id}（{len(found.text)} 字{pages_zh}）"),
            as_document(text_file, found.text, catalog, found_title, chunks))


def remove(data_dir: Path, doc_id: str) -> str:
    """Delete a document, its original and its catalog entry; returns what was removed."""
    data_dir = Path(data_dir)
    with FileLock(str(data_dir / ".lock")):
        files = [p for p in corpus_files(data_dir) if p.stem == doc_id]
        if not files or "/" in doc_id or "\\" in doc_id:
            known = ", ".join(d.doc_id for d in documents(data_dir))
            raise IngestError(f"no document {doc_id!r} in {data_dir}; documents are: {known}")
        catalog = load_catalog(data_dir)
        entry = catalog.pop(doc_id, {})
        write_atomic(data_dir / CATALOG, json.dumps(catalog, ensure_ascii=False, indent=1).encode("utf-8"))
        for f in files:
            f.unlink()
        source = entry.get("source", "")
        if source.startswith(f"{ORIGINALS}/"):
            (data_dir / source).unlink(missing_ok=True)
    return f"removed {doc_id} ({entry.get('title', files[0].name)})"
