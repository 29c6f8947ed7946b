"""Renditions of the transfer list and the receipt for people: CSV and a printable HTML 登记表.

The XML and its signature are the record; these are views of it. The CSV is UTF-8 with a BOM
(so spreadsheet programs read the Chinese right) and safe against formula injection: a text cell
that starts with ``= + - @``, a tab or a carriage return gets a leading ``'``. The HTML is one
self-contained A4 page set (CSS ``@page``) of the 电子档案移交与接收登记表 (DA/T 93) with Chinese and
English labels; every value is escaped.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence

from govarc.transfer.documents import (
    CARRIER_ONLINE,
    PROPERTIES,
    PROPERTY_ENGLISH,
    CheckResult,
    Receipt,
    TransferList,
    Verdict,
)

CSV_HEADERS = (
    "序号 No.", "档号 Archival code", "题名 Title", "年度 Year", "保管期限 Retention", "文件数 Files",
    "字节数 Bytes", "信息包摘要 SHA-256", "标签清单摘要 Tag-manifest SHA-256", "对象键 Object key",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

RESULT_LABELS = {
    CheckResult.PASSED: "通过 passed", CheckResult.FAILED: "不通过 failed",
    CheckResult.NOT_PERFORMED: "未检测 not performed", CheckResult.WARNING: "警告 warning",
}
VERDICT_LABELS = {Verdict.ACCEPTED: "接收 accepted", Verdict.REJECTED: "退回 rejected", Verdict.DUPLICATE: "重复 duplicate"}
RETENTION_LABELS = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}


def csv_cell(value: object) -> str:
    """One CSV cell: text that a spreadsheet would run as a formula is prefixed with ``'``."""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def transfer_list_csv(tl: TransferList) -> bytes:
    """The list's packages as CSV: UTF-8 with a BOM, CRLF lines, a Chinese + English header row."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_HEADERS)
    for i, p in enumerate(tl.packages, 1):
        w.writerow([csv_cell(v) for v in (i, p.archival_code, p.title, p.year, p.retention, p.file_count, p.size,
                                          p.sha256, p.tagmanifest_sha256, p.key)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_CSS = """
