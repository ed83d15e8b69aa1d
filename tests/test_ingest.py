"""Ingestion: reading any encoding, repairing layout artefacts, and cutting stable chunks."""
import re
from pathlib import Path

import pytest

from qa.documents.document import IngestError
from qa.documents.folder import load_corpus
from qa.documents.parse import MAX_CHARS, parse
from qa.documents.readers import read_text


def test_page_broken_sentence_is_joined():
    _, chunks = parse("标题\n\n一、工作\n\n推进生产性服\n\n务业发展。\n", "d")
    assert any("生产性服务业发展。" in c.text for c in chunks)


def test_fragment_whose_rest_sits_in_another_column_is_reattached():
    text = "标题\n\n小节一\n\n镇海探索科技成果先用后转新模式，加大科技成果转化对接支持力度，推动创新链产业链深度融合，不断完\n\n小节二\n\n调解员耐心调解了纠纷。\n\n善创新联合体攻坚机制，企业能力增强。\n"
    _, chunks = parse(text, "d")
    assert any("完善创新联合体攻坚机制" in c.text for c in chunks)


def test_captions_and_bylines_never_become_passages():
    title, chunks = parse("\n\n\n\n书记某某。\n\n某某：扛起新担当\n\n记者 张三\n\n正文第一段很长很长，讲述了改革。\n\n\n\n三江口 (李四 摄)\n", "d")
    assert title == "某某：扛起新担当"
    texts = " ".join(c.text for c in chunks)
    assert "摄" not in texts and "记者 张三" not in texts and "书记某某。" not in texts
    assert "正文第一段" in texts


def test_heading_path_follows_the_official_hierarchy():
    _, chunks = parse("报告\n\n二、2020年主要目标任务\n\n（三）做强产业\n\n大力发展先进制造业。\n", "d")
    assert chunks[0].heading == "二、2020年主要目标任务 › （三）做强产业"
    assert chunks[0].paragraph == 1


def test_inline_numbered_heading_names_its_section():
    _, chunks = parse("报告\n\n一、回顾\n\n（一）经济发展稳中提质。实现规上工业总产值2507亿元，继续增长。\n", "d")
    assert chunks[0].heading == "一、回顾 › （一）经济发展稳中提质"


def test_long_paragraph_is_split_at_sentence_boundaries():
    sentence = "这是一个关于改革的完整句子，内容比较长一些。"
    _, chunks = parse("报告\n\n一、回顾\n\n" + sentence * 30 + "\n", "d")
    assert len(chunks) > 1
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)
    assert len({c.paragraph for c in chunks}) == 1   # pieces of one paragraph cite the same paragraph


def test_chunk_ids_are_content_hashes():
    first = "第一段内容说明了镇海推进改革的总体情况，并且列举了产业、科技、治理多个方面的具体做法和成效。"
    _, a = parse(f"报告\n\n一、回顾\n\n{first}\n\n第二段内容说明了别的情况，比第一段还要长一些，讲到了城市更新、乡村振兴和基层治理。\n", "d")
    _, b = parse(f"报告\n\n一、回顾\n\n{first}\n\n第二段内容已经改写，换了一种说法，也讲到了城市更新、乡村振兴和基层治理的具体做法。\n", "d")
    assert a[0].id == b[0].id and a[-1].id != b[-1].id


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-8-sig"])
def test_reads_chinese_text_in_any_office_encoding(tmp_path, encoding):
    path = tmp_path / "doc.txt"
    path.write_bytes("镇海地区生产总值达到1021.6亿元。".encode(encoding))
    assert read_text(path) == "镇海地区生产总值达到1021.6亿元。"


