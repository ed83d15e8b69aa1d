"""Render: a reply as the chat shows it (HTML, escaped so document text runs nothing): notices, the best
sentence with its citation or the abstention line, then each passage with its citation and context."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable

from ..ranking.answer import Answer, Hit

log = logging.getLogger("reform-qa")
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "*_`#[]()!|~\\$<>&\"'"})


def esc(text: str) -> str:
    """Escape document or user text so that HTML and Markdown in it show as text and run nothing."""
    return str(text).translate(_MARKDOWN)


def highlight(text: str, terms: list[str], best: str) -> str:
    """Escaped passage with the query terms marked and the best sentence in bold."""
    out = esc(text)
    if best and best in text:
        out = out.replace(esc(best), f"<b>{esc(best)}</b>", 1)
    for term in sorted({t for t in terms if len(t) > 1 and not t.startswith("#")}, key=len, reverse=True):
        out = re.sub(f"(?<![&#\\d])({re.escape(esc(term))})", r"<mark>\1</mark>", out)
    return out


def quote_line(hit: Hit) -> str:
    """The passage and its citation in one line, ready to paste into a report: “……”（《标题》，日期，第N段）."""
    where = f"第{hit.page}页" if hit.page else f"第{hit.paragraph}段" if hit.paragraph else "文首署名"
    return f"“{hit.text}”（{'，'.join(x for x in (f'《{hit.title}》', hit.date, where) if x)}）"


def cited(hit: Hit) -> str:
    """A hit's citation as a link that opens its document at the passage (in a new tab)."""
    return f"<a class='cite' href='{esc(hit.url)}' target='_blank' rel='noopener'>{esc(hit.citation)}</a>"


# A sentence or section that states a plan or target (“增长6%左右”, “二、2020年目标”), not what happened.
_TARGET = re.compile(r"目标|预期|力争|左右|计划(?!生育|单列)|争取")


def is_target(sentence: str, heading: str = "") -> bool:
    """Whether a sentence (under its heading) states a plan or a target rather than a result."""
    return bool(_TARGET.search(sentence) or _TARGET.search(heading))


def render(answer: Answer, neighbours: Callable[[Hit], tuple[str, str]], scope: tuple[str, ...] = ()) -> str:
    """The chat reply, top first: notices and the scope it was searched in (filters, an upload still
    embedding), the best sentence with its citation — labelled when it is a target — or the abstention
    line, then each passage as an expandable block (the first open) with a copyable citation, its context
    and, folded away, why it was ranked there."""
    parts = ["<div class='reply-top'></div>"] + [f"<p><i>{esc(n)}</i></p>" for n in (*scope, *answer.notices)]
    if not answer.hits:
        return "".join(parts) + ("" if answer.notices else "请输入问题。")
    if answer.abstained:
        parts.append("<p><b>未找到可靠的相关段落。</b>以下是最接近的候选，相关性弱，仅供参考：</p>")
    else:
        target = is_target(answer.best_sentence, answer.hits[0].heading)
        label = "最佳句子（预期目标，不是实际完成数）：" if target else "最佳句子："
        parts.append(f"<p class='best'><b>{label}</b>{esc(answer.best_sentence)}"
                     f"<br><small>—— [1] {cited(answer.hits[0])}</small></p>")
    terms = list(answer.terms)
    for i, h in enumerate(answer.hits, 1):
        before, after = neighbours(h)
        weak = "（弱相关）" if answer.abstained else ""
        where = f" · {esc(h.heading)}" if h.heading else ""
        parts.append(
            f"<details class='hit'{' open' if i == 1 else ''}><summary><b>[{i}] {cited(h)}</b>{where}{weak}"
            f"<button class='copy-cite' data-quote='{esc(quote_line(h))}'>复制引用</button></summary>"
            f"<p>{highlight(h.text, terms, answer.best_sentence if i == 1 else '')}</p>"
            f"<details class='why'><summary>为什么是这段</summary><p><small>关键词得分 {h.bm25:.2f} · "
            f"语义相似度 {h.dense:.2f} · 综合 {h.score:.2f}</small></p></details>"
            f"<details class='context'><summary>上下文（前后段落）</summary><p>{esc(before) or '（无）'}</p><hr>"
            f"<p>{esc(after) or '（无）'}</p></details></details>")
    return "".join(parts)


def failure(what: str, error: Exception) -> str:
    """A readable reply for a failure (logged with its traceback on the server); the chat goes on."""
    log.error("%s failed", what, exc_info=error)
    said = str(error)[:200]   # the message, not the exception's class name
    return (f"<div class='reply-top'></div><p><b>抱歉，{esc(what)}时出错了</b>"
            + (f"（{esc(said)}）" if said else "") + "。</p>"
            "<p>对话没有中断：请重试，或换个问法、去掉筛选条件再问。如果一直出错，请联系管理员（服务器日志里有详细记录）。</p>")
