"""Parse: a document's text -> its title and chunks (layout artefacts repaired, headings kept as a path;
bylines, datelines and signatures left to the header passage, qa.documents.header)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import jieba

from .document import Chunk, content_hash
from .header import SHORT, is_byline, is_caption, is_dateline

MAX_CHARS = 200   # a longer paragraph is split at sentence boundaries (200 beat 250/320/400 on dev)
MIN_CHARS = 40    # a shorter paragraph is merged with its neighbour in the same section

_END = "。！？!?…；;：:"
_CLOSERS = "”’）)」』》】\"'"
_LEVEL1 = re.compile(r"^([一二三四五六七八九十]+、|[A-H] ?(?=[\u4e00-\u9fff])|附件)")
_LEVEL2 = re.compile(r"^（[一二三四五六七八九十]+）")
_SENTENCE = re.compile(r"[^。！？!?；;]*[。！？!?；;]+[”’）)」』]*|[^。！？!?；;]+$")
_SALUTATION = re.compile(r"^(各位代表|各位委员|同志们|女士们、先生们|代表们)[，,、！!：:。]*$")
MIN_PASSAGE = 12   # a fragment shorter than this joins the passage before it (“各位代表！” is no passage)


@dataclass
class _Block:
    text: str
    kind: str = "body"   # body | heading | bullet
    level: int = 0
    gap: int = 0         # blank lines before the block
    page: int = 0        # page (1-based) when the text has \f page breaks, else 0


def _is_terminal(text: str) -> bool:
    return text.rstrip(_CLOSERS + " ")[-1:] in _END if text.rstrip(_CLOSERS + " ") else False


def _blocks(text: str) -> list[_Block]:
    blocks, gap = [], 0
    page = 1 if "\f" in text else 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        page += line.count("\f") if page else 0
        line = line.replace("\f", "").strip().replace("\u3000", " ")
        if not line:
            gap += 1
            continue
        blocks.append(_Block(line, gap=gap, page=page))
        gap = 0
    return blocks


def _classify(blocks: list[_Block]) -> tuple[str, list[_Block]]:
    """Drop captions and bylines, take the title, mark headings and bullets."""
    kept: list[_Block] = []
    for i, b in enumerate(blocks):
        short = len(b.text) <= SHORT
        first = i == 0
        if is_caption(b.text) or is_byline(b.text, i) or is_dateline(b.text) or _SALUTATION.match(b.text):
            continue   # bylines and signatures go to the header passage (header_chunk), datelines to the date
        if short and ((b.gap >= 2 and not first) or (first and b.text.endswith("。"))):
            continue  # a photo caption: isolated by wide gaps in the page layout
        kept.append(b)
    title = ""
    if kept and len(kept[0].text) <= 60 and not _is_terminal(kept[0].text):
        title = kept.pop(0).text
    numbered = any(_LEVEL1.match(b.text) or _LEVEL2.match(b.text) for b in kept)
    for i, b in enumerate(kept):
        nxt = kept[i + 1].text if i + 1 < len(kept) else ""
        continues = bool(re.match(r"^([^。！？，、“”]{0,2}[。！？]|[，、。；])", nxt))  # "口。近年来…" ends this block
        if b.text.startswith(("- ", "• ", "· ")):
            b.kind = "bullet"
        elif _LEVEL2.match(b.text):
            inline = re.search(r"[。！？!?]", b.text)   # “（一）经济发展稳中提质。实现…” is a body
            b.kind, b.level = ("body", 2) if inline or len(b.text) > 90 else ("heading", 2)
        elif _LEVEL1.match(b.text) and len(b.text) <= SHORT and not _is_terminal(b.text):
            b.kind, b.level = "heading", 1
        elif len(b.text) <= SHORT and not _is_terminal(b.text) and not continues \
                and not (nxt and _crosses_word(b.text, nxt)) and \
                (not numbered or (i and kept[i - 1].kind == "heading")):
            b.kind, b.level = "heading", 1   # a plain heading, or the subtitle under a numbered one
    return title, kept


def _crosses_word(left: str, right: str) -> bool:
    """True when the end of `left` and the start of `right` form one dictionary word."""
    joined, cut = left[-3:] + right[:3], len(left[-3:])
    pos = 0
    for token in jieba.cut(joined, HMM=False):
        if pos < cut < pos + len(token) and len(token) > 1:
            return True
        pos += len(token)
    return False


def _join_broken(blocks: list[_Block]) -> list[_Block]:
    """Join paragraphs broken by page breaks, and fragments whose rest sits in another column."""
    out, todo = [], list(blocks)
    while todo:
        b = todo.pop(0)
        while b.kind == "body" and not _is_terminal(b.text) and todo:
            ahead = next((j for j, c in enumerate(todo[:20]) if c.kind == "heading"), min(len(todo), 20))
            later = [j for j, c in enumerate(todo[:20]) if c.kind == "body"]
            if not later:
                break
            if b.text[-1] in "，、,（(“" or _crosses_word(b.text, todo[later[0]].text):
                pick = later[0]
            else:   # a word cut across columns (完 + 善) may resume past a heading; nothing else does
                pick = next((j for j in later if _crosses_word(b.text, todo[j].text)), None)
                if pick is None:   # a line cut at a page end runs on into the next; a short one stands alone
                    if later[0] != 0 or len(b.text) < SHORT:
                        break
                    pick = 0
            if pick > ahead and not _crosses_word(b.text, todo[pick].text):
                break
            b = _Block(b.text + todo.pop(pick).text, "body", b.level, b.gap, b.page)
        out.append(b)
    return out


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(text) if s.strip()]


def _split_long(text: str) -> list[str]:
    """Split a paragraph into pieces of at most MAX_CHARS at sentence (or clause) boundaries."""
    if len(text) <= MAX_CHARS:
        return [text]
    pieces, cur = [], ""
    units = []
    for s in _sentences(text):
        units.extend(re.findall(r"[^，,]*[，,]?", s) if len(s) > MAX_CHARS else [s])
    for u in (u for u in units if u):
        if cur and len(cur) + len(u) > MAX_CHARS:
            pieces.append(cur)
            cur = ""
        cur += u
    if cur:
        if pieces and len(cur) < MIN_CHARS:
            pieces[-1] += cur
        else:
            pieces.append(cur)
    return pieces


def parse(text: str, doc_id: str) -> tuple[str, list[Chunk]]:
    """Clean one document's text and return (title found in it, chunks)."""
    title, blocks = _classify(_blocks(text))
    blocks = _join_broken(blocks)
    paras: list[tuple[int, str, str, int]] = []   # (paragraph number, heading path, text, page)
    path: list[str] = []
    last_was_heading = False
    for b in blocks:
        if b.kind == "heading":
            if b.level == 2:
                path = path[:1] + [b.text]
            elif last_was_heading and not _LEVEL1.match(b.text):
                path = path + [b.text]
            else:
                path = [b.text]
            last_was_heading = True
            continue
        if b.level == 2:   # "（一）经济发展稳中提质。实现…": the first sentence names the section
            head = _sentences(b.text)[0] if _sentences(b.text) else b.text
            path = path[:1] + [head.rstrip("。") if len(head) <= 30 else b.text[:20]]
        last_was_heading = False
        heading = " › ".join(path)
        if b.kind == "bullet" and paras and paras[-1][1] == heading and paras[-1][2].startswith("- "):
            paras[-1] = (paras[-1][0], heading, paras[-1][2] + "\n" + b.text, paras[-1][3])
            continue
        paras.append((len(paras) + 1, heading, b.text, b.page))
    merged: list[tuple[int, str, str, int]] = []
    for num, heading, body, page in paras:
        prev = merged[-1] if merged else None
        if prev and prev[1] == heading and (len(prev[2]) < MIN_CHARS or len(body) < MIN_CHARS) \
                and len(prev[2]) + len(body) <= MAX_CHARS:
            merged[-1] = (prev[0], heading, prev[2] + "\n" + body, prev[3])
        else:
            merged.append((num, heading, body, page))
    for i in range(len(merged) - 1, 0, -1):   # fragments below the floor join the passage before them
        if len(merged[i][2]) < MIN_PASSAGE:
            prev = merged[i - 1]
            merged[i - 1] = (prev[0], prev[1], prev[2] + "\n" + merged[i][2], prev[3])
            del merged[i]
    chunks = [Chunk(content_hash(doc_id, heading, piece), doc_id, piece, num, heading, page)
              for num, heading, body, page in merged for piece in _split_long(body)]
    return title, chunks
