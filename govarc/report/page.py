"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no external
asset (a Content-Security-Policy forbids any), a table under each chart with the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from govarc.catalog.summary import STATE_LABELS, InventoryState
from govarc.report.build import ReportData
from govarc.report.svg import Series, attr, bar_chart

CSS = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#1a202c}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #cbd5e0}
.meta{color:#4a5568;font-size:13px;margin:2px 0}
.figure{overflow-x:auto}
svg.chart{max-width:100%;height:auto;font-size:11px}
svg .grid{stroke:#e2e8f0}svg .axis{stroke:#4a5568}svg .tick,svg .cat,svg .legend{fill:#2d3748}
svg .value{fill:#1a202c;font-size:10px}svg .empty{fill:#718096;font-size:14px}
table{border-collapse:collapse;margin:8px 0 4px;font-size:13px;max-width:100%}
th,td{border:1px solid #cbd5e0;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#edf2f7}td.name,th.name{text-align:left;overflow-wrap:anywhere;max-width:28em}
tr.total td{font-weight:bold;background:#f7fafc}
.note{color:#4a5568;font-size:12px}
@media print{body{margin:10mm}section{break-inside:avoid}.figure{overflow:visible}}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _text(value: str) -> str:
    """User text (a name, a code) for an HTML element: escaped, isolated (RTL), control characters shown as �."""
    shown = "".join("\ufffd" if (ord(ch) < 32 and ch not in "\t\n") or 0x7F <= ord(ch) < 0xA0 else ch for ch in value)
    return f'<bdi data-label="">{escape(shown)}</bdi>'


def _num(key: str, value: int) -> str:
    return f'<td data-metric="{attr(key)}">{value}</td>'


def _table(caption: str, head: Sequence[str], rows: Sequence[tuple[str, Sequence[tuple[str, int]]]],
           total: tuple[str, Sequence[tuple[str, int]]] | None) -> str:
    """A table: a text column then number cells (metric key, value); ``total`` a last bold row."""
    out = [f'<table><caption class="note">{escape(caption)}</caption><thead><tr>']
    out += [f'<th class="name">{escape(head[0])}</th>'] + [f"<th data-label=\"\">{escape(h)}</th>" for h in head[1:]]
    out.append("</tr></thead><tbody>")
    for label, cells in rows:
        out.append(f'<tr><td class="name">{label}</td>' + "".join(_num(k, v) for k, v in cells) + "</tr>")
    if total is not None:
        out.append(f'<tr class="total"><td class="name">{total[0]}</td>' + "".join(_num(k, v) for k, v in total[1]) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _agency_cell(code: str, name: str) -> str:
    return _text(code) + (" " + _text(name) if name else "")


def render(data: ReportData) -> str:
    """The page of ``data``."""
    m = data.metrics()
    codes = [c for c, _ in data.agencies]
    months = data.month_list()
    sections: list[str] = []

    def section(sid: str, title: str, note: str, chart: str, table: str) -> None:
        sections.append(f'<section id="{sid}"><h2>{escape(title)}</h2><p class="note">{escape(note)}</p>'
                        f'<div class="figure">{chart}</div>{table}</section>')

    # records archived per agency per month
    series = [Series(c, tuple(m[f"records.{c}.{mo}"] for mo in months), tuple(f"records.{c}.{mo}" for mo in months))
              for c in codes]
    rows = [(_agency_cell(c, n), [(f"records.{c}.{mo}", m[f"records.{c}.{mo}"]) for mo in months]
             + [(f"records.{c}.total", m[f"records.{c}.total"])]) for c, n in data.agencies]
    total = ('合计 total', [(f"records.total.{mo}", m[f"records.total.{mo}"]) for mo in months]
             + [("records.total", m["records.total"])])
    section("records", "各机构每月归档数量 Records archived per agency per month",
            "归档 = 封装成包，按封装时间（UTC）所在月份统计 · archived = packaged, by the month of packaged_at (UTC)",
            bar_chart("各机构每月归档数量 Records archived per month", months, series, chart_id="chart-records"),
            _table("归档数量 records archived", ["机构 agency", *months, "合计 total"], rows, total))

    # records by inventory state
    states = list(InventoryState)
    labels = [f"{STATE_LABELS[s]} {s.value}" for s in states]
    series = [Series(lab, tuple(m[f"packages.{c}.{s.value}"] for c in codes),
                     tuple(f"packages.{c}.{s.value}" for c in codes)) for s, lab in zip(states, labels)]
    rows = [(_agency_cell(c, n), [(f"packages.{c}.{s.value}", m[f"packages.{c}.{s.value}"]) for s in states]
             + [(f"packages.{c}.total", m[f"packages.{c}.total"])]) for c, n in data.agencies]
    total = ("合计 total", [(f"packages.total.{s.value}", m[f"packages.total.{s.value}"]) for s in states]
             + [("packages.total", m["packages.total"])])
    section("packages", "档案状态 Records by state",
            "每条记录计一次，取其最新状态（与 govarc status、清单相同）· each record once, in its most advanced state",
            bar_chart("档案状态 Records by state", codes, series, chart_id="chart-packages"),
            _table("各状态记录数 records by state", ["机构 agency", *labels, "合计 total"], rows, total))

    # exchange
    kinds = [("signed_for", "已签收 signed for"), ("returned", "已退回 returned"), ("overdue", "已逾期 overdue")]
    series = [Series(lab, tuple(m[f"exchange.{c}.{k}"] for c in codes), tuple(f"exchange.{c}.{k}" for c in codes))
              for k, lab in kinds]
    cols = [("messages", "发文 messages"), ("recipients", "收文单位 recipients"), ("delivered", "已送达未答复 delivered"),
            *kinds]
    rows = [(_agency_cell(c, n), [(f"exchange.{c}.{k}", m[f"exchange.{c}.{k}"]) for k, _ in cols])
            for c, n in data.agencies]
    section("exchange", "公文交换 Exchange: signed for / returned / overdue per sending agency",
            "按发文机构统计收文单位的答复；逾期 = 未答复且已过办理期限 · recipients' answers per sender; "
            "overdue = not answered, past the deadline",
            bar_chart("公文交换 Exchange answers", codes, series, chart_id="chart-exchange"),
            _table("公文交换 exchange", ["机构 agency", *(lab for _, lab in cols)], rows, None))

    # transfers
    kinds = [("accepted", "已接收 accepted"), ("rejected", "有退回 rejected"), ("awaiting", "待回执 awaiting receipt")]
    series = [Series(lab, tuple(m[f"transfers.{c}.{k}"] for c in codes), tuple(f"transfers.{c}.{k}" for c in codes))
              for k, lab in kinds]
    cols = [*kinds, ("packages_accepted", "包 已接收 packages accepted"),
            ("packages_duplicate", "包 已存在 packages duplicate"), ("packages_rejected", "包 已退回 packages rejected")]
    rows = [(_agency_cell(c, n), [(f"transfers.{c}.{k}", m[f"transfers.{c}.{k}"]) for k, _ in cols])
            for c, n in data.agencies]
    section("transfers", "移交批次 Transfer batches accepted / rejected",
            "已接收 = 回执中无退回的包；有退回 = 回执退回至少一个包；待回执 = 已发布未收到回执 · "
            "accepted: no package rejected; rejected: at least one package rejected; awaiting: published, no receipt",
            bar_chart("移交批次 Transfer batches", codes, series, chart_id="chart-transfers"),
            _table("移交批次 transfer batches", ["机构 agency", *(lab for _, lab in cols)], rows, None))

    # warnings
    wcodes = data.warning_codes()
    series = [Series("警告 warnings", tuple(m[f"warnings.{w}"] for w in wcodes), tuple(f"warnings.{w}" for w in wcodes))]
    rows = [(_text(w), [(f"warnings.{w}", m[f"warnings.{w}"]), (f"warnings.{w}.records", m[f"warnings.{w}.records"])])
            for w in wcodes]
    total = ("合计 total", [("warnings.total", m["warnings.total"])])
    section("warnings", "警告（按代码）Warnings by code",
            "登记时记录的警告（specs/findings.md）· warnings recorded at ingest",
            bar_chart("警告 Warnings by code", wcodes, series, chart_id="chart-warnings"),
            _table("警告 warnings", ["代码 code", "警告 warnings", "记录 records"], rows, total))

    agencies = "、".join(_agency_cell(c, n) for c, n in data.agencies) or "—"
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>电子档案统计报告 govarc report</title>"
            f"<style>{CSS}</style></head><body><header><h1>电子档案统计报告 Electronic records report</h1>"
            f'<p class="meta">生成时间 generated: <span data-label="">{escape(data.generated_at)}</span></p>'
            f'<p class="meta">机构 agencies: {agencies}</p></header>'
            + "".join(sections) + "</body></html>\n")
