"""`govarc inventory` over a real city in every transfer state: each format, filters, bad options."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from lxml import etree, html as lhtml

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.catalog.summary import STATE_LABELS, InventoryState, state_counts
from govarc.inventory.columns import COLUMNS, TOTAL_COLUMNS, data_gb
from govarc.workspace import Workspace
from tests.inventory.conftest import EXPECTED_STATES, run

HEADER = [c.header for c in COLUMNS]
TOTAL_HEADER = [c.header for c in TOTAL_COLUMNS]


def catalog_totals(ws: Workspace, where: str = "", params: tuple[object, ...] = ()) -> dict[tuple[str, int], tuple[int, int, int]]:
    """(agency, year) -> (records, files, bytes), counted by SQL of the test's own."""
    conn = sqlite3.connect(ws.catalog_path)
    try:
        rows = conn.execute(
            "SELECT r.agency, r.year, COUNT(DISTINCT r.id), COUNT(f.position), COALESCE(SUM(f.size), 0) "
            f"FROM records r LEFT JOIN record_files f ON f.record_id = r.id {where} GROUP BY r.agency, r.year",
            params).fetchall()
    finally:
        conn.close()
    return {(a, y): (n, f, b) for a, y, n, f, b in rows}


def read_csv(data: bytes) -> tuple[list[list[str]], list[list[str]]]:
    """The records table (header first) and the totals table (header first) of a CSV inventory."""
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    blank = rows.index([])
    return rows[:blank], rows[blank + 1:]


