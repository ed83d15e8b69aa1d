"""A person's session in a real browser, one page from start to end (issue #28's journey): ask, open the
cited paragraph in its document, copy the quote with its citation, follow up, ask in English, reload in
the dark scheme, narrow the window to a phone's, start anew, delete a document (asked first) and read the
API docs with the network blocked. Each step: its reply's top in view, no error element, a screenshot
under artifacts/ to look at."""
import os
import time

import httpx

from conftest import ADMIN, ADMIN_TOKEN, ARTIFACTS
from qa.serve.labels import word

PLACEHOLDER = word("placeholder")
ERRORS = "[data-testid='toast-body'], .toast-body, .error, [class*='error']"
CONTRAST = """(selector) => {
  const all = document.querySelectorAll(selector), el = all[all.length - 1];
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
# Where the newest reply's first line sits against the chat's label and its buttons (they float over the
# messages), and how many lines of text the scroll-down button covers.
LAYOUT = """() => {
  const chat = document.querySelector('#chat');
  const over = [...chat.querySelectorAll('label.float, .icon-button-wrapper.top-panel')].map(e => e.getBoundingClientRect().bottom);
  const tops = chat.querySelectorAll('.reply-top'), first = tops[tops.length - 1].nextElementSibling;
  const button = chat.querySelector('.scroll-down-button-container');
  const b = button ? button.getBoundingClientRect() : null;
  const lines = [...chat.querySelectorAll('.message p, .message summary, .message small')]
    .map(e => e.getBoundingClientRect()).filter(r => r.width && r.height);
  const meets = (r) => b && b.width && r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom;
  return {floating: Math.max(...over), first: first.getBoundingClientRect().top, covered: lines.filter(meets).length};
}"""


def replies(page) -> int:
    return page.locator("#chat .reply-top").count()


def last_reply(page) -> str:
    """Text of the newest reply (from its top marker to the end of the chat)."""
    return page.evaluate("""() => { const tops = document.querySelectorAll('#chat .reply-top');
        const bubble = tops[tops.length - 1].closest('.message, [data-testid="bot"]') || tops[tops.length - 1].parentElement;
        return bubble.innerText; }""")


def no_error(page, name: str) -> None:
    assert page.locator(ERRORS).filter(visible=True).count() == 0, f"{name}: an error element is on the page"
    assert "Error" not in page.inner_text("body"), f"{name}: 'Error' on the page"


def check_step(page, name: str, expected: list[str]) -> str:
    """After a step: the expected texts are in the newest reply, its top is in view, no error shows."""
    page.wait_for_timeout(400)   # the scroll runs just after the reply renders
    text = last_reply(page)
    page.screenshot(path=os.path.join(ARTIFACTS, f"journey-{name}.png"))
    for want in expected:
        assert want in text, f"{name}: {want!r} not in the reply:\n{text[:800]}"
    top = page.evaluate("""() => { const tops = document.querySelectorAll('#chat .reply-top');
        const r = tops[tops.length - 1].getBoundingClientRect(), c = document.querySelector('#chat').getBoundingClientRect();
        return {top: r.top, chatTop: c.top, chatBottom: c.bottom, height: window.innerHeight}; }""")
    assert max(top["chatTop"], 0) - 2 <= top["top"] <= min(top["chatBottom"], top["height"]) - 120, \
        f"{name}: the top of the reply is not in view {top}"
    no_error(page, name)
    return text


def ask(page, question: str) -> None:
    """Type a question and press Enter; wait until its reply has arrived."""
    before = replies(page)
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .reply-top').length > {before}", timeout=60_000)


def uploaded(server: str, name: str, text: str) -> str:
    """A document added through the API, once it is searchable; its id."""
    upload = httpx.post(server + "api/documents", files={"files": (name, text.encode("utf-8"))}, headers=ADMIN).json()
    for _ in range(240):
        if httpx.get(server + f"api/uploads/{upload['id']}").json()["state"] == "done":
            return upload["files"][0]["id"]
        time.sleep(0.5)
    raise AssertionError(f"{name} was not indexed in 2 minutes")


def documents(server: str) -> set[str]:
    return {d["id"] for d in httpx.get(server + "api/documents").json()["documents"]}


def open_the_cited_paragraph(page) -> None:
    """The best sentence's citation opens the document in a new tab, that paragraph highlighted and in view."""
    link = page.locator("#chat .best a.cite").last
    fragment = link.get_attribute("href").split("#", 1)[1]
    with page.context.expect_page() as opened:
        link.click()
    view = opened.value
    view.wait_for_load_state()
    target = view.locator(f"[id='{fragment}']")
    box, height = target.bounding_box(), view.viewport_size["height"]
    assert box and 0 <= box["y"] < height, f"the cited paragraph is not in view: {box}"
    assert target.evaluate("e => e.matches(':target') && getComputedStyle(e).backgroundColor") == "rgb(255, 248, 197)"
    view.screenshot(path=os.path.join(ARTIFACTS, "journey-2-document-view.png"))
    no_error(view, "document view")
    view.close()


def copy_the_quote(page) -> str:
    """“复制引用” puts the passage with its citation on the clipboard, ready for a report."""
    page.locator("#chat details.hit[open] .copy-cite").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    quoted, cited = copied[1:].split("”（", 1)                         # “passage”（《title》，date，第N段）
    assert copied.startswith("“") and cited.startswith("《") and cited.endswith("段）"), copied
    assert quoted in page.inner_text("#chat")
    return cited


