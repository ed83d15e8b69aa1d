"""Documents as people bring them, added and asked through the CLI with the real model: full-width and
Chinese-numeral figures, a Word file saved from a template, a dateline and a closing signature, a byline
glued to its office, a kind of place that is not a place."""
import json

import pytest

from qa import cli

FULL_WIDTH = ("临江市二〇〇五年统计简报\n\n一、综合\n\n２００５年，全市实现地区生产总值ＧＤＰ３８６．４７亿元，比上年增长１２．３％。"
              "人均生产总值达到２．６万元。\n\n二、２００５年财政\n\n全市地方财政收入完成４５．２亿元，增长１８．６％，"
              "其中税收收入３８．１亿元。\n")
CN_NUMERALS = ("临江市二〇〇三年国民经济回顾\n\n二〇〇三年，全国国内生产总值达到十一万六千六百九十四亿元，比上年增长百分之九点一。"
               "临江全市粮食总产量三十二万吨，农村居民人均纯收入四千二百六十元。\n")
REPORT = ("临江市政府工作报告\n\n——2026年2月3日在临江市第十六届人民代表大会第四次会议上\n\n临江市市长王海东\n\n各位代表：\n\n"
          "现在，我代表市人民政府，向大会报告工作，请予审议。\n\n一、过去一年的工作\n\n东溪镇村集体经济收入全部超过50万元，"
          "经营性收入年均增长15%。全市新建农村公路120公里，改造农村危房3200户。\n")
NOTICE = ["临政办发〔2025〕3号", "各县（市、区）人民政府，市政府各部门：",
          "为推进老旧小区改造，经市政府同意，现将有关事项通知如下。",
          "一、2025年全市计划改造老旧小区86个，惠及居民2.4万户，完成投资9.6亿元。",
          "临江市人民政府办公厅", "2025年1月15日"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A scratch data home with the shipped corpus and the four documents added through `reform-qa add`."""
    import docx
    root = tmp_path_factory.mktemp("home")
    src = root / "uploads"
    src.mkdir()
    (src / "full-width.txt").write_bytes(FULL_WIDTH.encode("gb18030"))
    (src / "numerals.txt").write_text(CN_NUMERALS, encoding="utf-8")
    (src / "report.txt").write_text(REPORT, encoding="utf-8")
    document = docx.Document()   # python-docx's template: author "python-docx", created 2013-12-23
    document.add_heading("临江市人民政府办公厅关于推进老旧小区改造的通知", level=1)
    for line in NOTICE:
        document.add_paragraph(line)
    document.save(str(src / "notice.docx"))
    args = ["--data", str(root / "data"), "--index", str(root / "ix")]
    assert cli.main([*args, "add", str(src)]) == 0
    return args


def ask(home, capsys, question):
    capsys.readouterr()
    assert cli.main([*home, "ask", question, "--json", "--k", "3"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("question, expected", [
    ("2005年临江GDP是多少", "３８６．４７亿元"),                      # full-width figures and year
    ("临江2005年财政收入有多少", "４５．２亿元"),                       # the year only in a full-width heading
    ("2003年国内生产总值是多少？", "十一万六千六百九十四亿元"),         # Chinese-numeral year and amount
    ("临江2003年粮食产量多少万吨", "三十二万吨"),
    ("国内生产总值116694亿元是哪一年的", "十一万六千六百九十四亿元"),   # the amount asked in digits
    ("东溪镇村集体经济收入怎么样", "东溪镇村集体经济收入"),             # 镇村 is a kind of place, not one
])
def test_figures_as_printed_are_found_and_answered(home, capsys, question, expected):
    answer = ask(home, capsys, question)
    assert expected in answer["hits"][0]["text"] and not answer["abstained"], answer


def test_a_dateline_and_a_glued_byline_answer_when_where_and_who(home, capsys):
    answer = ask(home, capsys, "临江市政府工作报告是哪天在哪次会议上作的？")
    top = answer["hits"][0]
    assert "第十六届人民代表大会第四次会议" in top["text"] and top["date"] == "2026-02-03" and not answer["abstained"]
    assert "王海东" in ask(home, capsys, "临江市政府工作报告是谁作的？")["hits"][0]["text"]


def test_a_word_file_from_a_template_is_dated_and_signed_by_its_text(home, capsys):
    answer = ask(home, capsys, "临江老旧小区改造的通知是哪天印发的？文号是什么？")
    top = answer["hits"][0]
    assert "2025年1月15日" in top["text"] and "临政办发〔2025〕3号" in top["text"], top
    assert top["date"] == "2025-01-15" and "python-docx" not in json.dumps(answer, ensure_ascii=False)
    assert cli.main([*home, "list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if "老旧小区" in line]
    assert listed and "2025-01-15 (from the text)" in listed[0] and "2013" not in listed[0]
