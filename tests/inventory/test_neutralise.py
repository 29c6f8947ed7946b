"""Cells a spreadsheet would run are neutralised in CSV and XLSX, whatever field they come in."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

import openpyxl
import pytest

from govarc.catalog.inventory import InventoryRow
from govarc.catalog.summary import InventoryState
from govarc.inventory.columns import neutralise
from govarc.inventory.writers import InventoryInfo, write_csv, write_xlsx

HOSTILE = [
    "=1+2", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1", "-1", "@SUM(A1:A2)", "=cmd|' /C calc'!A0",
    "\t=1", "\r=1", "\n=1", "\tplain after a tab",
    "＝1+2", "＋1", "－1", "＠SUM(A1)",
    " =1", "  +1", "\u3000=1", "\u00a0-1", " \u3000＠x",
]
HARMLESS = ["柳州市人民政府", "2024-05-01", "柳政发〔2024〕1号", "a=b", "1+1", "", "   ", "'=already quoted"]

ROW = InventoryRow(agency="SZF", year=2024, archival_code="0012-WS·2024-Y-BGS-0001", title="关于工作的通知",
                   document_number="柳政发〔2024〕1号", issuer="柳州市人民政府", date="2024-05-01",
                   classification="公开", retention="Y", files=1, pages=2, bytes=1234,
                   state=InventoryState.ACCEPTED, package_digest="0" * 64)
TEXT_FIELDS = ["archival_code", "title", "document_number", "issuer", "date", "classification"]
INDEX = {"archival_code": 2, "title": 3, "document_number": 4, "issuer": 5, "date": 6, "classification": 7}


def unescape(text: str) -> str:
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_cell_gets_a_leading_quote(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_a_harmless_cell_is_left_alone(value: str) -> None:
    assert neutralise(value) == value


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", HOSTILE[::2] + HOSTILE[1::4])
def test_csv_neutralises_each_text_field(field: str, value: str) -> None:
    buf = io.StringIO(newline="")
    write_csv([dataclasses.replace(ROW, **{field: value})], buf, InventoryInfo("2024-05-01T08:00:00+08:00"))
    rows = list(csv.reader(io.StringIO(buf.getvalue()[1:], newline="")))
    assert rows[1][INDEX[field]] == "'" + value
    assert rows[1][9:12] == ["1", "2", "1234"]


def test_xlsx_neutralises_and_writes_text_never_formulas(tmp_path: Path) -> None:
    rows = [dataclasses.replace(ROW, title=v, issuer=v, archival_code=f"code-{i}") for i, v in enumerate(HOSTILE)]
    out = tmp_path / "x.xlsx"
    write_xlsx(rows, out, InventoryInfo("2024-05-01T08:00:00+08:00"))
    ws = openpyxl.load_workbook(out)["目录"]
    got = list(ws.iter_rows(min_row=2, max_row=len(HOSTILE) + 1))
    for value, cells in zip(HOSTILE, got):
        title, issuer = cells[3], cells[5]
        assert title.data_type == "s" and issuer.data_type == "s"
        # the writer stores a CR as Excel's escape _x000D_, which openpyxl leaves as it is
        assert unescape(title.value) == "'" + value and unescape(issuer.value) == "'" + value
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