def test_csv_has_a_bom_both_headers_every_record_and_the_catalogs_totals(states_city: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "inv.csv"
    r = run(states_city.home, "inventory", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "11 records 件" in r.output and str(out) in r.output
    records, totals = read_csv(out.read_bytes())
    assert records[0] == HEADER and records[0][2] == "档号 Archival code"
    body = records[1:]
    assert len(body) == 11
    states: dict[tuple[str, str], int] = {}
    for row in body:
        states[(row[0], row[12].split()[1])] = states.get((row[0], row[12].split()[1]), 0) + 1
        label, value = row[12].split()
        assert STATE_LABELS[InventoryState(value)] == label
    assert states == EXPECTED_STATES
    # ordered by agency, year, 档号
    keys = [(row[0], int(row[1]), row[2]) for row in body]
    assert keys == sorted(keys)
    # the hostile title came through ingest and is neutralised; the package digests are the catalog's
    [hostile] = [row for row in body if "HYPERLINK" in row[3]]
    assert hostile[3].startswith("'=HYPERLINK(") and hostile[12] == "已登记 registered" and hostile[13] == ""
    with open_catalog(states_city.catalog_path) as cat:
        digests = dict(cat.conn.execute("SELECT archival_code, COALESCE(package_tagmanifest_sha256, '') FROM records"))
    assert {row[2]: row[13] for row in body} == digests
    # totals per agency/year and the grand total equal the catalog's
    assert totals[0] == TOTAL_HEADER
    expected = catalog_totals(states_city)
    got = {(t[0], int(t[1])): (int(t[2]), int(t[3]), int(t[5])) for t in totals[1:-1]}
    assert got == expected
    grand = totals[-1]
    assert grand[0] == "总计 Total" and grand[1] == ""
    assert (int(grand[2]), int(grand[3]), int(grand[5])) == tuple(map(sum, zip(*expected.values())))
    assert grand[6] == data_gb(int(grand[5])) == "0.000"


def test_xlsx_opens_with_openpyxl_frozen_header_and_totals_equal_the_catalogs(states_city: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "inv.xlsx"
    r = run(states_city.home, "inventory", "--format", "xlsx", "--out", str(out))
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    ws = wb["目录"]
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["D"].width > 20 and ws.column_dimensions["N"].width > 60
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    body = rows[1:12]
    assert len(body) == 11 and rows[12] == (None,) * len(HEADER)
    assert all(isinstance(row[9], int) and isinstance(row[11], int) for row in body)
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)  # never a formula
    [hostile] = [row for row in body if "HYPERLINK" in str(row[3])]
    assert str(hostile[3]).startswith("'=HYPERLINK(")
    assert list(rows[13][:len(TOTAL_HEADER)]) == TOTAL_HEADER
    totals = rows[14:]
    got = {(t[0], t[1]): (t[2], t[3], t[5]) for t in totals[:-1]}
    expected = catalog_totals(states_city)
    assert got == expected
    assert totals[-1][0] == "总计 Total" and totals[-1][2] == 11
    assert totals[-1][5] == sum(v[2] for v in expected.values()) and totals[-1][6] == "0.000"


def test_json_parses_and_matches_the_state_counts(states_city: Workspace) -> None:
    r = run(states_city.home, "inventory", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [c["key"] for c in doc["columns"]] == [c.key for c in COLUMNS]
    assert doc["inventory"]["filters"] == {}
    with open_catalog(states_city.catalog_path) as cat:
        counts = {(c.agency, c.state.value): c.records for c in state_counts(cat)}
    got: dict[tuple[str, str], int] = {}
    for rec in doc["records"]:
        got[(rec["agency"], rec["state"])] = got.get((rec["agency"], rec["state"]), 0) + 1
        assert rec["state_label"] == STATE_LABELS[InventoryState(rec["state"])]
    assert got == counts == EXPECTED_STATES
    hostile = [rec for rec in doc["records"] if "HYPERLINK" in rec["title"]]
    assert hostile[0]["title"].startswith("=HYPERLINK(")  # JSON carries the text as it is
    assert doc["grand_total"]["items"] == 11 and doc["grand_total"]["agency"] is None
    assert {(t["agency"], t["year"]): (t["items"], t["files"], t["bytes"]) for t in doc["totals"]} == catalog_totals(states_city)
    # --json alone means the JSON format on stdout
    assert json.loads(run(states_city.home, "--json", "inventory").stdout)["grand_total"]["items"] == 11


def test_html_is_a_printable_a4_page_with_its_header_repeated(states_city: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "inv.html"
    r = run(states_city.home, "inventory", "--format", "html", "--out", str(out), "--agency", "SZF")
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    doc = lhtml.document_fromstring(text)
    css = doc.xpath("//style")[0].text
    assert "@page" in css and "A4" in css and "thead { display: table-header-group; }" in css
    assert not doc.xpath("//script | //link | //img | //*[@src] | //*[@href]") and "url(" not in css
    records, totals = doc.xpath("//table")
    assert len(records.xpath("./thead/tr")) == 1
    heads = [" ".join(th.text_content().split(None, 0)) for th in records.xpath("./thead/tr/th")]
    assert [th.text for th in records.xpath("./thead/tr/th")] == [c.zh for c in COLUMNS]
    assert len(heads) == len(COLUMNS)
    body = records.xpath("./tbody/tr")
    assert len(body) == 8 and {tr[0].text for tr in body} == {"SZF"}
    [hostile] = [tr for tr in body if "HYPERLINK" in (tr[3].text or "")]
    assert hostile[3].text.startswith("=HYPERLINK(")  # escaped by the serialiser, not neutralised
    rows = totals.xpath("./tbody/tr")
    assert rows[-1].get("class") == "grand" and rows[-1][0].text == "总计 Total" and rows[-1][2].text == "8"
    expected = {k: v for k, v in catalog_totals(states_city).items() if k[0] == "SZF"}
    assert {(tr[0].text, int(tr[1].text)): (int(tr[2].text), int(tr[3].text), int(tr[5].text)) for tr in rows[:-1]} == expected
    # the whole page parses as XML too (well formed, nothing left unescaped)
    etree.fromstring(text.split("\n", 1)[1].encode())


@pytest.mark.parametrize(("args", "expected"), [
    (("--agency", "SZF", "--state", "accepted"), {("SZF", "accepted"): 4}),
    (("--agency", "SZF", "--state", "transferred"), {("SZF", "transferred"): 2}),
    (("--state", "rejected"), {("SZF", "rejected"): 1}),
    (("--state", "packaged"), {("CZJ", "packaged"): 3}),
    (("--agency", "CZJ", "--retention", "d30", "--year", "2024"), {("CZJ", "packaged"): 3}),
    (("--agency", "SZF", "--retention", "D30"), {("SZF", "transferred"): 1}),
    (("--agency", "CZJ", "--state", "accepted"), {}),
    (("--year", "1999"), {}),
    (("--since", "2000-01-01", "--agency", "SZF"), {("SZF", "accepted"): 4, ("SZF", "rejected"): 1,
                                                    ("SZF", "transferred"): 2, ("SZF", "registered"): 1}),
    (("--since", "2999-01-01"), {}),
])
def test_filters_combine(states_city: Workspace, args: tuple[str, ...], expected: dict[tuple[str, str], int]) -> None:
    r = run(states_city.home, "inventory", "--format", "json", *args)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    got: dict[tuple[str, str], int] = {}
    for rec in doc["records"]:
        got[(rec["agency"], rec["state"])] = got.get((rec["agency"], rec["state"]), 0) + 1
    assert got == expected
    assert doc["grand_total"]["items"] == sum(expected.values())
    assert sum(t["items"] for t in doc["totals"]) == sum(expected.values())


@pytest.mark.parametrize(("args", "shown"), [
    (("--format", "pdf"), "'csv', 'xlsx', 'json', 'html'"),
    (("--format", "XLSX "), "'csv', 'xlsx', 'json', 'html'"),
    (("--state", "done"), "'accepted', 'rejected', 'transferred', 'sent', 'signed', 'packaged', 'registered'"),
    (("--state", "Accepted"), "'accepted', 'rejected'"),
    (("--retention", "D5"), "'Y', 'D30', 'D10'"),
    (("--retention", "永久"), "'Y', 'D30', 'D10'"),
    (("--year", "abc"), "--year"),
    (("--year", "99999"), "--year"),
    (("--year", "-1"), "--year"),
    (("--since", "2024-13-01"), "--since"),
    (("--since", "yesterday"), "--since"),
    (("--since", "2024-02-30"), "--since"),
    (("--agency", "NOPE"), "choose from: SZF, CZJ"),
    (("--agency", "../SZF"), "choose from: SZF, CZJ"),
    (("--format", "xlsx"), "needs --out"),
])
def test_bad_options_exit_2_naming_the_valid_choices(states_city: Workspace, tmp_path: Path,
                                                     args: tuple[str, ...], shown: str) -> None:
    r = run(states_city.home, "inventory", *args)
    assert r.exit_code == 2, r.output
    assert shown.lower() in r.stderr.lower() and "Traceback" not in r.output
    assert r.stdout == ""


def test_an_out_that_exists_is_refused_unless_force(states_city: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "inv.csv"
    out.write_bytes(b"keep me")
    for fmt in ("csv", "xlsx", "json", "html"):
        r = run(states_city.home, "inventory", "--format", fmt, "--out", str(out))
        assert r.exit_code == 2, r.output
        assert r.stderr.strip().splitlines() == [f"Error: --out {out} exists; give --force to replace it"]
        assert out.read_bytes() == b"keep me"
    r = run(states_city.home, "inventory", "--out", str(out), "--force")
    assert r.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.csv"]  # no temporary file left


def test_a_dangling_link_as_out_is_refused_unless_force_and_its_target_untouched(states_city: Workspace, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    link = tmp_path / "inv.csv"
    link.symlink_to(target)
    r = run(states_city.home, "inventory", "--out", str(link))
    assert r.exit_code == 2 and not target.exists()
    r = run(states_city.home, "inventory", "--out", str(link), "--force")
    assert r.exit_code == 0 and not link.is_symlink() and not target.exists()


def test_a_fifo_as_out_is_refused_without_blocking_and_replaced_only_with_force(states_city: Workspace, tmp_path: Path) -> None:
    import os
    import stat

    fifo = tmp_path / "inv.csv"
    os.mkfifo(fifo)
    r = run(states_city.home, "inventory", "--out", str(fifo))
    assert r.exit_code == 2 and "exists" in r.stderr and stat.S_ISFIFO(fifo.lstat().st_mode)
    r = run(states_city.home, "inventory", "--out", str(fifo), "--force")  # replaced by a rename, never opened
    assert r.exit_code == 0 and fifo.is_file() and fifo.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("where", ["folder", "missing-parent", "parent-is-file"])
def test_an_out_that_cannot_be_a_file_is_refused(states_city: Workspace, tmp_path: Path, where: str) -> None:
    if where == "folder":
        out = tmp_path / "dir"
        out.mkdir()
    elif where == "missing-parent":
        out = tmp_path / "no" / "such" / "inv.csv"
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "inv.csv"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    r = run(states_city.home, "inventory", "--out", str(out), "--force")
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and str(out) in r.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.fixture(scope="module")
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("empty")
    (root / "city.toml").write_text('[[agency]]\ncode = "SZF"\nname = "柳州市人民政府办公室"\nfonds = "0012"\nunit = "BGS"\n',
                                    encoding="utf-8")
    ws, _ = init_workspace(root / "home", root / "city.toml")
    return ws.home


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "html"])
def test_no_matching_record_gives_an_empty_inventory_with_totals_0(empty_home: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"empty.{fmt}"
    r = run(empty_home, "inventory", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "0 records 件, 0 files, 0.000 GB" in r.output
    if fmt == "csv":
        records, totals = read_csv(out.read_bytes())
        assert records == [HEADER] and totals == [TOTAL_HEADER, ["总计 Total", "", "0", "0", "0", "0", "0.000"]]
    elif fmt == "xlsx":
        rows = list(openpyxl.load_workbook(out)["目录"].iter_rows(values_only=True))
        assert list(rows[0]) == HEADER and rows[-1][:7] == ("总计 Total", None, 0, 0, 0, 0, "0.000")
    elif fmt == "json":
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["records"] == [] and doc["totals"] == []
        assert doc["grand_total"] == {"agency": None, "year": None, "items": 0, "files": 0, "pages": 0, "bytes": 0,
                                      "data_gb": "0.000"}
    else:
        doc = lhtml.document_fromstring(out.read_text(encoding="utf-8"))
        records, totals = doc.xpath("//table")
        assert records.xpath("./tbody/tr") == [] and [td.text for td in totals.xpath("./tbody/tr/td")][:3] == ["总计 Total", None, "0"]


def test_help_has_an_example(states_city: Workspace) -> None:
    r = run(states_city.home, "inventory", "--help")
    assert r.exit_code == 0 and "Example:" in r.output and "govarc inventory --agency SZF" in r.output
