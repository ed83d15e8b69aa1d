"""The local store's BM25 scores every chunk as bm25s does (the library every figure of the project was
measured with), while growing a document at a time and forgetting deleted rows."""
import bm25s
import numpy as np

from qa.documents.document import index_text
from qa.documents.folder import load_corpus
from qa.settings import SHIPPED_CORPUS
from qa.stores.bm25 import Postings, count
from qa.text import Tokenizer, corpus_terms

QUESTIONS = ["2019年地区生产总值是多少", "一号改革工程", "城镇化率 城乡居民收入", "营商环境 营商环境 改革"]


def test_scores_match_bm25s_when_built_a_document_at_a_time():
    documents, chunks = load_corpus(SHIPPED_CORPUS)
    tokenizer = Tokenizer(corpus_terms(c.text for c in chunks))
    rows = [tokenizer(index_text(c)) or ["∅"] for c in chunks]
    reference = bm25s.BM25()
    reference.index(rows, show_progress=False)
    postings, start = Postings(), 0
    for d in documents:                                     # one document's rows at a time, as adds come
        n = sum(1 for c in chunks if c.doc_id == d.doc_id)
        postings.add(count(rows[start:start + n]))
        start += n
    for q in QUESTIONS:
        tokens = [t for t in tokenizer(q) if t in reference.vocab_dict]
        assert np.allclose(postings.scores(tokenizer(q)), reference.get_scores(tokens), atol=1e-4), q


def test_deleted_rows_score_nothing_and_leave_the_statistics_of_the_rest():
    a = [["镇海", "改革"], ["镇海", "开放"]]
    b = [["江北", "改革"]]
    grown = Postings()
    grown.add(count(a))
    grown.add(count(b))
    grown.delete(np.array([2]))
    alone = Postings()
    alone.add(count(a))
    assert grown.scores(["改革"])[2] == 0 and np.allclose(grown.scores(["改革"])[:2], alone.scores(["改革"]))
    assert grown.df("江北") == 0 and grown.df("镇海") == 2
