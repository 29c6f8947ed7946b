"""The `runs` table: one row per nightly run, `running` until it ends `ok`, `failed` or `interrupted`.

Only a process holding the workspace run lock starts a run, so a `running` row met by the next
holder of the lock belongs to a process that is gone (killed, or its machine lost power): it is
closed as `interrupted`. Every function here writes in its own transaction; the SQL is portable
(no ``lastrowid``: the new row's id comes back with ``RETURNING``, which SQLite ≥ 3.35 and
PostgreSQL both have).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from govarc.catalog.db import Catalog
from govarc.catalog.states import RecordState


class RunStatus(str, Enum):
    """How a run ended (``runs.status``)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def start_run(catalog: Catalog, kind: str, started_at: str, pid: int) -> int:
    """Insert a `running` row for this process; its id."""
    with catalog.write() as conn:
        ((run_id,),) = conn.execute(
            "INSERT INTO runs (kind, started_at, status, summary) VALUES (?, ?, ?, ?) RETURNING id",
            (kind, started_at, RunStatus.RUNNING.value, json.dumps({"pid": pid})),
        ).fetchall()
    return int(run_id)


def finish_run(catalog: Catalog, run_id: int, finished_at: str, status: RunStatus, summary: dict[str, Any]) -> None:
    """Close a run with its status and a summary (stored as JSON)."""
    with catalog.write() as conn:
        conn.execute(
            "UPDATE runs SET finished_at=?, status=?, summary=? WHERE id=?",
            (finished_at, status.value, json.dumps(summary, ensure_ascii=False), run_id),
        )


def close_stale_runs(catalog: Catalog, kind: str, now: str, current: int) -> list[int]:
    """Close every `running` row of ``kind`` but ``current`` (this run's) as `interrupted`; the ids closed.

    Call only while holding the run lock: then no other run of ``kind`` is live, and a `running`
    row is one whose process died before it could finish it.
    """
    with catalog.write() as conn:
        rows = conn.execute(
            "SELECT id, summary FROM runs WHERE kind=? AND status=? AND id<>?", (kind, RunStatus.RUNNING.value, current)
        ).fetchall()
        for run_id, summary in rows:
            try:
                data = json.loads(summary) if summary else {}
            except ValueError:
                data = {}
            if not isinstance(data, dict):
                data = {}
            data.update({"closed_by": current, "reason": "the process ended without finishing the run"})
            conn.execute(
                "UPDATE runs SET finished_at=?, status=?, summary=? WHERE id=?",
                (now, RunStatus.INTERRUPTED.value, json.dumps(data, ensure_ascii=False), run_id),
            )
    return [r[0] for r in rows]


def unpackaged_count(catalog: Catalog, agency: str) -> int:
    """Records of ``agency`` registered but not packaged yet (what a packaging step will go through)."""
    row = catalog.conn.execute(
        "SELECT COUNT(*) FROM records WHERE agency=? AND state=?", (agency, RecordState.REGISTERED.value)).fetchone()
    return int(row[0])