def test_empty_file_gets_a_clear_error(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(IngestError, match="empty.txt is empty"):
        load_corpus(tmp_path)


def test_catalog_gives_citation_metadata_and_uncatalogued_documents_still_load(corpus):
    (corpus / "extra.txt").write_text("额外文件标题\n\n这是没有目录条目的文件内容。\n", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus(corpus)[0]}
    assert docs["report"].date == "2020-05-09" and docs["jiangbei"].district == "江北"
    assert docs["extra"].title == "额外文件标题"


def test_bylines_make_a_citable_header_passage(tmp_path):
    from qa.documents.folder import load_corpus
    from qa.documents.header import HEADER
    (tmp_path / "r.txt").write_text("政府工作报告\n\n镇海区人民政府区长 何黎斌\n\n一、回顾\n\n地区生产总值达到1021.6亿元，增长很快。\n",
                                    encoding="utf-8")
    (tmp_path / "catalog.json").write_text('{"r": {"title": "报告", "date": "2020", "source": "区人代会"}}', encoding="utf-8")
    _, chunks = load_corpus(tmp_path)
    header = chunks[0]
    assert header.paragraph == 0 and header.heading == HEADER
    assert "镇海区人民政府区长 何黎斌" in header.text and "来源：区人代会" in header.text
    assert all("何黎斌" not in c.text for c in chunks[1:])     # bylines stay out of the body passages


OTHER = Path(__file__).resolve().parent.parent / "corpora" / "other-cities"   # public documents nobody tuned for


def test_a_dateline_dates_the_document_and_is_never_glued_onto_a_paragraph():
    from qa.documents.header import dateline
    text = "政府工作报告\n\n——2024年3月5日在第十四届全国人民代表大会第二次会议上\n\n国务院总理　李　强\n\n各位代表：\n\n" \
           "一年来，我们坚持稳中求进工作总基调，经济回升向好。\n\n2026-01-22\n\n2025年全年地区生产总值增长5%。"
    title, chunks = parse(text, "report")
    assert dateline(text) == "2024-03-05" and title == "政府工作报告"
    assert [c.text for c in chunks] == ["一年来，我们坚持稳中求进工作总基调，经济回升向好。\n2025年全年地区生产总值增长5%。"]
    from qa.documents.header import bylines
    assert bylines(text) == ["国务院总理 李 强"]                          # a spaced signature is a byline


def test_public_documents_keep_their_paragraphs_in_place_with_no_fragment_passages():
    from qa.documents.parse import MIN_PASSAGE
    documents, chunks = load_corpus(OTHER)
    assert all(len(c.text) >= MIN_PASSAGE for c in chunks)
    assert not [c.text for c in chunks if re.match(r"^(各位代表[：！:!]?(\n|$)|——(19|20)\d\d|时间：)", c.text)]
    assert not [c.text for c in chunks if "会议上现在" in c.text or "会议上一年来" in c.text]
    dates = {d.doc_id: d.date for d in documents}
    assert dates["yuxi-2007-government-work-report"] == "2007-03-02"


def test_an_uploads_stored_copy_is_not_shown_as_its_source(tmp_path):
    from qa.documents.document import Document
    from qa.documents.header import header_chunk
    doc = Document("x", "报告", "2024", "张三", "originals/x.pdf")
    assert "originals" not in header_chunk(doc, []).text


def test_a_document_number_a_broken_dateline_and_a_closing_signature_go_to_the_header():
    from qa.documents.header import about, dateline
    text = ("政府工作报告\n\n2020年5月9日在宁波市镇海区\n\n第十五届人民代表大会第四次会议上\n\n各位代表：\n\n"
            "现在，我代表区人民政府向大会报告工作。\n")
    assert about(text) == ["2020年5月9日在宁波市镇海区第十五届人民代表大会第四次会议上"]
    notice = "关于推进工作的通知\n临政办发〔2019〕4号\n为推进工作，现通知如下。\n临江市人民政府办公厅\n二〇一八年十二月二十九日\n"
    assert about(notice) == ["文号：临政办发〔2019〕4号", "落款：临江市人民政府办公厅 二〇一八年十二月二十九日"]
    assert dateline(notice) == "2018-12-29" and dateline("通知\n临政发〔2021〕7号\n现通知如下。\n") == "2021"
    _, chunks = parse(notice, "n")
    assert not any("二〇一八年" in c.text or c.text == "临江市人民政府办公厅" for c in chunks)
