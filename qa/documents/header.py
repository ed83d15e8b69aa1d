"""Header: what a document says about itself — bylines and signatures, its dateline and meeting, its
document number, the closing signature and date — and the header passage (paragraph 0) that holds them."""
from __future__ import annotations

import re
import unicodedata

from ..text import cn_figures
from .document import Chunk, Document, content_hash

SHORT = 40        # headings, captions and bylines are at most this long
_CAPTION = re.compile(r"摄\s*[)）]$|供图$|(图片|照片)由.*提供[)）]?$")
_BYLINE = re.compile(r"^((见习)?记者|通讯员|.{0,8}报道组)\s|^[\u4e00-\u9fff]{2,3}( [\u4e00-\u9fff]{2,3}){1,3}$")
# “镇海区人民政府区长 何黎斌”: an office, then a name (a heading like “二、2020年 目标” has no office word)
_SIGNED = re.compile(r"^\S{0,24}(长|书记|主任|主席|总理|记者|通讯员|委员|报道组|编辑|作者)\s+"
                     r"[\u4e00-\u9fff](\s?[\u4e00-\u9fff]){1,2}$")   # “国务院总理　李　强” too
_SIGNED_GLUED = re.compile(r"^\S{0,16}(省长|市长|区长|县长|镇长|总理|书记)[\u4e00-\u9fff]{2,3}$")   # 临江市市长王海东
# A dateline or the line naming the meeting a report was given at (“——2024年3月5日在第十四届全国人民代表大会
# 第二次会议上”, “2026-01-22”): metadata, never glued onto a paragraph; its date dates the document.
_DATELINE = re.compile(r"^[—\-－(（]*\s*((时间|日期)[:：]\s*)?((19|20)\d\d[年\-./]\d{1,2}[月\-./]\d{1,2}日?)"
                       r"\s*([在于][^。！？，]{0,40})?[)）]?$|^[—(（]*[^。！？，]{0,30}(会议|大会)上[)）]?$")
_DATE = re.compile(r"((?:19|20)\d\d)\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})")
# A document number (国发〔2019〕4号, 甬政发[2020]12号) and the closing signature: the issuing body on one
# short line, the date it was signed on the next (二〇一八年十二月二十九日 too).
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（]((?:19|20)\d\d)[〕\]］)）]\s*第?\d{1,4}号")
_SIGNATURE_DATE = re.compile(r"^[(（]?((19|20)\d\d)年\d{1,2}月(\d{1,2}日)?[)）]?$")
BYLINE_LINES = 40   # signatures are looked for in a document's first 40 lines (non-blank)
HEADER = "署名与来源"   # heading of a document's header passage (paragraph 0): who wrote, spoke or reported


def is_caption(line: str) -> bool:
    """A photo caption or credit (唐斌权 摄), never a passage."""
    return bool(_CAPTION.search(line))


def _figures(line: str) -> str:
    """A line with full-width forms and Chinese numerals as digits, for the patterns below."""
    return cn_figures(unicodedata.normalize("NFKC", line))


def is_dateline(line: str) -> bool:
    """A dateline or meeting line (“——2024年3月5日在…会议上”, “（二〇一八年一月二日）”): metadata, not a passage."""
    return bool(_DATELINE.match(_figures(line)))


