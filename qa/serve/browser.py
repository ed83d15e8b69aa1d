"""Browser: what the chat page runs and looks like in the browser — its scripts (scroll to a new reply,
copy a quote with its citation, confirm a delete) and its styles, for light and dark schemes alike."""
from __future__ import annotations

import json

from ..wording import Language
from .labels import word

# A new reply is scrolled so that its top (best sentence, passage 1 and its citation) is in view, not
# the end of the last passage; a click on “复制引用” copies that passage's citation (read from the
# passage's heading: the chat's HTML sanitiser drops data- attributes).
SCROLL_TO_REPLY = """() => { setTimeout(() => {
  const tops = document.querySelectorAll('#chat .reply-top');
  if (tops.length) tops[tops.length - 1].scrollIntoView({block: 'start'});
}, 100); }"""
def head(language: Language = "zh") -> str:
    """The page's head as Gradio adds it: the copy button's script, its "copied" in the page's language."""
    return COPY.replace("COPIED", word("copied", language))


COPY = r"""<script>
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('.copy-cite');
  if (!button) return;
  event.preventDefault(); event.stopPropagation();
  const hit = button.closest('details.hit');      // the passage with its citation, ready to paste:
  const passage = hit ? hit.querySelector(':scope > p') : null;   // “……”（《标题》，日期，第N段）
  const cite = hit ? hit.querySelector('summary b').innerText.replace(/^\[\d+\]\s*/, '') : '';
  const m = cite.match(/^《(.+?)》(?:（(.+?)）)?(.*)$/);
  const where = m ? ['《' + m[1] + '》', m[2], m[3]].filter(Boolean).join('，') : cite;
  const text = button.dataset.quote || (passage ? '“' + passage.innerText.trim() + '”（' + where + '）' : cite);
  const label = button.dataset.label || (button.dataset.label = button.textContent);
  const done = () => { button.textContent = 'COPIED'; setTimeout(() => { button.textContent = label; }, 1500); };
  const fallback = () => { const area = document.createElement('textarea'); area.value = text;
    document.body.appendChild(area); area.select(); document.execCommand('copy'); area.remove(); done(); };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}, true);
</script>"""
CSS = """#chat .best {background: #fff7d6; padding: 6px 10px; border-radius: 6px}
#chat details.hit {border-top: 1px solid #ddd; padding-top: 4px} #chat details.hit > summary {cursor: pointer}
#chat .copy-cite {font-size: 12px; margin-left: 8px; padding: 0 6px; border: 1px solid #bbb; border-radius: 4px;
  cursor: pointer; background: #f5f5f5}"""
# The colours of the best sentence and the copy button in the dark scheme (Gradio marks it with .dark):
# light text on a dark amber box, 11.4:1 (WCAG AA asks 4.5:1), the marked terms 7.4:1, where the light
# scheme's pale yellow box showed white text.
CSS += """
.dark #chat .best {background: #3d3206; color: #fdf3c8}
.dark #chat .copy-cite {background: #2b2b2b; color: #e8e8e8; border-color: #666}
.dark #chat mark {background: #6b5200; color: #ffffff}"""
# At any width (a phone's 390 px too): a new reply is scrolled to just below the chat's label and its
# buttons (they float over the messages), and the scroll-down button sits in the corner beside the bubbles,
# not over the middle of the text.
CSS += """
#chat .reply-top {scroll-margin-top: 40px}
#chat .scroll-down-button-container {left: auto !important; right: 2px !important; transform: none !important;
  bottom: 2px !important}"""


def confirm_delete(language: Language = "zh") -> str:
    """A delete asks first, naming the document; the answer goes to the server as a third input (yes/no)."""
    ask = json.dumps(word("confirm_delete", language, name="NAME"), ensure_ascii=False)
    return """(doc, given, _) => {
  if (!doc) return [doc, given, 'no'];
  const shown = document.querySelector('#delete-doc input');
  const name = shown && shown.value ? shown.value : doc;
  const sure = window.confirm(ASK.split('NAME').join(name));   // a title's $& stays as written
  return [doc, given, sure ? 'yes' : 'no'];
}""".replace("ASK", ask)
