"""Bring your own documents: every format goes in with a checkable citation; bad files fail alone."""
import json
import os

import pypdf
import pytest

from qa.documents.library import add, documents, remove, safe_id

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"   # fonts-noto-cjk, installed by scripts/test.sh


def make_pdf(path, pages):
    """A PDF whose pages carry the given Chinese texts (an empty string: a page with no text layer)."""
    from fpdf import FPDF
    pdf = FPDF()
    pdf.add_font("noto", "", FONT, collection_font_number=2)
    pdf.set_font("noto", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
        else:
            pdf.rect(20, 20, 100, 60, style="F")   # a "scan": drawing only
    pdf.set_title("北仑港口年报")
    pdf.output(str(path))
    return path


def make_docx(path, title, paragraphs):
    import docx
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for p in paragraphs:
        document.add_paragraph(p)
    document.save(str(path))
    return path


def test_gbk_utf16_docx_pdf_and_html_go_in_and_answer_with_citations(engine, corpus, tmp_path):
    src = tmp_path / "uploads"
    src.mkdir()
    (src / "gbk.txt").write_bytes("慈溪报告\n\n慈溪市2023年家电产量达到3200万台，同比增长8.8%。".encode("gbk"))
    (src / "utf16.txt").write_text("余姚报告\n\n余姚市建成机器人小镇，集聚机器人企业150家。", encoding="utf-16")
    make_docx(src / "word.docx", "象山渔业通报", ["象山县2023年远洋渔业捕捞量达到42万吨，居全省首位。"])
    make_pdf(src / "port.pdf", ["北仑港口年报。第一页介绍港区概况，港区岸线较长，泊位众多，服务腹地广阔。",
                                "第二页：梅山港区集装箱吞吐量达到1000万标准箱，同比增长12.3%。"])
    (src / "page.html").write_text("<html><head><title>奉化简讯</title><script>var x='溪口';</script></head>"
                                   "<body><h1>奉化简讯</h1><p>奉化区水蜜桃种植面积达到5.6万亩，年产值9亿元。</p></body></html>",
                                   encoding="utf-8")
    results = add(corpus, [src])
    assert [r.status for r in results] == ["added"] * 5, results
    engine.sync()

    def top(question):
        return engine.search(question, k=1)[0]
    assert "3200万台" in top("慈溪家电产量").text
    assert "150家" in top("余姚机器人企业有多少家").text
    hit = top("象山远洋渔业捕捞量")
    assert "42万吨" in hit.text and hit.title == "象山渔业通报"
    hit = top("梅山港区集装箱吞吐量")
    assert "1000万标准箱" in hit.text and hit.page == 2 and hit.citation.endswith("第2页")
    hit = top("奉化水蜜桃种植面积")
    assert "5.6万亩" in hit.text and hit.title == "奉化简讯" and "溪口" not in hit.text
    assert "1021.6亿元" in top("2019年地区生产总值是多少").text   # the original corpus answers as before
    catalog = json.loads((corpus / "catalog.json").read_text(encoding="utf-8"))
    assert catalog["port"]["pages"] == 2 and (corpus / catalog["port"]["source"]).read_bytes()[:4] == b"%PDF"


def test_bad_files_get_their_own_error_and_the_rest_goes_in(corpus, tmp_path):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "empty.txt").write_bytes(b"")
    (src / "random.pdf").write_bytes(os.urandom(4096))
    (src / "noise.txt").write_bytes(bytes(range(256)) * 40)
    make_pdf(src / "scan.pdf", [""])
    locked = pypdf.PdfWriter(clone_from=str(make_pdf(tmp_path / "plain.pdf", ["保密文件：港区投资计划。"])))
    locked.encrypt("secret", algorithm="RC4-128")
    locked.write(str(src / "locked.pdf"))
    (src / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (src / "good.txt").write_text("宁海简讯\n\n宁海县建成十里红妆文化园。", encoding="utf-8")
    (src / "big.txt").write_text("大" * 400_000, encoding="utf-8")
    results = {r.path: r for r in add(corpus, sorted(src.iterdir()), max_mb=1)}
    assert "empty" in results["empty.txt"].message
    assert "not a readable PDF" in results["random.pdf"].message
    assert any(w in results["noise.txt"].message for w in ("binary", "not text"))
    assert "no text layer in scan.pdf" in results["scan.pdf"].message
    assert "locked.pdf is encrypted" in results["locked.pdf"].message
    assert "unsupported type .xlsx" in results["sheet.xlsx"].message
    assert "over the 1 MB limit" in results["big.txt"].message
    assert results["good.txt"].status == "added"
    assert {r.status for n, r in results.items() if n != "good.txt"} == {"error"}
    assert "good" in {d.doc_id for d in documents(corpus)}


def test_a_file_already_present_is_skipped(corpus, tmp_path):
    copy = tmp_path / "again.txt"
    copy.write_bytes((corpus / "jiangbei.txt").read_bytes())
    [result] = add(corpus, [copy])
    assert result.status == "skipped" and "already in the corpus as jiangbei" in result.message


def test_uploaded_names_cannot_escape_or_overwrite(corpus, tmp_path):
    upload = tmp_path / "tmp123"
    upload.write_text("新文档\n\n这是上传的内容，和已有文档不同。", encoding="utf-8")
    [result] = add(corpus, [upload], names=["../../etc/report.txt"])
    assert result.doc_id == "report-2" and (corpus / "report-2.txt").exists()
    assert "地区生产总值" in (corpus / "report.txt").read_text(encoding="utf-8")
    assert not (tmp_path / "etc").exists()
    assert safe_id("..\\..\\系统 文件.txt", set()) == "系统-文件" and safe_id(".bashrc", set()) == "bashrc"


def test_remove_takes_a_document_out_of_the_corpus_and_the_index(engine, corpus):
    assert engine.remove("jiangbei") == "removed jiangbei (江北专访)"
    assert not (corpus / "jiangbei.txt").exists()
    assert "jiangbei" not in {h.doc_id for h in engine.search("城镇化率", k=10)}
    with pytest.raises(Exception, match="no document '../report'"):
        remove(corpus, "../report")


def test_adding_a_document_embeds_only_its_chunks(engine, corpus, encoder, tmp_path):
    before = encoder.texts
    new = tmp_path / "new.txt"
    new.write_text("鄞州简讯\n\n鄞州区建成数字经济产业园。", encoding="utf-8")
    add(corpus, [new])
    engine.sync()
    new_chunks = [c for c in engine.store.chunks if c.doc_id == "new"]
    assert new_chunks and engine.report.embedded == len(new_chunks) == encoder.texts - before


def test_markdown_headings_lose_their_markup_and_a_text_without_passages_is_refused(engine, corpus, tmp_path):
    (tmp_path / "notes.md").write_text("# 慈溪简讯\n\n慈溪市建成小家电智造产业园，入驻企业86家。\n", encoding="utf-8")
    (tmp_path / "title-only.txt").write_text("只有一个标题\n", encoding="utf-8")
    results = {r.path: r for r in add(corpus, [tmp_path / "notes.md", tmp_path / "title-only.txt"])}
    assert results["notes.md"].status == "added"
    assert results["title-only.txt"].status == "error" and "no passage" in results["title-only.txt"].message
    engine.sync()
    hit = engine.search("慈溪小家电产业园入驻企业", k=1)[0]
    assert hit.title == "慈溪简讯" and "86家" in hit.text
