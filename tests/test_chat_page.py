"""The chat page as people use it beside the conversation: a delete that asks first, the dark scheme,
and the API docs on a machine without internet."""
import os
import time

import httpx

from conftest import ADMIN, ADMIN_TOKEN, ARTIFACTS
from qa.serve.chat import PLACEHOLDER

CONTRAST = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def documents(server):
    return {d["id"] for d in httpx.get(server + "api/documents").json()["documents"]}


def test_a_delete_asks_first_and_a_cancel_deletes_nothing(browser_page, server):
    files = {"files": ("象山渔业.txt", "象山渔业\n\n象山县远洋渔业捕捞量达到42万吨。".encode("utf-8"))}
    upload = httpx.post(server + "api/documents", files=files, headers=ADMIN).json()
    doc_id = upload["files"][0]["id"]
    for _ in range(120):
        if httpx.get(server + f"api/uploads/{upload['id']}").json()["state"] == "done":
            break
        time.sleep(0.5)
    page = browser_page(1400)
    page.get_by_text("文档管理：上传或删除文件").click()
    page.locator("#admin-token input").fill(ADMIN_TOKEN)
    page.locator("#delete-doc input").click()
    page.get_by_role("option", name="象山渔业").click()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="删除", exact=True).click()
    page.get_by_text("已取消：没有删除任何文件。").wait_for(timeout=30_000)
    assert asked and "象山渔业" in asked[0] and "无法撤销" in asked[0]
    assert doc_id in documents(server)                               # cancelled: still there
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="删除", exact=True).click()
    page.get_by_text("[已删除]").wait_for(timeout=30_000)
    page.screenshot(path=os.path.join(ARTIFACTS, "delete-confirmed.png"), full_page=True)
    assert doc_id not in documents(server)


def test_the_best_sentence_is_readable_in_the_dark_scheme(browser_page):
    page = browser_page(900, "?__theme=dark", scheme="dark")
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill("2019年镇海GDP是多少？")
    box.press("Enter")
    page.locator("#chat .best").first.wait_for(timeout=60_000)
    page.screenshot(path=os.path.join(ARTIFACTS, "dark-reply.png"))
    assert page.evaluate("document.body.classList.contains('dark')")
    assert page.evaluate(CONTRAST, "#chat .best") >= 4.5               # WCAG AA for body text
    assert page.evaluate(CONTRAST, "#chat .copy-cite") >= 4.5 and page.evaluate(CONTRAST, "#chat mark") >= 4.5


def test_the_api_docs_render_without_internet(browser_page):
    page = browser_page(900, "docs", offline=True)
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "reform-qa" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".swagger-ui .opblock").count() >= 5           # the endpoints, drawn from /openapi.json
    page.screenshot(path=os.path.join(ARTIFACTS, "api-docs-offline.png"))
    assert not [u for u in page.refused if "swagger" in u or "cdn" in u], page.refused


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
