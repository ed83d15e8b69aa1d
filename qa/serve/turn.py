"""Turn: one turn of the conversation — the earlier questions read from the chat as Gradio hands it back,
the scope the reply is searched in, and the answer appended as a reply that never raises."""
from __future__ import annotations

import html

from ..engine import Engine
from ..feedback import Feedback
from ..ranking.answer import Answer
from ..wording import Language, joined, reply_language
from .labels import word
from .render import esc, failure, render


def message_text(content) -> str:
    """Plain text of a Chatbot message's content: a string, one part or a list of parts (files skipped)."""
    if isinstance(content, str):
        return html.unescape(content)
    if isinstance(content, dict):
        return html.unescape(str(content.get("text", ""))) if content.get("type", "text") == "text" else ""
    if isinstance(content, (list, tuple)):
        return " ".join(t for t in map(message_text, content) if t)
    return ""


def earlier_questions(chat) -> list[str]:
    """The user's earlier questions from the Chatbot's value, whatever shape Gradio hands back."""
    questions = []
    for message in chat or []:
        get = message.get if isinstance(message, dict) else lambda key: getattr(message, key, None)
        if get("role") == "user" and (text := message_text(get("content")).strip()):
            questions.append(text)
    return questions


def scope_notices(district: str | None, year: str | None, titles: list[str], embedding: dict,
                  lang: Language = "zh") -> tuple[str, ...]:
    """What a reply was searched in, said above it: the filters in force, and an upload still embedding
    (its passages not searchable yet)."""
    filters = [word("district_is", lang, x=district) if district else "", word("year_is", lang, x=year) if year else "",
               word("documents_are", lang, x=joined(titles, lang)) if titles else ""]
    said = (word("filters", lang, filters=("；" if lang == "zh" else "; ").join(f for f in filters if f)),) \
        if any(filters) else ()
    done, total = embedding.get("done", 0), embedding.get("total", 0)
    if total and done < total:
        said += (word("embedding_now", lang, done=done, total=total),)
    return said


def chat_turn(engine: Engine, message: str, chat: list, k=None, district=None, year=None, docs=None,
              feedback: Feedback | None = None, scope: tuple[str, ...] = ()) -> tuple[str, list, Answer | None]:
    """One turn: the answer to `message` in the context of the earlier questions, appended to the chat
    (empty box, new chat, the answer to judge). Any failure becomes a readable reply; it never raises."""
    chat = list(chat or [])
    answer = None
    try:
        history = earlier_questions(chat)
        answer = engine.ask(message, k=int(k) if k else None, history=history, doc_ids=docs or None,
                            district=district or None, year=year or None)
        if feedback is not None:
            feedback.remember(answer, history, engine.listing().fingerprint)
        reply = render(answer, engine.neighbours, scope)
    except Exception as e:   # the edge of the app: whatever broke, the person gets a reply, not "Error"
        lang = reply_language(str(message or ""), engine.settings.language)
        reply = failure(word("searching", lang), e, lang)
    return "", chat + [{"role": "user", "content": esc(message)}, {"role": "assistant", "content": reply}], answer
