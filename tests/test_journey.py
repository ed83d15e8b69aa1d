"""A person's session in a real browser, one page from start to end: each step's reply appears with its
top in view, no error element anywhere, and a screenshot per step under artifacts/ to look at."""
import os

from conftest import ARTIFACTS
from qa.serve.chat import PLACEHOLDER

ERRORS = "[data-testid='toast-body'], .toast-body, .error, [class*='error']"


def replies(page) -> int:
    return page.locator("#chat .reply-top").count()


def last_reply(page) -> str:
    """Text of the newest reply (from its top marker to the end of the chat)."""
    return page.evaluate("""() => { const tops = document.querySelectorAll('#chat .reply-top');
        const bubble = tops[tops.length - 1].closest('.message, [data-testid="bot"]') || tops[tops.length - 1].parentElement;
        return bubble.innerText; }""")


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
    assert page.locator(ERRORS).filter(visible=True).count() == 0, f"{name}: an error element is on the page"
    assert "Error" not in page.inner_text("body"), f"{name}: 'Error' on the page"
    return text


def ask(page, question: str) -> None:
    """Type a question and press Enter; wait until its reply has arrived."""
    before = replies(page)
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .reply-top').length > {before}", timeout=60_000)


def test_a_conversation_in_the_browser(browser_page):
    page = browser_page(900)

    ask(page, "镇海城乡居民收入倍差是多少？")
    check_step(page, "1-question", ["1.684", "最佳句子", "复制引用"])

    ask(page, "那江北呢？")                                          # only makes sense after the first
    text = check_step(page, "2-follow-up", ["结合上文检索：江北城乡居民收入倍差是多少？", "1.62", "张国锋"])
    assert text.index("1.62") < text.index("[2]"), "the Jiangbei figure is not in the first passage"

    ask(page, "三官堂大桥什么时候通车？")                             # unrelated: searched on its own
    text = check_step(page, "3-unrelated", ["9月27日"])
    assert "结合上文检索" not in text

    before = replies(page)
    page.get_by_text("一号改革工程是什么？", exact=True).click()        # an example asks at once
    page.wait_for_function(f"document.querySelectorAll('#chat .reply-top').length > {before}", timeout=60_000)
    check_step(page, "4-example", ["一号改革工程"])

    page.get_by_text("筛选与设置").click()
    page.get_by_role("combobox", name="区", exact=True).click()
    page.get_by_role("option", name="江北").click()
    ask(page, "营商环境改革怎么做的？")
    text = check_step(page, "5-district-filter", ["营商环境"])
    citations = [line for line in text.splitlines() if line.startswith("[")]
    assert citations and all("张国锋" in line for line in citations), citations

    context = page.locator("#chat details.hit[open] details.context").last   # passage 1 of the newest reply
    context.locator("summary").click()
    assert context.get_attribute("open") is not None and len(context.inner_text()) > 40
    page.screenshot(path=os.path.join(ARTIFACTS, "journey-6-context.png"))

    page.locator("#chat details.hit[open] .copy-cite").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    quoted, cited = copied[1:].split("”（", 1)                         # “passage”（《title》，date，第N段）
    assert copied.startswith("“") and cited.startswith("《张国锋") and "段）" in cited
    assert quoted in page.inner_text("#chat")

    page.get_by_role("button", name="清空对话").click()
    page.wait_for_function("document.querySelectorAll('#chat .reply-top').length === 0", timeout=10_000)
    page.get_by_role("combobox", name="区", exact=True).click()
    page.get_by_role("option", name="", exact=True).click()
    ask(page, "增长了多少？")                                          # no history left to lean on
    text = check_step(page, "7-after-clear", [])
    assert "结合上文检索" not in text and replies(page) == 1
