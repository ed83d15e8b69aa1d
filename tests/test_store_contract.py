"""One contract, run against every store (txtai's runTests pattern): a third store is one file in
qa/stores/, a line in the factory, and a name here."""
import numpy as np
import pytest

from conftest import HashEncoder
from qa.documents.document import Chunk, Document
from qa.settings import Settings
from qa.stores import Filters, Rows, open_store
from qa.stores.factory import kind

ENCODER = HashEncoder()
STORES = ["local", "milvus-lite"]


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    """One Milvus Lite file for the module (starting one costs seconds); each test has its own collection."""
    return str(tmp_path_factory.mktemp("lite") / "contract.db")


@pytest.fixture(params=STORES)
def opened(request, tmp_path, lite):
    """A function opening the store under test (again, as another process would) on one scratch address."""
    store = {"local": None, "milvus-lite": lite}[request.param]
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "ix", store=store,
                        collection=f"contract_{tmp_path.name[-40:].replace('-', '_')}")
    return lambda: open_store(settings, ENCODER.name, ENCODER.dim)


def rows(doc_id: str, texts: list[str], district: str = "镇海", date: str = "2020-05-09") -> Rows:
    chunks = tuple(Chunk(f"{doc_id}-{i}-{hash(t) % 10**8}", doc_id, t, i + 1) for i, t in enumerate(texts))
    return Rows(Document(doc_id, f"{doc_id}的标题", date, district=district), chunks,
                ENCODER.encode([c.text for c in chunks]))


def found(store, text: str, **filters) -> list[str]:
    """Chunk ids a search for the text retrieves, best BM25 first."""
    vector = ENCODER.encode([text], query=True)[0]
    got = store.retrieve(text, "", 0.0, vector, 10, Filters(**filters))
    return [store.chunk(int(got.positions[i])).id for i in np.argsort(-got.bm25, kind="stable")]


REPORT = ["地区生产总值达到1021.6亿元，同比增长7.1%。", "森林覆盖率达到23.1%。", "城乡居民收入倍差缩小至1.62。"]


def test_a_new_store_lists_and_finds_nothing(opened):
    store = opened()
    assert store.listing().count == 0 and store.listing().documents == ()
    assert found(store, "地区生产总值") == []


def test_what_is_put_is_listed_and_found_by_words_and_by_vector(opened):
    store = opened()
    store.put([rows("report", REPORT), rows("jiangbei", ["江北常住人口城镇化率达到85.6%。"], district="江北")])
    listing = store.listing()
    assert {d.doc_id for d in listing.documents} == {"report", "jiangbei"}
    assert listing.passages == {"report": 3, "jiangbei": 1} and listing.count == 4
    assert set(listing.signatures) == {"report", "jiangbei"} and listing.fingerprint
    assert found(store, "森林覆盖率")[0].startswith("report-1-")
    vector = ENCODER.encode([REPORT[2]])[0]
    dense = store.retrieve("", "", 0.0, vector, 1, Filters())
    assert store.chunk(int(dense.positions[np.argmax(dense.dense)])).text == REPORT[2]


def test_putting_a_document_again_replaces_it_whole(opened):
    store = opened()
    store.put([rows("report", REPORT)])
    before = store.listing().fingerprint
    store.put([rows("report", ["地区生产总值达到1100亿元。"])])
    assert store.listing().passages == {"report": 1} and store.listing().fingerprint != before
    assert all(store.chunk(int(p)).text == "地区生产总值达到1100亿元。"
               for p in store.retrieve("地区生产总值 森林覆盖率", "", 0.0, ENCODER.encode(["x"])[0], 10,
                                       Filters()).positions)


def test_delete_returns_what_it_held_and_nothing_of_it_is_found_again(opened):
    store = opened()
    store.put([rows("report", REPORT), rows("other", ["其他文件讲述森林覆盖率的另一种算法。"])])
    assert store.delete(["report", "never-there"]) == ["report"]
    assert [store.chunk(int(p)).doc_id for p in
            store.retrieve("森林覆盖率", "", 0.0, ENCODER.encode(["森林覆盖率"])[0], 10, Filters()).positions] == ["other"]
    assert store.vectors(["report"]) == {} and store.listing().passages == {"other": 1}


def test_stored_vectors_come_back_by_chunk_id(opened):
    store = opened()
    r = rows("report", REPORT)
    store.put([r])
    back = store.vectors(["report"])
    assert set(back) == {c.id for c in r.chunks}
    assert all(np.allclose(back[c.id], v, atol=1e-6) for c, v in zip(r.chunks, r.vectors))


def test_neighbours_are_the_texts_around_a_chunk_in_its_document(opened):
    store = opened()
    r = rows("report", REPORT)
    store.put([r])
    assert len(found(store, "地区生产总值 森林覆盖率 城乡居民收入")) == 3     # neighbours of chunks a search handed out
    assert store.neighbours(r.chunks[1].id) == (REPORT[0], REPORT[2])
    assert store.neighbours(r.chunks[0].id)[0] == "" and store.neighbours(r.chunks[2].id)[1] == ""


def test_filters_narrow_by_document_district_and_year(opened):
    store = opened()
    store.put([rows("report", REPORT), rows("jiangbei", ["江北的森林覆盖率达到30%。"], district="江北", date="2024")])
    docs = lambda **f: {i.split("-")[0] for i in found(store, "森林覆盖率", **f)}
    assert docs(district="江北") == {"jiangbei"} and docs(year="2020") == {"report"}
    assert docs(doc_ids=frozenset({"report"})) == {"report"}


def test_the_vocabulary_knows_corpus_terms_and_weighs_rare_ones_more(opened):
    store = opened()
    store.put([rows("a", ["改革推进森林覆盖率。", "改革推进营商环境。", "改革成效。"])])
    words = store.vocabulary
    assert words.knows("改革") and not words.knows("火星探测")
    assert words.idf("森林覆盖率") > words.idf("改革")


def test_another_opening_sees_the_writes_after_refresh(opened):
    first, second = opened(), opened()
    first.put([rows("report", REPORT)])
    second.refresh()
    assert second.listing().passages == {"report": 3} and found(second, "森林覆盖率")


def test_the_factory_picks_a_store_by_its_address():
    assert [kind(a) for a in (None, "", "x.db", "http://h:19530", "milvus://h:19530")] == \
        ["local", "local", "milvus-lite", "milvus", "milvus"]
    with pytest.raises(Exception, match="not an address reform-qa knows"):
        kind("postgres://h/db")
