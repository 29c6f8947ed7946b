"""Ingesting a drop folder again: known items are looked up by digest, new ones stored durably."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from govarc.catalog.db import open_catalog
from govarc.store.objects import ObjectStore
from tests.citykit import ingest_into as run
from tests.citykit import make_doc, make_pdf


def test_a_second_run_finds_every_item_registered_on_a_pool_too(ws, tmp_path):
    drop = tmp_path / "in"
    for i in range(1, 11):
        make_doc(drop, i)
    first = run(ws, drop, workers=2)
    second = run(ws, drop, workers=2)
    assert first.count("registered") == 10
    assert [o.status for o in second.outcomes] == ["duplicate"] * 10
    assert [(o.path, o.archival_code, o.record_id) for o in second.outcomes] == [
        (o.path, o.archival_code, o.record_id) for o in first.outcomes]


def test_a_known_item_is_not_inspected_again_its_warnings_stay_with_the_record(ws, tmp_path):
    drop = tmp_path / "in"
    make_doc(drop, 3, sidecar={"文件编号": "柳政发〔2024〕99号"})
    (first,) = run(ws, drop).outcomes
    assert "INGEST_TEXT_DISAGREES" in [f.code for f in first.findings]
    (second,) = run(ws, drop).outcomes
    assert second.status == "duplicate" and second.findings == ()
    with open_catalog(ws.catalog_path) as cat:
        stored = json.loads(cat.conn.execute("SELECT warnings FROM records").fetchone()[0])
    assert [w["code"] for w in stored] == ["INGEST_TEXT_DISAGREES"]


def test_a_registered_item_stays_a_duplicate_when_the_agency_stops_accepting_it(ws, tmp_path):
    drop = tmp_path / "in"
    make_doc(drop, 1, sidecar={"密级": "秘密"})
    allowing = dataclasses.replace(ws.agency("SZF"), allow_classified=True)
    assert run(ws, drop, agency=allowing).count("registered") == 1
    assert [o.status for o in run(ws, drop).outcomes] == ["duplicate"]
    make_doc(drop, 2, sidecar={"密级": "秘密"})  # a new item is checked against the rule
    statuses = {Path(o.path).name: o.status for o in run(ws, drop).outcomes}
    assert statuses == {"柳政发〔2024〕1号.pdf": "duplicate", "柳政发〔2024〕2号.pdf": "refused"}


def test_a_changed_file_is_inspected_and_registered_as_a_new_version(ws, tmp_path):
    drop = tmp_path / "in"
    pdf = make_doc(drop, 1)
    make_doc(drop, 2)
    run(ws, drop)
    make_pdf(pdf, "柳政发〔2024〕1号", "关于第1项工作的通知（修订）", "2024年3月2日")
    report = run(ws, drop)
    assert sorted(o.status for o in report.outcomes) == ["duplicate", "registered"]
    (new,) = [o for o in report.outcomes if o.status == "registered"]
    assert "INGEST_NEW_VERSION" in [f.code for f in new.findings]


def test_shared_attachment_is_stored_once_and_no_temporary_file_is_left(ws, tmp_path):
    drop = tmp_path / "in"
    make_pdf(drop / "附件.pdf", "附件", "明细表", "2024年3月1日")
    make_doc(drop, 1, sidecar={"附件": ["附件.pdf"]})
    make_doc(drop, 2, sidecar={"附件": ["附件.pdf"]})
    report = run(ws, drop)
    assert report.count("registered") == 2
    with open_catalog(ws.catalog_path) as cat:
        shas = [r[0] for r in cat.conn.execute("SELECT sha256 FROM record_files ORDER BY record_id, position")]
    assert len(shas) == 4 and len(set(shas)) == 3
    stored = sorted(p for p in ws.objects_dir.rglob("*") if p.is_file())
    assert stored == sorted({ObjectStore(ws.objects_dir).path(s) for s in shas})
    for sha in set(shas):
        assert hashlib.sha256(ObjectStore(ws.objects_dir).path(sha).read_bytes()).hexdigest() == sha
