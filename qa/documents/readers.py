"""Readers: text and metadata out of .txt/.md (any encoding), .docx, .pdf and .html files (PDF pages as \\f)."""
from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import docx
import pypdf
from charset_normalizer import from_bytes

from .document import IngestError

SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
MAX_INFLATED_BYTES = 200 * 2**20   # a .docx's parts inflated: the biggest real report here is under 5 MB
MAX_PARTS = 10_000
PAGE_BREAK = "\f"          # between PDF pages in extracted text; parse() counts them for 第N页
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Extracted:
    """A file's text (pages separated by PAGE_BREAK) and the metadata found in it."""
    text: str
    title: str = ""
    date: str = ""
    author: str = ""
    pages: int = 0


def read_text(path: Path) -> str:
    """Decode a text file whatever its encoding (UTF-8/BOM, UTF-16, GBK/GB18030...)."""
    data = Path(path).read_bytes()
    if not data.strip():
        raise IngestError(f"{Path(path).name} is empty: add text to it or remove it", f"{Path(path).name} 是空文件：没有可添加的文字")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")   # GB18030 is a superset of GBK and GB2312
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"cannot decode {Path(path).name}: it is not text; save it as UTF-8 and retry",
                          f"无法识别 {Path(path).name} 的编码：它不是文本文件；请另存为 UTF-8 后重试")
    return str(best)


def check_type(name: str) -> None:
    """Raise IngestError unless a file name has a suffix the readers handle."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise IngestError(f"{Path(name).name}: unsupported type {suffix or '(none)'}; supported: {' '.join(SUFFIXES)}",
                          f"{Path(name).name}：不支持的文件类型 {suffix or '（无扩展名）'}；支持 {' '.join(SUFFIXES)}")


def extract(path: Path) -> Extracted:
    """Read one file by its type; IngestError names the file and what to do about it."""
    path = Path(path)
    check_type(path.name)
    suffix = path.suffix.lower()
    if not path.stat().st_size:
        raise IngestError(f"{path.name} is empty: nothing to add", f"{path.name} 是空文件：没有可添加的文字")
    reader = {".docx": _docx, ".pdf": _pdf, ".html": _html, ".htm": _html}.get(suffix, _text)
    found = reader(path)
    text = _CONTROL.sub("", found.text.replace("\r\n", "\n")).strip()
    if len(re.sub(r"\s", "", text.replace(PAGE_BREAK, ""))) < 2:
        raise IngestError(f"{path.name} has no text to index", f"{path.name} 中没有可检索的文字")
    return Extracted(text, found.title.strip(), found.date, found.author.strip(), found.pages)


def _text(path: Path) -> Extracted:
    text = read_text(path)
    if path.suffix.lower() == ".md":   # “# 标题” -> “标题”: headings are found by layout, not by markup
        text = re.sub(r"(?m)^#{1,6}\s+", "", text)
    controls = len(_CONTROL.findall(text)) + text.count("\ufffd")
    if controls > max(8, len(text) // 50):
        raise IngestError(f"{path.name} looks binary, not text ({controls} control or undecodable characters)",
                          f"{path.name} 看起来是二进制文件而不是文本（{controls} 个控制字符或无法解码的字符）")
    return Extracted(text)


def check_zip(path: Path, max_bytes: int = MAX_INFLATED_BYTES, max_parts: int = MAX_PARTS) -> None:
    """Refuse a zip-based file (.docx) whose parts would inflate past max_bytes or that has more than
    max_parts parts, from its directory alone (a zip bomb costs nothing to refuse)."""
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise IngestError(f"{path.name} is not a readable Word .docx file (not a zip archive); re-save it from "
                          "Word as .docx", f"{path.name} 不是可读取的 Word .docx 文件；请用 Word 另存为 .docx 后重试") from e
    inflated = sum(p.file_size for p in parts)
    if len(parts) > max_parts or inflated > max_bytes:
        raise IngestError(f"{path.name} would inflate to {inflated / 2**20:.0f} MB in {len(parts)} parts, over the "
                          f"{max_bytes / 2**20:.0f} MB / {max_parts} parts a document may hold: it is damaged or a "
                          "zip bomb; re-save it from Word, or save it as .txt")


# Word's own values for a document saved from a template (python-docx's default template among them):
# a date or author the text itself did not give, never shown as the document's.
TEMPLATE_AUTHORS = frozenset({"python-docx", "Administrator", "admin", "user", "User", "微软用户", "Microsoft Office 用户"})
TEMPLATE_DATES = frozenset({"2013-12-23"})


def _docx(path: Path) -> Extracted:
    check_zip(path)
    try:
        document = docx.Document(str(path))
    except Exception as e:
        raise IngestError(f"{path.name} is not a readable Word .docx file ({type(e).__name__}); "
                          f"re-save it from Word as .docx", f"{path.name} 不是可读取的 Word .docx 文件；请用 Word 另存为 .docx 后重试") from None
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
    props = document.core_properties
    date = props.created.date().isoformat() if props.created else ""
    author = props.author or ""
    return Extracted("\n\n".join(lines), props.title or "", "" if date in TEMPLATE_DATES else date,
                     "" if author in TEMPLATE_AUTHORS else author)


def _pdf(path: Path) -> Extracted:
    logging.getLogger("pypdf").setLevel(logging.ERROR)   # broken files get one clear error, not warnings
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{path.name} is encrypted: remove the password (print to PDF) and add it again",
                              f"{path.name} 已加密：请去掉密码（例如另存或打印为 PDF）后再添加")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata or {}
    except IngestError:
        raise
    except Exception as e:
        raise IngestError(f"{path.name} is not a readable PDF ({type(e).__name__}: {e})",
                          f"{path.name} 不是可读取的 PDF 文件（文件已损坏或并非 PDF）；请重新导出 PDF 后再添加") from None
    if not "".join(pages).replace("\x00", "").strip():
        raise IngestError(f"no text layer in {path.name}: it is an image-only (scanned) PDF; "
                          f"run OCR on it first (e.g. ocrmypdf) and add the result",
                          f"{path.name} 没有文字层：它是扫描的图片 PDF；请先做文字识别（OCR，例如 ocrmypdf）再添加")
    raw = str(meta.get("/CreationDate") or "")
    date = f"{raw[2:6]}-{raw[6:8]}-{raw[8:10]}" if re.match(r"D:\d{8}", raw) else ""
    return Extracted(PAGE_BREAK.join(pages), str(meta.get("/Title") or ""), date, str(meta.get("/Author") or ""),
                     len(pages))


class _HTMLText(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table"}

    def __init__(self):
        super().__init__()
        self.parts, self.title, self.h1, self._skip, self._in = [], "", "", 0, ""

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        self._in = tag

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        self._in = ""

    def handle_data(self, data):
        if self._skip:
            return
        if self._in == "title":
            self.title += data
            return
        if self._in == "h1" and not self.h1:
            self.h1 = data.strip()
        self.parts.append(data)


def _html(path: Path) -> Extracted:
    parser = _HTMLText()
    parser.feed(read_text(path))
    text = re.sub(r"\n\s*\n\s*", "\n\n", re.sub(r"[ \t]+", " ", "".join(parser.parts)))
    return Extracted(text, parser.h1 or parser.title.strip())
