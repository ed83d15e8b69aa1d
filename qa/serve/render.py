"""Render: a reply as the chat shows it (HTML, escaped so document text runs nothing): notices, the best
sentence with its citation or the abstention line, then each passage with its citation and context."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable

from ..ranking.answer import Answer, Hit
from ..ranking.rerank import is_target
from ..wording import Language
from .labels import word

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


def quote_line(hit: Hit, language: Language = "zh") -> str:
    """The passage and its citation in one line, ready to paste into a report: “……”（《标题》，日期，第N段）,
    or in English “……” (《title》, date, paragraph N)."""
    where = word("page", language, n=hit.page) if hit.page else \
        word("paragraph", language, n=hit.paragraph) if hit.paragraph else word("header", language)
    parts = [x for x in (f"《{hit.title}》", hit.date, where) if x]
    return f"“{hit.text}”（{'，'.join(parts)}）" if language == "zh" else f"“{hit.text}” ({', '.join(parts)})"


def cited(hit: Hit) -> str:
    """A hit's citation as a link that opens its document at the passage (in a new tab)."""
    return f"<a class='cite' href='{esc(hit.url)}' target='_blank' rel='noopener'>{esc(hit.citation)}</a>"


def render(answer: Answer, neighbours: Callable[[Hit], tuple[str, str]], scope: tuple[str, ...] = ()) -> str:
    """The chat reply in the answer's language, top first: notices and the scope it was searched in
    (filters, an upload still embedding), the best sentence with its citation — labelled when it is a
    target — or the abstention line, then each passage as an expandable block (the first open) with a
    copyable citation, its context and, folded away, why it was ranked there."""
    lang = answer.language
    parts = ["<div class='reply-top'></div>"] + [f"<p><i>{esc(n)}</i></p>" for n in (*scope, *answer.notices)]
    if not answer.hits:
        return "".join(parts) + ("" if answer.notices else word("type_question", lang))
    if answer.abstained:
        parts.append(f"<p>{word('abstained', lang)}</p>")
    else:
        label = word("best_target" if is_target(answer.best_sentence, answer.hits[0].heading) else "best", lang)
        parts.append(f"<p class='best'><b>{label}</b>{esc(answer.best_sentence)}"
                     f"<br><small>—— [1] {cited(answer.hits[0])}</small></p>")
    terms = list(answer.terms)
    for i, h in enumerate(answer.hits, 1):
        before, after = neighbours(h)
        weak = word("weak", lang) if answer.abstained else ""
        where = f" · {esc(h.heading)}" if h.heading else ""
        parts.append(
            f"<details class='hit'{' open' if i == 1 else ''}><summary><b>[{i}] {cited(h)}</b>{where}{weak}"
            f"<button class='copy-cite' data-quote='{esc(quote_line(h, lang))}'>{word('copy', lang)}</button></summary>"
            f"<p>{highlight(h.text, terms, answer.best_sentence if i == 1 else '')}</p>"
            f"<details class='why'><summary>{word('why', lang)}</summary><p><small>"
            f"{word('scores', lang, bm25=h.bm25, dense=h.dense, score=h.score)}</small></p></details>"
            f"<details class='context'><summary>{word('context', lang)}</summary><p>{esc(before) or word('none', lang)}"
            f"</p><hr><p>{esc(after) or word('none', lang)}</p></details></details>")
    return "".join(parts)


def failure(what: str, error: Exception, language: Language = "zh") -> str:
    """A readable reply for a failure (logged with its traceback on the server); the chat goes on."""
    log.error("%s failed", what, exc_info=error)
    said = str(error)[:200]   # the message, not the exception's class name
    brackets = ("（", "）", "。") if language == "zh" else (" (", ")", ".")
    return (f"<div class='reply-top'></div><p><b>{word('sorry', language, what=esc(what))}</b>"
            + (f"{brackets[0]}{esc(said)}{brackets[1]}" if said else "") + f"{brackets[2]}</p>"
            f"<p>{word('goes_on', language)}</p>")
