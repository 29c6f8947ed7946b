"""The catalog's packaging functions: what waits, recording packages in a batch, signing, totals for status."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog import packages as cp
from govarc.catalog.db import open_catalog
from govarc.catalog.states import RecordState
from govarc.workspace import Workspace
from tests.citykit import ingest_into, make_city


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace, _ = init_workspace(tmp_path / "home", make_city(tmp_path, n=3))
    assert ingest_into(workspace, tmp_path / "drop" / "SZF").count("registered") == 3
    return workspace


def test_registered_records_their_files_and_metadata(ws: Workspace) -> None:
    with open_catalog(ws.catalog_path) as cat:
        waiting = cp.registered_records(cat, "SZF")
        assert len(waiting) == 3 and all(code.startswith("0012-WS·2024-") for _, code in waiting)
        assert [rid for rid, _ in waiting] == sorted(rid for rid, _ in waiting)
        assert cp.registered_records(cat, "CZJ") == []
        rid = waiting[0][0]
        files = cp.record_files(cat, rid)
        assert files and all(len(sha) == 64 for _, sha in files)
        assert cp.record_metadata(cat, rid)["archival_code"] == waiting[0][1]


def test_mark_packaged_in_a_batch_then_signed_and_the_totals(ws: Workspace) -> None:
    with open_catalog(ws.catalog_path) as cat:
        (a, _), (b, _), _ = cp.registered_records(cat, "SZF")
        assert cp.agency_totals(cat, "SZF") == cp.AgencyTotals(records=3, packages=0, bytes=0)
        cp.mark_packaged(cat, [cp.PackagedRow(a, "store/SZF/A", "11" * 32, 100, False, "2024-01-01T00:00:00+00:00"),
                               cp.PackagedRow(b, "store/SZF/B.zip", "22" * 32, 50, True, "2024-01-01T00:00:00+00:00")])
        assert [rid for rid, _ in cp.registered_records(cat, "SZF")] == [max(a, b) + 1]
        assert [(p.record_id, p.key, p.signed) for p in cp.packages(cat, "SZF")] == [
            (a, "store/SZF/A", False), (b, "store/SZF/B.zip", True)]
        assert cp.agency_totals(cat, "SZF") == cp.AgencyTotals(records=3, packages=2, bytes=150)
        # a record packaged already is not packaged again (a second run met the same record)
        cp.mark_packaged(cat, [cp.PackagedRow(a, "store/SZF/other", "33" * 32, 1, False, "x")])
        assert cp.packages(cat, "SZF")[0].key == "store/SZF/A"
        cp.mark_signed(cat, a, 120, "44" * 32)
        assert all(p.signed for p in cp.packages(cat, "SZF"))
        assert cp.agency_totals(cat, "SZF").bytes == 170
        states = cat.query("SELECT state, COUNT(*) AS n FROM records GROUP BY state ORDER BY state")
        assert states == [{"state": RecordState.PACKAGED.value, "n": 2}, {"state": RecordState.REGISTERED.value, "n": 1}]
