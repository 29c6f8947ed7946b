"""The four inventory formats, each written as the rows stream by (nothing but the totals is kept).

CSV, JSON and HTML go to a text stream; XLSX to a file (xlsxwriter in ``constant_memory`` mode
flushes each row as it is written). Each writer returns the totals it wrote.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from govarc.catalog.inventory import InventoryRow
from govarc.inventory.columns import (
    COLUMNS,
    TOTAL_COLUMNS,
    InventoryTotals,
    TotalsCounter,
    neutralise,
    row_dict,
    row_values,
)

Progress = Callable[[int], None]
PROGRESS_EVERY = 1_000

XLSX_MAX_ROWS = 1_048_576
"""Rows in one Excel worksheet; a longer inventory goes on to a second sheet, its header repeated."""

BOM = "\ufeff"

TITLE_ZH = "档案目录"
TITLE_EN = "Records inventory"


@dataclass(frozen=True)
class InventoryInfo:
    """What heads an inventory: when it was made and the filters that chose its records."""

    generated_at: str
    filters: tuple[tuple[str, str], ...] = ()

    def filter_text(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.filters) or "全部 all"


def _counted(rows: Iterable[InventoryRow], counter: TotalsCounter, progress: Progress | None) -> Iterable[InventoryRow]:
    n = 0
    for row in rows:
        counter.add(row)
        yield row
        n += 1
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    if progress is not None and n % PROGRESS_EVERY:
        progress(n % PROGRESS_EVERY)


def _cell(value: str | int | None) -> str | int:
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value


def write_csv(rows: Iterable[InventoryRow], out: IO[str], info: InventoryInfo,
              progress: Progress | None = None) -> InventoryTotals:
    """UTF-8 with a BOM (Excel and WPS then read it as UTF-8): the records table, a blank line, the
    totals table. ``out`` must be opened with ``newline=""``."""
    counter = TotalsCounter()
    out.write(BOM)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([c.header for c in COLUMNS])
    for row in _counted(rows, counter, progress):
        w.writerow([_cell(v) for v in row_values(row)])
    totals = counter.totals()
    w.writerow([])
    w.writerow([c.header for c in TOTAL_COLUMNS])
    for t in (*totals.groups, totals.grand):
        w.writerow([_cell(v) for v in t.values()])
    return totals


def write_json(rows: Iterable[InventoryRow], out: IO[str], info: InventoryInfo,
               progress: Progress | None = None) -> InventoryTotals:
    """One JSON document written as it goes: ``inventory`` (when, filters), ``columns``, ``records``
    (one object per record), ``totals`` (per agency/year) and ``grand_total``."""
    counter = TotalsCounter()
    head = {"generated_at": info.generated_at, "filters": dict(info.filters)}
    columns = [{"key": c.key, "zh": c.zh, "en": c.en} for c in COLUMNS]
    out.write('{"inventory": ' + json.dumps(head, ensure_ascii=False) + ',\n "columns": '
              + json.dumps(columns, ensure_ascii=False) + ',\n "records": [')
    first = True
    for row in _counted(rows, counter, progress):
        out.write(("\n  " if first else ",\n  ") + json.dumps(row_dict(row), ensure_ascii=False))
        first = False
    totals = counter.totals()
    out.write("\n ],\n \"totals\": " + json.dumps([t.as_dict() for t in totals.groups], ensure_ascii=False)
              + ",\n \"grand_total\": " + json.dumps(totals.grand.as_dict(), ensure_ascii=False) + "\n}\n")
    return totals


# A4 landscape; thead as a table-header-group is repeated at the top of each printed page.
_CSS = """
@page { size: A4 landscape; margin: 12mm 10mm 14mm 10mm; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimSun", sans-serif;
       font-size: 9pt; margin: 0; color: #000; }
h1 { font-size: 14pt; margin: 0 0 2mm 0; }
p.meta { margin: 0 0 3mm 0; color: #333; }
table { border-collapse: collapse; width: 100%; margin-bottom: 5mm; }
thead { display: table-header-group; }
tfoot { display: table-footer-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 0.5pt solid #555; padding: 1mm 1.2mm; vertical-align: top; text-align: left; }
th { background: #e8e8e8; font-weight: bold; }
th span { display: block; font-weight: normal; font-size: 7.5pt; color: #333; }
td.n { text-align: right; white-space: nowrap; }
td.d { font-family: monospace; font-size: 7pt; word-break: break-all; }
tr.grand td { font-weight: bold; }
@media screen { body { margin: 8mm; } }
"""


def _th(zh: str, en: str) -> str:
    return f"<th>{html.escape(zh)}<span>{html.escape(en)}</span></th>"


def _td(value: str | int | None, cls: str = "") -> str:
    text = "" if value is None else html.escape(str(value))
    return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"


def write_html(rows: Iterable[InventoryRow], out: IO[str], info: InventoryInfo,
               progress: Progress | None = None) -> InventoryTotals:
    """A self-contained printable page (A4, the table header repeated on every printed page, no
    external assets): the records table, then the totals table."""
    counter = TotalsCounter()
    out.write('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8"/>\n'
              f"<title>{TITLE_ZH} {TITLE_EN}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
              f"<h1>{TITLE_ZH} {TITLE_EN}</h1>\n"
              f'<p class="meta">生成时间 Generated: {html.escape(info.generated_at)}；'
              f"筛选 Filters: {html.escape(info.filter_text())}</p>\n"
              '<table class="records">\n<thead><tr>' + "".join(_th(c.zh, c.en) for c in COLUMNS)
              + "</tr></thead>\n<tbody>\n")
    classes = ["n" if c.number else ("d" if c.key == "package_digest" else "") for c in COLUMNS]
    for row in _counted(rows, counter, progress):
        out.write("<tr>" + "".join(_td(v, k) for v, k in zip(row_values(row), classes)) + "</tr>\n")
    totals = counter.totals()
    out.write("</tbody>\n</table>\n<h2>合计 Totals</h2>\n"
              '<table class="totals">\n<thead><tr>' + "".join(_th(c.zh, c.en) for c in TOTAL_COLUMNS)
              + "</tr></thead>\n<tbody>\n")
    tclasses = ["n" if c.number else "" for c in TOTAL_COLUMNS]
    for t in totals.groups:
        out.write("<tr>" + "".join(_td(v, k) for v, k in zip(t.values(), tclasses)) + "</tr>\n")
    out.write('<tr class="grand">' + "".join(_td(v, k) for v, k in zip(totals.grand.values(), tclasses))
              + "</tr>\n</tbody>\n</table>\n</body>\n</html>\n")
    return totals


# Column widths in Excel's units (about one Latin character each; a CJK character takes two).
_WIDTHS = {"agency": 8, "year": 6, "archival_code": 28, "title": 50, "document_number": 20, "issuer": 24,
           "date": 11, "classification": 8, "retention": 8, "files": 7, "pages": 7, "bytes": 12, "state": 14,
           "package_digest": 66}
_TOTAL_WIDTHS = [14, 6, 8, 8, 8, 14, 12]


def write_xlsx(rows: Iterable[InventoryRow], out: Path | IO[bytes], info: InventoryInfo,
               progress: Progress | None = None, *, tmpdir: Path | None = None) -> InventoryTotals:
    """An XLSX workbook at the path or in the binary file ``out``: the records sheet (header frozen,
    widths set, text written as text, never as a formula), then the totals below the records.
    Streams in xlsxwriter's ``constant_memory`` mode, its row files in ``tmpdir`` (default: the
    path's folder); past Excel's 1,048,576 rows the records go on to another sheet."""
    import xlsxwriter

    if isinstance(out, Path):
        tmpdir = tmpdir or out.parent
    counter = TotalsCounter()
    options: dict[str, Any] = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                               "strings_to_urls": False}
    if tmpdir is not None:
        options["tmpdir"] = str(tmpdir)
    wb = xlsxwriter.Workbook(str(out) if isinstance(out, Path) else out, options)
    try:
        wb.set_properties({"title": f"{TITLE_ZH} {TITLE_EN}", "comments": f"{info.generated_at}; {info.filter_text()}"})
        head = wb.add_format({"bold": True, "bg_color": "#E8E8E8", "text_wrap": True, "valign": "top", "border": 1})
        bold = wb.add_format({"bold": True})
        sheets = 0

        def new_sheet() -> Any:
            nonlocal sheets
            sheets += 1
            ws = wb.add_worksheet("目录" if sheets == 1 else f"目录{sheets}")
            for i, c in enumerate(COLUMNS):
                ws.set_column(i, i, _WIDTHS[c.key])
            for i, c in enumerate(COLUMNS):
                ws.write_string(0, i, c.header, head)
            ws.freeze_panes(1, 0)
            ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.repeat_rows(0)
            ws.fit_to_pages(1, 0)
            return ws

        ws = new_sheet()
        r = 1
        for row in _counted(rows, counter, progress):
            if r >= XLSX_MAX_ROWS:
                ws = new_sheet()
                r = 1
            for i, v in enumerate(row_values(row)):
                if isinstance(v, int):
                    ws.write_number(r, i, v)
                elif v:
                    ws.write_string(r, i, neutralise(v))
            r += 1
        totals = counter.totals()
        needed = len(totals.groups) + 3
        if r + needed > XLSX_MAX_ROWS:
            ws = wb.add_worksheet("合计")
            for i, w in enumerate(_TOTAL_WIDTHS):
                ws.set_column(i, i, w)
            r = 0
        else:
            r += 1
        for i, c in enumerate(TOTAL_COLUMNS):
            ws.write_string(r, i, c.header, head)
        r += 1
        for t in (*totals.groups, totals.grand):
            fmt = bold if t.agency is None else None
            for i, v in enumerate(t.values()):
                if isinstance(v, int):
                    ws.write_number(r, i, v, fmt)
                elif v:
                    ws.write_string(r, i, neutralise(v), fmt)
            r += 1
    finally:
        wb.close()
    return totals
