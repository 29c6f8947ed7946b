"""`govarc report` on bad input: hostile text in the catalog and the configuration is escaped and
renders, an empty catalog gives zeros, an --out that exists is refused (exit 2) and left as it was,
an unknown agency exits 2 with the valid choices."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.workspace import Workspace
from tests.catalog.conftest import snapshot
from tests.citykit import make_city
from tests.report.browser import render
from tests.report.conftest import cli, copy_city, report_city  # noqa: F401  (fixture)
from tests.report.expected import expected_metrics

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "A&B &amp; &lt;'quotes' \"double\"",
    "\u202eRTL\u202c مكتب السجلات",
    "长" * 3000,
    "x\x01\x7f</svg><svg onload=alert(3)>",
]


def _hostile_catalog(ws: Workspace) -> list[str]:
    """Give SZF's records hostile agency codes, warning codes and months; the hostile codes."""
    conn = sqlite3.connect(ws.catalog_path)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM records WHERE agency='SZF' ORDER BY id")]
        for rid, text in zip(ids, HOSTILE):
            conn.execute("UPDATE records SET agency=? WHERE id=?", (text, rid))
        warnings = json.dumps([{"code": t, "path": t, "message": t} for t in HOSTILE], ensure_ascii=False)
        conn.execute("UPDATE records SET warnings=? WHERE id=?", (warnings, ids[-1]))
        conn.execute("UPDATE records SET packaged_at='2024-03-15T10:00:00+00:00' WHERE id=?", (ids[-1],))
        conn.commit()
        return sorted({t for t in HOSTILE[: len(ids)]})
    finally:
        conn.close()


def test_hostile_text_is_escaped_and_renders(report_city: Path, tmp_path: Path) -> None:
    ws = copy_city(report_city, tmp_path)
    toml = ws.home / "govarc.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'name = "柳州市财政局"', 'name = "财政局 <script>alert(4)</script> & \\"引号\\" \u202eRTL"'), encoding="utf-8")
    ws = Workspace.open(ws.home)
    hostile = _hostile_catalog(ws)
    out = tmp_path / "r"
    r = cli(ws, "--json", "report", "--out", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    agencies = ["SZF", "CZJ", *sorted(hostile)]
    assert doc["agencies"] == agencies
    expected = expected_metrics(ws.catalog_path, agencies, dt.datetime.fromisoformat(doc["generated_at"]))
    assert doc["metrics"] == expected and expected["records.total.2024-03"] == 1
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html and "onload=alert" not in html.replace("onload=alert(3)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    seen = render(out / "index.html", "report-hostile")
    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.requests == [(out / "index.html").resolve().as_uri()]
    assert {k: int(t) for k, t in seen.metrics} == expected
    assert seen.unmarked == []
    assert "<script>alert(1)</script>" in seen.body_text and "财政局 <script>alert(4)</script>" in seen.body_text
    assert "A&B &amp; &lt;'quotes' \"double\"" in seen.body_text and "长" * 3000 in seen.body_text


def test_an_empty_catalog_gives_a_report_of_zeros(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "home", make_city(tmp_path, n=1))
    out = tmp_path / "r"
    r = cli(ws, "--json", "report", "--out", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["agencies"] == ["SZF"] and set(doc["metrics"].values()) == {0}
    assert doc["metrics"] == expected_metrics(ws.catalog_path, ["SZF"], dt.datetime.now(dt.timezone.utc))
    seen = render(out / "index.html", "report-empty")
    assert seen.console_errors == [] and seen.page_errors == [] and seen.unmarked == []
    assert seen.body_text.count("无数据 no data") == 2  # no month, no warning code
    text = cli(ws, "report", "--out", str(tmp_path / "r2"))
    assert text.exit_code == 0 and f"report: {tmp_path / 'r2' / 'index.html'}" in text.output


def _dir(p: Path) -> None:
    p.mkdir()


def _file(p: Path) -> None:
    p.write_text("mine", encoding="utf-8")


def _report(p: Path) -> None:
    p.mkdir()
    (p / "index.html").write_text("an older report", encoding="utf-8")


def _busy(p: Path) -> None:
    p.mkdir()
    (p / "index.html").write_text("an older report", encoding="utf-8")
    (p / "notes.txt").write_text("not the report's", encoding="utf-8")


def _link(p: Path) -> None:
    target = p.parent / "elsewhere"
    _report(target)
    p.symlink_to(target)


def _dangling(p: Path) -> None:
    p.symlink_to(p.parent / "nowhere")


def _fifo(p: Path) -> None:
    os.mkfifo(p)


EXISTING: list[tuple[str, Callable[[Path], None], bool]] = [  # name, maker, replaced with --force
    ("empty-folder", _dir, True), ("file", _file, False), ("older-report", _report, True),
    ("folder-with-more", _busy, False), ("symlink", _link, False), ("dangling-symlink", _dangling, False),
    ("fifo", _fifo, False),
]


@pytest.mark.parametrize("name, make, replaced", EXISTING, ids=[e[0] for e in EXISTING])
def test_an_out_that_exists_is_refused_unless_force(report_city: Path, tmp_path: Path, name: str,
                                                      make: Callable[[Path], None], replaced: bool) -> None:
    ws = Workspace.open(report_city / "home")
    place = tmp_path / "place"
    place.mkdir()
    out = place / "out"
    make(out)
    before = snapshot(place)
    r = cli(ws, "report", "--out", str(out))
    assert r.exit_code == 2 and r.output.strip() == f"govarc: error: {out}: exists; pass --force to replace it"
    assert snapshot(place) == before
    forced = cli(ws, "--json", "report", "--out", str(out), "--force")
    if replaced:
        assert forced.exit_code == 0, forced.output
        assert sorted(p.name for p in out.iterdir()) == ["index.html"]
        assert "电子档案统计报告" in (out / "index.html").read_text(encoding="utf-8")
        assert sorted(p.name for p in place.iterdir()) == ["out"]  # no temporary left beside it
    else:
        assert forced.exit_code == 2
        assert json.loads(forced.stdout)["error"]["path"] == str(out)
        assert snapshot(place) == before


def test_the_home_itself_is_never_replaced(report_city: Path, tmp_path: Path) -> None:
    ws = copy_city(report_city, tmp_path)
    before = snapshot(ws.home)
    r = cli(ws, "report", "--out", str(ws.home), "--force")
    assert r.exit_code == 2 and "holds more than a report (index.html); not replaced" in r.output
    assert snapshot(ws.home) == before


@pytest.mark.parametrize("args", [("--agency", "NOPE"), ("--agency", "SZF", "--agency", "../x"), ("--agency", "")])
def test_an_unknown_agency_exits_2_with_the_choices(report_city: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    ws = Workspace.open(report_city / "home")
    r = cli(ws, "report", "--out", str(tmp_path / "r"), *args)
    assert r.exit_code == 2 and "choose from: CZJ, SZF" in r.output
    assert not (tmp_path / "r").exists()


def test_the_default_out_is_under_the_workspace(report_city: Path, tmp_path: Path) -> None:
    ws = copy_city(report_city, tmp_path)
    r = cli(ws, "--json", "report")
    assert r.exit_code == 0, r.output
    page = Path(json.loads(r.output)["path"])
    assert page.parent.parent == ws.home / "reports" and page.is_file()
