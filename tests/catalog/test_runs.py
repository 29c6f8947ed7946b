"""The runs table (govarc.catalog.runs): a run's row from start to end, stale rows, the packaging backlog."""

from __future__ import annotations

import json
from pathlib import Path

from govarc.catalog.db import open_catalog
from govarc.catalog.runs import RunStatus, close_stale_runs, finish_run, start_run, unpackaged_count


def rows(cat) -> list[tuple[int, str, str | None, dict | str]]:
    def summary(text: str) -> dict | str:
        return json.loads(text) if text.startswith("{\"") else text
    return [(i, s, f, summary(j)) for i, s, f, j in
            cat.conn.execute("SELECT id, status, finished_at, summary FROM runs ORDER BY id")]


def test_a_run_starts_running_and_finishes_with_its_summary(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "catalog.sqlite") as cat:
        first = start_run(cat, "nightly", "2024-01-01T01:30:00+00:00", 1234)
        second = start_run(cat, "nightly", "2024-01-02T01:30:00+00:00", 1235)
        assert (first, second) == (1, 2)
        assert rows(cat)[0] == (1, "running", None, {"pid": 1234})
        finish_run(cat, second, "2024-01-02T01:31:00+00:00", RunStatus.OK, {"exit_code": 0, "名": "柳州"})
        assert rows(cat)[1] == (2, "ok", "2024-01-02T01:31:00+00:00", {"exit_code": 0, "名": "柳州"})


def test_stale_running_rows_of_the_kind_are_closed_as_interrupted(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "catalog.sqlite") as cat:
        dead = start_run(cat, "nightly", "t0", 11)
        other_kind = start_run(cat, "transfer", "t0", 12)
        with cat.write() as conn:  # a summary that is not JSON is replaced, not fatal
            conn.execute("UPDATE runs SET summary='{broken' WHERE id=?", (other_kind,))
        mine = start_run(cat, "nightly", "t1", 13)
        assert close_stale_runs(cat, "nightly", "t1", mine) == [dead]
        closed = rows(cat)[0]
        assert closed[:3] == (dead, "interrupted", "t1")
        assert closed[3] == {"pid": 11, "closed_by": mine, "reason": "the process ended without finishing the run"}
        assert [r[1] for r in rows(cat)] == ["interrupted", "running", "running"]  # the transfer run is not ours
        assert close_stale_runs(cat, "transfer", "t2", mine)[0] == other_kind
        assert rows(cat)[1][3] == {"closed_by": mine, "reason": "the process ended without finishing the run"}


def test_unpackaged_count_counts_registered_records_of_the_agency(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "catalog.sqlite") as cat:
        assert unpackaged_count(cat, "SZF") == 0
        with cat.write() as conn:
            for i, (agency, state) in enumerate([("SZF", "registered"), ("SZF", "packaged"), ("SZF", "registered"),
                                                 ("CZJ", "registered")], 1):
                conn.execute(
                    "INSERT INTO records (agency, archival_code, fonds, category, year, retention, unit, item, title,"
                    " date, classification, content_key, source, metadata, state, ingested_at)"
                    " VALUES (?, ?, '0012', 'WS', 2024, 'Y', 'BGS', ?, 't', '2024-01-01', '公开', ?, 's', '{}', ?, 'now')",
                    (agency, f"0012-WS·2024-Y-BGS-{i:04d}", i, f"k{i}", state))
        assert unpackaged_count(cat, "SZF") == 2 and unpackaged_count(cat, "CZJ") == 1