def _lines(text: str) -> list[str]:
    """The non-blank lines, stripped, as parse() reads them (page breaks and ideographic spaces removed)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [t for t in (line.replace("\f", "").strip().replace("\u3000", " ") for line in lines) if t]


def datelines(text: str) -> list[str]:
    """The dateline and meeting lines among a document's first lines, as written; a line broken in two
    (“2020年5月9日在宁波市镇海区” / “第十五届人民代表大会第四次会议上”) is joined."""
    found: list[str] = []
    last = -2
    for i, line in enumerate(_lines(text)[:15]):
        if len(line) > 60 or line[-1:] in "。！？!?；;":   # the body has begun: a date below it is a signature
            break
        if is_dateline(line):
            if i == last + 1 and found and not _DATE.search(_figures(line)):   # the meeting, on a line of its own
                found[-1] += line
            else:
                found.append(line)
            last = i
    return found


def _document_number(text: str) -> re.Match | None:
    for line in _lines(text)[:15]:
        found = _DOC_NUMBER.search(_figures(line)) if len(line) <= 60 else None
        if found:
            return found
    return None


def document_number(text: str) -> str:
    """The document number among the first lines (国发〔2019〕4号), as written; "" when none."""
    found = _document_number(text)
    return found.group(0) if found else ""


def signature(text: str) -> tuple[str, str]:
    """The signature (issuing body, date as written): a short line naming the body, then a line that is
    only a date — at the end of a document, or under the cover letter of one that issues another
    (国务院办公厅 / 二〇〇五年六月十一日, then the plan it issues); ("", "") when none."""
    lines = _lines(text)
    for body, date in zip(lines[1:], lines[2:]):   # never the title (the first line) with a date under it
        if len(date) <= 20 and _SIGNATURE_DATE.match(_figures(date)) and len(body) <= 30 and body[-1:] not in "。！？!?；;：:" \
                and not _DATE.search(_figures(body)):
            return " ".join(body.split()), date
    return "", ""


def _iso(line: str) -> str:
    found = _DATE.search(_figures(line))
    return f"{found.group(1)}-{int(found.group(2)):02d}-{int(found.group(3)):02d}" if found else ""


def dateline(text: str) -> str:
    """The date a document gives itself, as YYYY-MM-DD: its dateline (“2024年3月5日在…会议上”), else the
    date it was signed, else a date among its first lines, else its document number's year (YYYY); ""
    when none."""
    for line in datelines(text) + [signature(text)[1]] + [t for t in _lines(text)[:15] if len(t) <= 60]:
        if date := _iso(line):
            return date
    number = _document_number(text)
    return number.group(1) if number else ""


def is_byline(line: str, position: int) -> bool:
    """A byline anywhere (记者 沈孙晖) or a signature among the first lines (镇海区人民政府区长 何黎斌,
    玉溪市市长董诗强)."""
    signed = bool(_SIGNED.match(line) or _SIGNED_GLUED.match(line))
    return (len(line) <= SHORT and bool(_BYLINE.search(line))) or (position < BYLINE_LINES and signed)


def bylines(text: str) -> list[str]:
    """The byline and signature lines of a document (记者 沈孙晖, 区长 何黎斌): exactly the ones parse()
    leaves out of the passages."""
    return [line for i, line in enumerate(_lines(text)) if is_byline(line, i) and not is_caption(line)]


def header_chunk(doc: Document, found: list[str], about: list[str] = ()) -> Chunk | None:
    """A document's header passage (paragraph 0): title, date, author or speaker, the bylines found in the
    text and what it says about itself (`about`: document number, dateline and meeting, signature), so that
    “谁作了政府工作报告？” finds 何黎斌 and “哪天在哪次会议上作的” the dateline. None when it has none of them."""
    bare = lambda t: re.sub(r"[\s；;，,、]", "", t)
    names = [doc.author] if doc.author else []
    names += [line for line in found if bare(line) not in bare(doc.author)]
    if not names and not about:
        return None
    lines = [f"《{doc.title}》" + (f"（{doc.date}）" if doc.date else "")]
    lines += ["作者、记者、讲话人或报告人：" + "；".join(names)] if names else []
    lines += list(about)
    if doc.source and not doc.source.startswith("originals/"):   # an upload's stored copy is no source
        lines.append(f"来源：{doc.source}")
    text = "\n".join(lines)
    return Chunk(content_hash(doc.doc_id, HEADER, text), doc.doc_id, text, 0, HEADER)


def about(text: str) -> list[str]:
    """What a document says about itself, for its header passage: 文号, datelines, 落款."""
    number, (body, date) = document_number(text), signature(text)
    lines = [line for line in datelines(text) if line.strip("（()）") != date.strip("（()）")]   # its date once
    return ([f"文号：{number}"] if number else []) + lines + ([f"落款：{body} {date}"] if date else [])