def delete_with_confirmation(page, server: str, doc_id: str, title: str) -> None:
    """A delete asks first, naming the document: cancelled, nothing goes; confirmed, it is gone."""
    page.get_by_text(word("library")).click()
    page.locator("#admin-token input").fill(ADMIN_TOKEN)
    page.locator("#delete-doc input").click()
    page.get_by_role("option", name=title).click()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name=word("delete"), exact=True).click()
    page.get_by_text(word("delete_cancelled")).wait_for(timeout=30_000)
    assert asked and title in asked[0] and "无法撤销" in asked[0] and doc_id in documents(server)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=word("delete"), exact=True).click()
    page.get_by_text("[已删除]").wait_for(timeout=30_000)
    page.screenshot(path=os.path.join(ARTIFACTS, "journey-10-deleted.png"), full_page=True)
    assert doc_id not in documents(server) and "removed" not in page.inner_text("#library-log")


def read_the_docs_offline(page, server: str) -> None:
    """/docs renders with every request to anywhere but the server refused, as without internet."""
    refused = []

    def only_local(route):
        if route.request.url.startswith(server):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()
    page.context.route("**/*", only_local)
    page.goto(server + "docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "reform-qa" in page.inner_text(".swagger-ui .info .title") and page.locator(".swagger-ui .opblock").count() >= 5
    page.screenshot(path=os.path.join(ARTIFACTS, "journey-11-api-docs-offline.png"))
    assert not [u for u in refused if "swagger" in u or "cdn" in u], refused


def test_a_conversation_in_the_browser(browser_page, server):
    doc_id = uploaded(server, "象山渔业.txt", "象山渔业\n\n象山县远洋渔业捕捞量达到42万吨。")
    page = browser_page(900)
    footer = page.inner_text("footer")
    assert "Gradio" in footer and "Built with" not in footer          # Gradio's own labels in Chinese too

    ask(page, "镇海城乡居民收入倍差是多少？")
    check_step(page, "1-question", ["1.684", "最佳句子", "复制引用"])
    open_the_cited_paragraph(page)
    assert copy_the_quote(page)

    ask(page, "那江北呢？")                                          # only makes sense after the first
    text = check_step(page, "3-follow-up", ["结合上文检索：江北城乡居民收入倍差是多少？", "1.62", "张国锋"])
    assert text.index("1.62") < text.index("[2]"), "the Jiangbei figure is not in the first passage"

    ask(page, "三官堂大桥什么时候通车？")                             # unrelated: searched on its own
    assert "结合上文检索" not in check_step(page, "4-unrelated", ["9月27日"])

    before = replies(page)
    page.get_by_text("一号改革工程是什么？", exact=True).click()        # an example asks at once
    page.wait_for_function(f"document.querySelectorAll('#chat .reply-top').length > {before}", timeout=60_000)
    check_step(page, "5-example", ["一号改革工程"])

    page.get_by_text(word("settings")).click()
    page.get_by_role("combobox", name=word("district"), exact=True).click()
    page.get_by_role("option", name="江北").click()
    ask(page, "营商环境改革怎么做的？")
    text = check_step(page, "6-district-filter", ["筛选条件：区 江北", "营商环境"])
    citations = [line for line in text.splitlines() if line.startswith("[")]
    assert citations and all("张国锋" in line for line in citations), citations
    context = page.locator("#chat details.hit[open] details.context").last   # passage 1 of the newest reply
    context.locator("summary").click()
    assert context.get_attribute("open") is not None and len(context.inner_text()) > 40
    page.get_by_role("combobox", name=word("district"), exact=True).click()
    page.get_by_role("option", name=word("all"), exact=True).click()

    ask(page, "What did Lin Bin say about the Third Plenary Session?")   # an English question: English labels
    text = check_step(page, "7-english", ["Best sentence", "Copy quote", "Why this passage", "三中全会"])
    assert not any(label in text for label in ("最佳句子", "复制引用", "为什么是这段", "上下文", "同义扩展"))
    asked = replies(page)

    page.wait_for_timeout(1500)                                       # the browser stores the conversation
    page.emulate_media(color_scheme="dark")
    page.goto(server + "?__theme=dark")                               # a reload, in the dark scheme
    page.wait_for_function(f"document.querySelectorAll('#chat .reply-top').length === {asked}", timeout=30_000)
    check_step(page, "8-reloaded-dark", ["Best sentence"])               # back at the newest reply
    assert "1.684" in page.inner_text("#chat") and page.evaluate("document.body.classList.contains('dark')")
    for part in ("#chat .best", "#chat .copy-cite", "#chat mark"):  # WCAG AA for body text: 4.5:1
        assert page.evaluate(CONTRAST, part) >= 4.5, part

    page.set_viewport_size({"width": 390, "height": 844})             # a phone
    ask(page, "2019年镇海GDP是多少？")
    check_step(page, "9-phone", ["1021.6"])
    layout = page.evaluate(LAYOUT)
    assert 0 < layout["floating"] <= layout["first"] and layout["covered"] == 0, layout

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name=word("clear"), exact=True).click()
    page.wait_for_function("document.querySelectorAll('#chat .reply-top').length === 0", timeout=10_000)
    ask(page, "增长了多少？")                                          # no history left to lean on
    text = check_step(page, "9-new-conversation", [])
    assert "结合上文检索" not in text and replies(page) == 1

    delete_with_confirmation(page, server, doc_id, "象山渔业")
    read_the_docs_offline(page, server)
