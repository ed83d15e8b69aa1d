"""The JSON HTTP API on the app's server, driven with a plain HTTP client as a script would."""
import concurrent.futures
import time

import httpx
import pytest

from conftest import ADMIN


def test_search_returns_cited_passages_in_the_ask_json_shape(http):
    out = http.post("/api/search", json={"question": "2019年镇海GDP是多少？", "k": 2}).json()
    assert set(out) == {"answer_id", "question", "query", "abstained", "confidence", "best_sentence", "notices",
                        "language", "hits"}
    assert out["language"] == "zh"
    assert len(out["hits"]) == 2 and "1021.6亿元" in out["hits"][0]["text"]
    assert out["hits"][0]["citation"].startswith("《政府工作报告（2020年，宁波市镇海区）》（2020-05-09）第")


def test_a_follow_up_takes_the_earlier_questions_and_shows_the_rewritten_query(http):
    out = http.post("/api/search", json={"question": "那江北呢？", "history": ["镇海城乡居民收入倍差是多少？"]}).json()
    assert out["query"] == "江北城乡居民收入倍差是多少？" and "1.62" in out["hits"][0]["text"]


def test_filters_keep_to_the_district_and_documents_asked_for(http):
    docs = http.get("/api/documents").json()["documents"]
    jiangbei = [d["id"] for d in docs if d["district"] == "江北"]
    out = http.post("/api/search", json={"question": "营商环境", "k": 5, "district": "江北"}).json()
    assert out["hits"] and all(h["doc_id"] in jiangbei for h in out["hits"])
    out = http.post("/api/search", json={"question": "营商环境", "k": 5, "doc_ids": jiangbei}).json()
    assert all(h["doc_id"] in jiangbei for h in out["hits"])


def test_documents_and_health_describe_the_corpus(http):
    docs = http.get("/api/documents").json()["documents"]
    assert {"id", "title", "date", "district", "author", "passages"} <= set(docs[0]) and len(docs) >= 5
    health = http.get("/api/health").json()
    assert health["status"] == "ok" and health["model"] == "multilingual-e5-small"
    assert health["passages"] == sum(d["passages"] for d in docs) and health["index"]


@pytest.mark.parametrize("body, field, says", [
    ({"question": "  "}, "question", "is empty"),
    ({"k": 3}, "question", "is required"),
    ({"question": "x", "k": 0}, "k", "must be between 1 and 50 (got 0)"),
    ({"question": "x", "k": 99}, "k", "must be between 1 and 50 (got 99)"),
    ({"question": "x", "district": "上海"}, "district", "unknown district '上海': use one of"),
    ({"question": "x", "doc_ids": ["nope"]}, "doc_ids", "unknown document 'nope'"),
    ({"question": "x", "history": "镇海GDP"}, "history", "valid list"),
    ({"question": "x", "history": ["q"] * 21}, "history", "too many items (at most 20)"),
    ({"question": "x", "kk": 3}, "kk", "is not a field of this request"),
])
def test_bad_input_is_a_4xx_naming_the_field_and_the_fix(http, body, field, says):
    response = http.post("/api/search", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and says in response.json()["error"]


def test_a_body_that_is_not_json_or_too_large_is_refused_with_a_message(http):
    response = http.post("/api/search", content=b"question=x", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not valid JSON" in response.json()["error"]
    response = http.post("/api/search", json={"question": "x" * 70_000})
    assert response.status_code == 413 and "byte limit" in response.json()["error"]


def test_twenty_concurrent_clients_all_get_answers(server):
    questions = ["一号改革工程", "江北城镇化率", "“620”工程", "三官堂大桥什么时候通车"] * 5

    def ask(question):
        with httpx.Client(base_url=server, timeout=120) as client:
            return client.post("/api/search", json={"question": question, "k": 2})
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(ask, questions))
    assert [r.status_code for r in responses] == [200] * 20
    assert all(len(r.json()["hits"]) == 2 for r in responses)


def test_the_openapi_schema_and_docs_page_are_served(http):
    schema = http.get("/openapi.json").json()
    assert {"/api/search", "/api/documents", "/api/health"} <= set(schema["paths"])
    assert http.get("/docs").status_code == 200


def test_a_script_uploads_documents_follows_the_progress_and_then_finds_them(http):
    note = "象山简讯\n\n象山县2023年渔港经济区完成投资18.6亿元，建成石浦国家中心渔港。\n".encode("gb18030")
    started = http.post("/api/documents", files=[("files", ("象山简讯.txt", note, "text/plain")),
                                                 ("files", ("scan.pdf", b"%PDF-1.4 broken", "application/pdf"))],
                        data={"district": "象山"}, headers=ADMIN)
    assert started.status_code == 202
    upload = started.json()
    assert [f["status"] for f in upload["files"]] == ["added", "error"] and "scan.pdf" in upload["files"][1]["message"]
    seen = []
    for _ in range(600):
        status = http.get(f"/api/uploads/{upload['id']}").json()
        seen.append(status["state"])
        if status["state"] != "embedding":
            break
        time.sleep(0.1)
    assert status["state"] == "done" and status["done"] == status["total"] > 0, status
    out = http.post("/api/search", json={"question": "石浦渔港投资多少", "district": "象山"}).json()
    assert "18.6亿元" in out["hits"][0]["text"] and out["hits"][0]["doc_id"] == upload["files"][0]["id"]


def test_an_unknown_upload_and_too_many_files_are_named(http):
    missing = http.get("/api/uploads/0000")
    assert missing.status_code == 404 and missing.json()["field"] == "upload_id"
    many = [("files", (f"n{i}.txt", "短文。".encode(), "text/plain")) for i in range(21)]
    refused = http.post("/api/documents", files=many, headers=ADMIN)
    assert refused.status_code == 422 and "at most 20" in refused.json()["error"]
    nothing = http.post("/api/documents", files=[("files", ("scan.pdf", b"%PDF-1.4 broken", "application/pdf"))],
                        headers=ADMIN)
    assert nothing.status_code == 422 and "scan.pdf is not a readable PDF" in nothing.json()["error"]
