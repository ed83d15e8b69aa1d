"""Turn: one turn of the conversation — the earlier questions read from the chat as Gradio hands it back,
the scope the reply is searched in, and the answer appended as a reply that never raises."""
from __future__ import annotations

import html

from ..engine import Engine
from ..feedback import Feedback
from ..ranking.answer import Answer
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


def scope_notices(district: str | None, year: str | None, titles: list[str], embedding: dict) -> tuple[str, ...]:
    """What a reply was searched in, said above it: the filters in force, and an upload still embedding
    (its passages not searchable yet)."""
    filters = [f"区 {district}" if district else "", f"年份 {year}" if year else "",
               f"文件 {'、'.join(titles)}" if titles else ""]
    said = (f"筛选条件：{'；'.join(f for f in filters if f)}（只在符合条件的文件中检索）",) if any(filters) else ()
    done, total = embedding.get("done", 0), embedding.get("total", 0)
    if total and done < total:
        said += (f"有文件正在向量化（{done}/{total} 个段落）：它们完成前还不能检索，这次的回答只来自已有的文件。",)
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
        reply = failure("检索这个问题", e)
    return "", chat + [{"role": "user", "content": esc(message)}, {"role": "assistant", "content": reply}], answer
