"""Every citation opens its document at the passage it quotes: a hit's url is a page of the server with
the passage highlighted and scrolled into view, between its neighbours; the original file downloads."""
import os
from urllib.parse import urlsplit

from conftest import ADMIN, ARTIFACTS


def test_a_hit_url_is_the_document_page_with_that_passage(http):
    hit = http.post("api/search", json={"question": "2019年镇海区地区生产总值是多少", "k": 3}).json()["hits"][0]
    path, fragment = urlsplit(hit["url"]).path, urlsplit(hit["url"]).fragment
    assert path == f"/documents/{hit['doc_id']}" and fragment == f"c-{hit['chunk_id']}"
    page = http.get(path.lstrip("/"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    element = page.text.split(f"id='{fragment}'>", 1)[1].split("</div>", 1)[0]
    assert hit["text"].replace("&", "&amp;")[:30] in element and hit["title"] in page.text


def test_an_unknown_document_is_a_404_page_and_no_path_escapes_the_corpus(http):
    assert http.get("documents/no-such-document").status_code == 404
    for bad in ("documents/..%2Fcatalog", "documents/%2Fetc%2Fpasswd", "documents/.lock/original"):
        assert http.get(bad).status_code == 404, bad


def test_an_uploaded_file_is_downloadable_as_it_was(http, tmp_path):
    text = "象山简讯\n\n象山县2024年远洋渔业产量达到48万吨，同比增长5%。\n".encode("gbk")
    up = http.post("api/documents", headers=ADMIN, files={"files": ("象山简讯.txt", text, "text/plain")})
    doc_id = up.json()["files"][0]["id"]
    try:
        original = http.get(f"documents/{doc_id}/original")
        assert original.status_code == 200 and original.content == text
        assert "48万吨" in http.get(f"documents/{doc_id}").text
    finally:
        http.delete(f"api/documents/{doc_id}", headers=ADMIN)
    assert http.get(f"documents/{doc_id}/original").status_code == 404


def test_the_cited_passage_is_highlighted_and_in_view_in_chromium(browser_page, http, server):
    hit = http.post("api/search", json={"question": "营商环境一号改革工程", "k": 3}).json()["hits"][-1]
    page = browser_page(700)
    page.goto(server.rstrip("/") + hit["url"])
    target = page.locator(f"#c-{hit['chunk_id']}")
    box, height = target.bounding_box(), page.viewport_size["height"]
    assert box and 0 <= box["y"] < height and box["y"] + min(box["height"], 100) <= height   # scrolled into view
    colour = target.evaluate("e => getComputedStyle(e).backgroundColor")
    other = page.locator(f".passage:not(#c-{hit['chunk_id']})").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(255, 248, 197)" and other == "rgba(0, 0, 0, 0)"       # the cited one, and only it
    page.screenshot(path=os.path.join(ARTIFACTS, "document-view.png"))
