"""CSV and printable HTML renditions of the transfer list and the receipt."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from lxml import html as lxml_html

from govarc.transfer.documents import transfer_list_to_xml
from govarc.transfer.render import CSV_HEADERS, csv_cell, receipt_html, transfer_list_csv, transfer_list_html

from .test_documents import listed, make_list, make_receipt

EVIL_TITLE = '通知<script>alert("x")</script>&<img src=x onerror=alert(1)>'


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_bom_bilingual_headers_and_one_row_per_package() -> None:
    tl = make_list(listed(1, size=12345, files=3), listed(2, retention="D30", year=2008))
    data = transfer_list_csv(tl)
    assert b"\r\n" in data
    rows = read_csv(data)
    assert rows[0] == list(CSV_HEADERS)
    assert rows[0][1] == "档号 Archival code" and rows[0][2] == "题名 Title"
    assert len(rows) == 3
    p = tl.packages[0]
    assert rows[1] == ["1", p.archival_code, p.title, "2007", "Y", "3", "12345", p.sha256, p.tagmanifest_sha256, p.key]
    assert rows[2][1] == "0012-WS·2008-D30-BGS-0002"


@pytest.mark.parametrize("title", [
    "=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "=1+1\t", "-",
])
def test_csv_is_safe_against_formula_injection(title: str) -> None:
    tl = make_list(dataclasses.replace(listed(1), title=title))
    assert read_csv(transfer_list_csv(tl))[1][2] == "'" + title


@pytest.mark.parametrize("value", ["\t=1+1", "\r=1+1", "\tplain", "=", "+", "@"])
def test_csv_cells_starting_with_tab_or_cr_are_defused(value: str) -> None:
    # Titles cannot start with white space (the list refuses them), so the cell function is tested directly.
    assert csv_cell(value) == "'" + value


def test_csv_keys_that_look_like_formulas_are_defused_but_numbers_are_not() -> None:
    p = dataclasses.replace(listed(1), key="-x.zip")
    rows = read_csv(transfer_list_csv(make_list(p)))
    assert rows[1][9] == "'-x.zip"
    assert rows[1][0] == "1" and rows[1][6] == "1000"
    assert csv_cell("正常题名") == "正常题名" and csv_cell(-1) == "-1"


def test_list_html_is_a_printable_a4_register_with_chinese_labels() -> None:
    tl = make_list(listed(1, size=2**30), listed(2, retention="D30", year=2008))
    transfer_list_to_xml(tl)  # a sound list
    page = transfer_list_html(tl)
    assert page.startswith("<!DOCTYPE html>")
    assert "@page" in page and "size: A4" in page
    for label in ("电子档案移交与接收登记表", "交接工作名称", "内容描述", "数量", "数据量", "载体", "在线", "数字摘要",
                  "移交单位", "接收单位", "填表人", "审核人", "Transfer list", "Digest"):
        assert label in page, label
    assert "1.000 GB" in page and tl.batch_digest in page and "SHA-256" in page
    assert "2 件 items" in page and "4 个文件 files" in page
    doc = lxml_html.fromstring(page)
    assert len(doc.xpath("//table")) == 4


def test_titles_and_messages_are_escaped() -> None:
    tl = make_list(dataclasses.replace(listed(1), title=EVIL_TITLE), listed(2))
    for page in (transfer_list_html(tl), receipt_html(make_receipt(tl, transfer_list_to_xml(tl)), tl)):
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;img src=x onerror=alert(1)&gt;" in page
        doc = lxml_html.fromstring(page)
        assert not doc.xpath("//script | //img")
        assert EVIL_TITLE in doc.text_content()


def test_receipt_html_has_both_parties_and_every_verdict() -> None:
    tl = make_list(listed(1), listed(2), listed(3))
    r = make_receipt(tl, transfer_list_to_xml(tl))
    page = receipt_html(r, tl)
    doc = lxml_html.fromstring(page)
    text = doc.text_content()
    assert "移交单位" in text and "接收单位" in text and "柳州市档案馆（DA0001）" in text
    assert "接收 accepted 1 件，退回 rejected 1 件，重复 duplicate 1 件（共 3 件）" in text
    assert r.list_sha256 in text and r.received_at in text
    verdict_rows = doc.xpath("//table[last()]//tr[td]")
    assert [row.xpath("string(td[4])") for row in verdict_rows] == ["接收 accepted", "退回 rejected", "重复 duplicate"]
    assert "1-7 检测项目 1-7（真实性）：item 1-7 failed: <b>&amp;</b>" in verdict_rows[1].text_content()
    assert verdict_rows[0].xpath("string(td[5])") == "—"
    checks = doc.xpath("//table[3]//tr[td]")  # the checks table: one row per DA/T 70 property
    assert len(checks) == 4
    authenticity = checks[0].xpath("string(td[3])")
    assert "通过 passed: 3" in authenticity and "不通过 failed: 1" in authenticity
    assert "未检测 not performed: 3" in checks[3].xpath("string(td[3])")  # never shown as passed
    assert checks[0].xpath("string(td[2])") == ""  # the agency's column is for the agency to fill