@page { size: A4; margin: 15mm 12mm; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", serif; font-size: 10.5pt; color: #000; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 2mm; }
h1 small, th small, td small { display: block; font-size: 8pt; font-weight: normal; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; page-break-after: avoid; }
table { width: 100%; border-collapse: collapse; margin-bottom: 4mm; }
th, td { border: 1px solid #000; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
th { background: #eee; font-weight: bold; }
tr { page-break-inside: avoid; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; word-break: break-all; }
.num { text-align: right; }
.blank { height: 12mm; }
"""


def _page(title: str, english: str, body: Iterable[str]) -> str:
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        f"<h1>{_e(title)}<small>{_e(english)}</small></h1>\n",
        *body,
        "</body>\n</html>\n",
    ])


def _rows(rows: Sequence[tuple[str, str, str]]) -> str:
    """A two-column table of (Chinese label, English label, value already escaped)."""
    cells = "".join(f"<tr><th>{_e(zh)}<small>{_e(en)}</small></th><td>{value}</td></tr>\n" for zh, en, value in rows)
    return f"<table>\n{cells}</table>\n"


def _register(tl: TransferList) -> str:
    archives = tl.archives_name or ""
    return _rows([
        ("交接工作名称", "Transfer", _e(tl.work_name)),
        ("批次号", "Batch", f"<span class=\"mono\">{_e(tl.batch_id)}</span>"),
        ("内容描述", "Description", _e(tl.description)),
        ("移交单位", "Transferring agency", f"{_e(tl.agency_name)}（{_e(tl.agency_code)}，全宗 {_e(tl.fonds)}）"),
        ("接收单位", "Receiving archives", f"{_e(archives)}（{_e(tl.archives_code)}）" if archives else _e(tl.archives_code)),
        ("数量", "Quantity", f"{tl.item_count} 件 items，{tl.file_count} 个文件 files"),
        ("数据量", "Data volume", f"{_e(tl.data_gb)} GB（{tl.total_bytes} 字节 bytes）"),
        ("载体", "Carrier", f"{_e(CARRIER_ONLINE)} online"),
        ("数字摘要", "Digest", f"{_e(tl.digest_algorithm)}: <span class=\"mono\">{_e(tl.batch_digest)}</span>"),
        ("形成时间", "Created", _e(tl.created_at)),
    ])


def _checks_table(received: dict[str, str] | None) -> str:
    head = ("<tr><th>检验项目<small>Check</small></th><th>移交单位<small>Transferring agency</small></th>"
            "<th>接收单位<small>Receiving archives</small></th></tr>\n")
    rows = []
    for digit, prop in PROPERTIES.items():
        label = "准确性（真实性）检验" if digit == "1" else f"{prop}检验"
        ours = (received or {}).get(prop, "")
        rows.append(f"<tr><td>{_e(label)}<small>{_e(PROPERTY_ENGLISH[prop])} (DA/T 70 {digit}-x)</small></td>"
                    f"<td class=\"blank\"></td><td>{ours}</td></tr>\n")
    return f"<table>\n{head}{''.join(rows)}</table>\n"


def _signatures_table(received_at: str | None = None) -> str:
    head = ("<tr><th></th><th>移交单位<small>Transferring agency</small></th>"
            "<th>接收单位<small>Receiving archives</small></th></tr>\n")
    rows = []
    for zh, en in (("填表人", "Filled in by"), ("审核人", "Checked by"), ("单位（印章）", "Seal"), ("日期", "Date")):
        theirs = _e(received_at) if received_at and zh == "日期" else ""
        rows.append(f"<tr><th>{_e(zh)}<small>{_e(en)}</small></th><td class=\"blank\"></td><td class=\"blank\">{theirs}</td></tr>\n")
    return f"<table>\n{head}{''.join(rows)}</table>\n"


def _package_table(tl: TransferList) -> str:
    head = ("<tr><th>序号<small>No.</small></th><th>档号<small>Archival code</small></th><th>题名<small>Title</small></th>"
            "<th>保管期限<small>Retention</small></th><th>文件数<small>Files</small></th><th>字节数<small>Bytes</small></th>"
            "<th>信息包摘要<small>SHA-256</small></th></tr>\n")
    rows = "".join(
        f"<tr><td class=\"num\">{i}</td><td>{_e(p.archival_code)}</td><td>{_e(p.title)}</td>"
        f"<td>{_e(RETENTION_LABELS.get(p.retention, p.retention))}</td><td class=\"num\">{p.file_count}</td>"
        f"<td class=\"num\">{p.size}</td><td class=\"mono\">{_e(p.sha256)}</td></tr>\n"
        for i, p in enumerate(tl.packages, 1)
    )
    return f"<table>\n{head}{rows}</table>\n"


def transfer_list_html(tl: TransferList) -> str:
    """The printable 登记表 of a transfer list: the register, the checks and signature boxes, the packages."""
    return _page("电子档案移交与接收登记表", "Electronic records transfer and receipt register", [
        _register(tl),
        "<h2>检验情况 Checks</h2>\n", _checks_table(None),
        _signatures_table(),
        "<h2>移交清单 Transfer list</h2>\n", _package_table(tl),
    ])


def _summaries(r: Receipt) -> dict[str, str]:
    """Per DA/T 70 property, the results of the archives' checks over all packages (escaped HTML)."""
    by_prop: dict[str, Counter[CheckResult]] = {p: Counter() for p in PROPERTIES.values()}
    for v in r.verdicts:
        for c in v.checks:
            by_prop.setdefault(c.property, Counter())[c.result] += 1
    out = {}
    for prop, counts in by_prop.items():
        parts = [f"{_e(RESULT_LABELS[res])}: {counts[res]}" for res in CheckResult if counts[res]]
        out[prop] = "<br>".join(parts) if parts else "—"
    return out


def receipt_html(r: Receipt, tl: TransferList) -> str:
    """The printable 登记表 of a receipt, with both parties' columns and every package's verdict."""
    titles = {p.key: p.title for p in tl.packages}
    receipt_rows = _rows([
        ("接收单位", "Receiving archives", f"{_e(r.archives_name)}（{_e(r.archives_code)}）"),
        ("接收时间", "Received", _e(r.received_at)),
        ("所答复移交清单摘要", "Transfer list digest", f"SHA-256: <span class=\"mono\">{_e(r.list_sha256)}</span>"),
        ("接收结论", "Verdicts", f"接收 accepted {r.accepted} 件，退回 rejected {r.rejected} 件，重复 duplicate "
                                f"{r.duplicate} 件（共 {len(r.verdicts)} 件）"),
        ("接收数据量", "Bytes accepted", f"{r.accepted_bytes} 字节 bytes"),
    ])
    head = ("<tr><th>序号<small>No.</small></th><th>档号<small>Archival code</small></th><th>题名<small>Title</small></th>"
            "<th>结论<small>Verdict</small></th><th>未通过项目<small>Failed checks</small></th></tr>\n")
    rows = []
    for i, v in enumerate(r.verdicts, 1):
        failed = "<br>".join(f"{_e(c.code)} {_e(c.name)}（{_e(c.property)}）" + (f"：{_e(c.message)}" if c.message else "")
                             for c in v.failed) or "—"
        rows.append(f"<tr><td class=\"num\">{i}</td><td>{_e(v.archival_code)}</td><td>{_e(titles.get(v.key, ''))}</td>"
                    f"<td>{_e(VERDICT_LABELS[v.verdict])}</td><td>{failed}</td></tr>\n")
    return _page("电子档案移交与接收登记表", "Electronic records transfer and receipt register", [
        _register(tl),
        "<h2>接收回执 Receipt</h2>\n", receipt_rows,
        "<h2>检验情况 Checks</h2>\n", _checks_table(_summaries(r)),
        _signatures_table(r.received_at),
        "<h2>逐件接收结论 Verdict per package</h2>\n", f"<table>\n{head}{''.join(rows)}</table>\n",
    ])
