"""Ingest end to end on real PDFs: codes, idempotency, versions, refusals, concurrency."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from govarc.catalog.db import open_catalog
from tests.citykit import ingest_into as run
from tests.citykit import make_doc, make_pdf


def codes(ws):
    with open_catalog(ws.catalog_path) as cat:
        return [r[0] for r in cat.conn.execute("SELECT archival_code FROM records ORDER BY id")]


def tree_digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_archival_codes_are_gap_free_per_retention(ws, tmp_path):
    drop = tmp_path / "in"
    for i in range(1, 6):
        make_doc(drop, i, retention="Y" if i <= 3 else "D10")
    report = run(ws, drop)
    assert report.count("registered") == 5 and not report.refused
    assert codes(ws) == [
        "0012-WS·2024-Y-BGS-0001", "0012-WS·2024-Y-BGS-0002", "0012-WS·2024-Y-BGS-0003",
        "0012-WS·2024-D10-BGS-0001", "0012-WS·2024-D10-BGS-0002",
    ]


def test_same_file_twice_is_one_record_and_input_is_untouched(ws, tmp_path):
    drop = tmp_path / "in"
    make_doc(drop, 1)
    before = tree_digest(drop)
    first = run(ws, drop)
    second = run(ws, drop)
    assert first.count("registered") == 1
    assert second.count("registered") == 0 and second.count("duplicate") == 1
    assert second.outcomes[0].archival_code == first.outcomes[0].archival_code
    assert len(codes(ws)) == 1
    assert tree_digest(drop) == before


def test_changed_file_is_a_new_version_and_flagged(ws, tmp_path):
    drop = tmp_path / "in"
    pdf = make_doc(drop, 1)
    run(ws, drop)
    make_pdf(pdf, "柳政发〔2024〕1号", "关于第1项工作的通知（修订）", "2024年3月2日")
    report = run(ws, drop)
    (outcome,) = report.outcomes
    assert outcome.status == "registered"
    assert "INGEST_NEW_VERSION" in [f.code for f in outcome.findings]
    with open_catalog(ws.catalog_path) as cat:
        rows = cat.conn.execute("SELECT version, supersedes FROM records ORDER BY id").fetchall()
    assert rows[0] == (1, None) and rows[1][0] == 2 and rows[1][1] is not None


def test_number_and_date_come_from_the_text_when_metadata_lacks_them(ws, tmp_path):
    drop = tmp_path / "in"
    make_doc(drop, 7)
    report = run(ws, drop)
    assert report.count("registered") == 1
    with open_catalog(ws.catalog_path) as cat:
        meta = json.loads(cat.conn.execute("SELECT metadata FROM records").fetchone()[0])
    assert meta["document_number"] == "柳政发〔2024〕7号"
    assert meta["date"] == "2024-03-08"
    assert meta["page_count"] == 1


def test_text_disagreeing_with_metadata_is_a_warning(ws, tmp_path):
    drop = tmp_path / "in"
    make_doc(drop, 3, sidecar={"文件编号": "柳政发〔2024〕99号"})
    report = run(ws, drop)
    (o,) = report.outcomes
    assert o.status == "registered"
    assert "INGEST_TEXT_DISAGREES" in [f.code for f in o.findings]


@pytest.mark.parametrize(
    ("sidecar", "code"),
    [
        ({"题名": None}, "INGEST_FIELD_MISSING"),
        ({"日期": "2024年2月30日"}, "INGEST_FIELD_INVALID"),
        ({"保管期限": "D99"}, "INGEST_FIELD_INVALID"),
        ({"密级": "绝密级"}, "INGEST_FIELD_INVALID"),
        ({"密级": "秘密"}, "INGEST_CLASSIFIED"),
        ({"附件": ["不存在的附件.pdf"]}, "INGEST_ATTACHMENT_MISSING"),
    ],
)
def test_bad_items_are_refused_and_good_ones_go_through(ws, tmp_path, sidecar, code):
    drop = tmp_path / "in"
    make_doc(drop, 1)
    make_doc(drop, 2, sidecar=sidecar)
    report = run(ws, drop)
    refused = [o for o in report.outcomes if o.status == "refused"]
    assert len(refused) == 1 and refused[0].path.endswith("2号.pdf")
    assert code in [f.code for f in refused[0].findings]
    assert codes(ws) == ["0012-WS·2024-Y-BGS-0001"]
    stored = [p for p in ws.objects_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1  # nothing of the refused item reached the object store


def test_attachments_join_their_record(ws, tmp_path):
    drop = tmp_path / "in"
    make_pdf(drop / "附件1.pdf", "附件1", "预算表", "2024年3月1日")
    make_doc(drop, 1, sidecar={"附件": ["附件1.pdf"]})
    report = run(ws, drop)
    assert report.count("registered") == 1 and len(report.outcomes) == 1
    with open_catalog(ws.catalog_path) as cat:
        roles = cat.conn.execute("SELECT role, name FROM record_files ORDER BY position").fetchall()
    assert roles == [("main", "柳政发〔2024〕1号.pdf"), ("attachment", "附件1.pdf")]


def test_register_csv_with_chinese_columns(ws, tmp_path):
    drop = tmp_path / "in"
    make_pdf(drop / "a.pdf", "柳财预〔2024〕8号", "关于下达预算的通知", "2024年5月6日")
    make_pdf(drop / "a-附件.pdf", "附件", "明细", "2024年5月6日")
    (drop / "登记表.csv").write_text(
        "文件名,题名,责任者,保管期限,密级,附件\na.pdf,关于下达预算的通知,柳州市财政局,定期30年,内部,a-附件.pdf\n",
        encoding="utf-8-sig",
    )
    report = run(ws, drop)
    assert [o.status for o in report.outcomes] == ["registered"]
    assert codes(ws) == ["0012-WS·2024-D30-BGS-0001"]


def test_prepare_on_a_process_pool_gives_the_same_codes(ws, tmp_path):
    drop = tmp_path / "in"
    for i in range(1, 13):
        make_doc(drop, i)
    report = run(ws, drop, workers=2)
    assert report.count("registered") == 12
    assert codes(ws) == [f"0012-WS·2024-Y-BGS-{n:04d}" for n in range(1, 13)]


def test_two_concurrent_ingests_share_one_gap_free_sequence(ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for i in range(1, 9):
        make_doc(a, i)
        make_doc(b, 100 + i)
    cmd = [sys.executable, "-m", "govarc", "--home", str(ws.home), "ingest", "--agency", "SZF"]
    procs = [subprocess.Popen(cmd + [str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in (a, b)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    items = sorted(int(c.rsplit("-", 1)[1]) for c in codes(ws))
    assert items == list(range(1, 17))


@pytest.mark.parametrize("name", ["100%完成.pdf", " 通知.pdf"])
def test_a_name_that_cannot_be_packaged_is_refused_at_ingest(ws, tmp_path, name):
    drop = tmp_path / "in"
    pdf = make_pdf(drop / name, "柳政发〔2024〕5号", "关于印发方案的通知", "2024年3月5日")
    (drop / (pdf.stem + ".json")).write_text(
        '{"题名": "关于印发方案的通知", "责任者": "柳州市人民政府", "保管期限": "Y", "密级": "公开"}', encoding="utf-8")
    (outcome,) = run(ws, drop).outcomes
    assert outcome.status == "refused"
    assert [f.code for f in outcome.findings] == ["INGEST_FIELD_INVALID"]


def test_a_missing_path_is_one_clear_refusal(ws, tmp_path):
    (outcome,) = run(ws, tmp_path / "no-such-folder").outcomes
    assert outcome.status == "refused"
    assert [(f.code, f.message) for f in outcome.findings] == [("INGEST_UNREADABLE", "no such file or folder")]


def test_accepted_formats_may_name_a_format_instead_of_a_mime_type():
    from govarc.formats import FormatInfo
    from govarc.ingest.prepare import accepted

    pdfa, pdf = FormatInfo("application/pdf", "PDF/A", "1b"), FormatInfo("application/pdf", "PDF", "1.7")
    assert accepted(pdfa, ["PDF/A"]) and not accepted(pdf, ["PDF/A"])
    assert accepted(pdf, ["application/pdf"]) and accepted(pdfa, ["application/pdf"])
