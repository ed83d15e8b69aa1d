"""The chat page beside the conversation (test_journey walks the rest): the conversation survives a
reload and downloads as Markdown and Word with its citations."""
import os

from conftest import ARTIFACTS
from qa.serve.labels import word

PLACEHOLDER = word("placeholder")


def test_the_conversation_survives_a_reload_and_downloads_with_its_citations(browser_page):
    import docx
    page = browser_page(900)
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill("2019年镇海GDP是多少？")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('#chat .reply-top').length === 1", timeout=60_000)
    page.wait_for_timeout(1500)                                       # the browser stores the conversation
    page.reload()
    page.wait_for_function("document.querySelectorAll('#chat .reply-top').length === 1", timeout=30_000)
    assert "1021.6" in page.inner_text("#chat")                       # still there after the reload
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill("那江北呢？")                                            # and a follow-up still leans on it
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('#chat .reply-top').length > 1", timeout=60_000)
    assert "结合上文检索" in page.inner_text("#chat")
    page.wait_for_timeout(1500)
    with page.expect_download() as got:
        page.locator("#export-md").click()
    md = open(got.value.path(), encoding="utf-8").read()
    assert "## 1. 2019年镇海GDP是多少？" in md and "## 2. 那江北呢？" in md and "1021.6亿元" in md
    assert "《政府工作报告（2020年，宁波市镇海区）》" in md and "http://127.0.0.1:" in md and "<" not in md
    with page.expect_download() as got:
        page.locator("#export-docx").click()
    text = "\n".join(p.text for p in docx.Document(got.value.path()).paragraphs)
    assert "2019年镇海GDP是多少？" in text and "《政府工作报告（2020年，宁波市镇海区）》" in text
    page.screenshot(path=os.path.join(ARTIFACTS, "conversation-restored.png"))
