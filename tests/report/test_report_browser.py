"""`govarc report` opened in Debian's headless Chromium: it renders without errors or network
requests, and every number on the page is the catalog's (computed again in tests/report/expected.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from govarc.workspace import Workspace
from tests.report.browser import ARTIFACTS, render
from tests.report.conftest import cli, report_city  # noqa: F401  (fixture)
from tests.report.expected import expected_metrics


def _check_page(index: Path, expected: dict[str, int], name: str) -> None:
    seen = render(index, name)
    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.requests == [index.resolve().as_uri()]  # the page alone: no asset, no network
    assert seen.title == "电子档案统计报告 govarc report"
    shown: dict[str, set[str]] = {}
    for key, text in seen.metrics:
        shown.setdefault(key, set()).add(text.strip())
    assert {k: v for k, v in shown.items() if len(v) != 1} == {}  # a number shown twice agrees with itself
    assert {k: int(next(iter(v))) for k, v in shown.items()} == expected
    assert seen.unmarked == []  # every number on the page is marked (a metric, a tick or a label)
    assert len(seen.chart_sizes) == 5 and all(w > 100 and h > 100 for w, h in seen.chart_sizes)
    for heading in ("各机构每月归档数量", "档案状态", "公文交换", "移交批次", "警告（按代码）"):
        assert heading in seen.body_text
    png, pdf = ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-"
    import pypdf

    assert len(pypdf.PdfReader(str(pdf)).pages) >= 1


def test_the_city_report_renders_with_the_catalogs_numbers(report_city: Path, tmp_path: Path) -> None:
    ws = Workspace.open(report_city / "home")
    out = tmp_path / "报告 report"
    r = cli(ws, "--json", "report", "--out", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["path"] == str(out / "index.html") and sorted(p.name for p in out.iterdir()) == ["index.html"]
    now = dt.datetime.fromisoformat(doc["generated_at"])
    expected = expected_metrics(ws.catalog_path, ["SZF", "CZJ"], now)
    assert doc["metrics"] == expected
    # the scenario of the city, as tests/report/conftest.py built it
    assert {k: expected[k] for k in ("transfers.SZF.rejected", "transfers.SZF.packages_rejected", "transfers.CZJ.accepted",
                                     "exchange.SZF.signed_for", "exchange.SZF.returned", "exchange.SZF.overdue",
                                     "exchange.SZF.delivered", "packages.SZF.registered", "packages.total")} == {
        "transfers.SZF.rejected": 1, "transfers.SZF.packages_rejected": 1, "transfers.CZJ.accepted": 1,
        "exchange.SZF.signed_for": 1, "exchange.SZF.returned": 1, "exchange.SZF.overdue": 1,
        "exchange.SZF.delivered": 2, "packages.SZF.registered": 3, "packages.total": 11}
    assert expected["warnings.total"] >= 2
    _check_page(out / "index.html", expected, "report-city")


def test_one_agency_only(report_city: Path, tmp_path: Path) -> None:
    ws = Workspace.open(report_city / "home")
    r = cli(ws, "report", "--out", str(tmp_path / "r"), "--agency", "CZJ", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["agencies"] == ["CZJ"]
    assert doc["metrics"] == expected_metrics(ws.catalog_path, ["CZJ"], dt.datetime.fromisoformat(doc["generated_at"]))
    assert "SZF" not in (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
