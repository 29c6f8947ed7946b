"""The catalog's side of transfer: records due, batches and their items, verdicts from receipts.

A batch (``batches``) is one transfer of one agency's packages to the archives; its items
(``batch_items``) name the record, the package's object key in the batch, the SHA-256 and size of
the object as uploaded and the package's tag-manifest digest. The batch and its items are recorded
in one transaction before anything is uploaded, so a run that crashes resumes the same batch.
States are :class:`~govarc.catalog.states.BatchState`; the flow is in ``specs/transfer.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from govarc.catalog import audit
from govarc.catalog.db import Catalog
from govarc.catalog.states import BatchState, RecordState, Verdict

LIVE_STATES = (BatchState.OPEN.value, BatchState.UPLOADED.value)


@dataclass(frozen=True)
class DueRecord:
    """A packaged record that goes in the next batch, as the catalog knows it."""

    record_id: int
    archival_code: str
    title: str
    year: int
    retention: str
    package_key: str  # where its package is, relative to the workspace home
    tagmanifest_sha256: str
    file_count: int


@dataclass(frozen=True)
class BatchItem:
    """One package of a batch: the record, its object key in the batch, digest and size as uploaded."""

    record_id: int
    archival_code: str
    key: str
    sha256: str
    size: int
    tagmanifest_sha256: str
    verdict: str | None = None
    reasons: tuple[dict[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"archival_code": self.archival_code, "key": self.key, "sha256": self.sha256, "size": self.size,
                "tagmanifest_sha256": self.tagmanifest_sha256, "verdict": self.verdict, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Batch:
    """A batch row: its id, agency, archives, state and the times it went through."""

    id: str
    agency: str
    archives: str
    created_at: str
    state: BatchState
    list_sha256: str
    published_at: str | None = None
    receipt_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "agency": self.agency, "archives": self.archives, "created_at": self.created_at,
                "state": self.state.value, "list_sha256": self.list_sha256, "published_at": self.published_at,
                "receipt_at": self.receipt_at}


_DUE_SQL = """
SELECT r.id, r.archival_code, r.title, r.year, r.retention, r.package_path, r.package_tagmanifest_sha256,
       (SELECT COUNT(*) FROM record_files f WHERE f.record_id = r.id)
FROM records r
WHERE r.agency = ? AND r.state IN (?, ?) AND r.package_path IS NOT NULL
  AND r.package_tagmanifest_sha256 IS NOT NULL AND (r.package_signed = 1 OR ?)
  AND NOT EXISTS (
    SELECT 1 FROM batch_items i WHERE i.record_id = r.id
      AND (i.verdict IS NULL OR i.verdict <> ? OR i.tagmanifest_sha256 = r.package_tagmanifest_sha256))
ORDER BY r.archival_code
"""


def due_records(catalog: Catalog, agency: str, *, send_unsigned: bool = False) -> list[DueRecord]:
    """The records of ``agency`` due for transfer, by archival code.

    Due: packaged, signed (or ``send_unsigned``), and in no batch that is still waiting for its
    receipt or whose receipt accepted it; a rejected record is due again once its package changed
    (its tag-manifest digest is not the one the archives rejected).
    """
    rows = catalog.conn.execute(_DUE_SQL, (agency, RecordState.PACKAGED.value, RecordState.REJECTED.value,
                                           int(send_unsigned), Verdict.REJECTED.value)).fetchall()
    return [DueRecord(int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]), str(r[6]), int(r[7]))
            for r in rows]


def _batch(row: Sequence[Any]) -> Batch:
    return Batch(str(row[0]), str(row[1]), str(row[2]), str(row[3]), BatchState(row[4]), str(row[5]),
                 row[6], row[7])


_BATCH_COLUMNS = "id, agency, archives, created_at, state, list_sha256, published_at, receipt_at"


def get_batch(catalog: Catalog, batch_id: str) -> Batch | None:
    row = catalog.conn.execute(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id=?", (batch_id,)).fetchone()
    return None if row is None else _batch(row)


def batches(catalog: Catalog, agency: str, states: Iterable[BatchState] | None = None) -> list[Batch]:
    """The batches of ``agency`` (only those in ``states`` when given), oldest first."""
    rows = catalog.conn.execute(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE agency=? ORDER BY created_at, id",
                                (agency,)).fetchall()
    wanted = None if states is None else {s.value for s in states}
    return [_batch(r) for r in rows if wanted is None or r[4] in wanted]


def unfinished_batch(catalog: Catalog, agency: str) -> Batch | None:
    """The agency's batch recorded but not yet published (a crashed run's), if any."""
    found = batches(catalog, agency, (BatchState.OPEN, BatchState.UPLOADED))
    return found[0] if found else None


def items(catalog: Catalog, batch_id: str) -> list[BatchItem]:
    """The items of a batch, by key."""
    rows = catalog.conn.execute(
        "SELECT record_id, archival_code, key, sha256, size, tagmanifest_sha256, verdict, reasons "
        "FROM batch_items WHERE batch_id=? ORDER BY key", (batch_id,)).fetchall()
    return [BatchItem(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5]), r[6],
                      tuple(json.loads(r[7])) if r[7] else ()) for r in rows]


def next_batch_id(catalog: Catalog, agency: str, day: str, taken: Callable[[str], bool] | None = None) -> str:
    """The next free batch id of ``agency`` on ``day`` (``YYYYMMDD``): ``<AGENCY>-<day>-<NNNN>``.

    Free: in no batch of the catalog and, when ``taken`` is given, not ``taken(id)`` either (the
    caller's knowledge of ids used outside the catalog: the workspace's ``transfers/`` folders,
    the transport). An id is never reused, even after a catalog was lost.
    """
    prefix = f"{agency}-{day}-"
    rows = catalog.conn.execute("SELECT id FROM batches WHERE agency=? AND substr(id, 1, ?)=?",
                                (agency, len(prefix), prefix)).fetchall()
    used = {str(r[0])[len(prefix):] for r in rows}
    n = 1
    while f"{n:04d}" in used or (taken is not None and taken(f"{prefix}{n:04d}")):
        n += 1
    return f"{prefix}{n:04d}"


def create_batch(catalog: Catalog, batch: Batch, batch_items: Sequence[BatchItem]) -> None:
    """Record ``batch`` (state open) and its items in one transaction."""
    with catalog.write() as conn:
        conn.execute("INSERT INTO batches (id, agency, archives, created_at, state, list_sha256) VALUES (?,?,?,?,?,?)",
                     (batch.id, batch.agency, batch.archives, batch.created_at, BatchState.OPEN.value, batch.list_sha256))
        conn.executemany(
            "INSERT INTO batch_items (batch_id, record_id, archival_code, key, sha256, size, tagmanifest_sha256) "
            "VALUES (?,?,?,?,?,?,?)",
            [(batch.id, i.record_id, i.archival_code, i.key, i.sha256, i.size, i.tagmanifest_sha256) for i in batch_items])
        audit.append_one(conn, "transfer-create", batch.id, batch.agency, archives=batch.archives,
                         items=len(batch_items), list_sha256=batch.list_sha256)


def set_state(catalog: Catalog, batch_id: str, state: BatchState, at: str | None = None) -> None:
    """Move a batch on to ``state`` (``published`` records ``at`` as its publication time)."""
    with catalog.write() as conn:
        if state is BatchState.PUBLISHED:
            row = conn.execute("UPDATE batches SET state=?, published_at=COALESCE(published_at, ?) WHERE id=? RETURNING agency",
                               (state.value, at, batch_id)).fetchone()
        else:
            row = conn.execute("UPDATE batches SET state=? WHERE id=? RETURNING agency", (state.value, batch_id)).fetchone()
        if row is not None:
            audit.append_one(conn, f"transfer-{state.value}", batch_id, str(row[0]))


@dataclass(frozen=True)
class ItemVerdict:
    """The archives' verdict on one item, from a verified receipt."""

    record_id: int
    verdict: Verdict
    reasons: tuple[dict[str, str], ...] = ()


def record_receipt(catalog: Catalog, batch_id: str, verdicts: Sequence[ItemVerdict], receipt_sha256: str, at: str) -> None:
    """In one transaction: each item's verdict and reasons, each record transferred or rejected, the batch receipted."""
    with catalog.write() as conn:
        for v in verdicts:
            conn.execute("UPDATE batch_items SET verdict=?, reasons=? WHERE batch_id=? AND record_id=?",
                         (v.verdict.value, json.dumps(list(v.reasons), ensure_ascii=False), batch_id, v.record_id))
            state = RecordState.REJECTED if v.verdict is Verdict.REJECTED else RecordState.TRANSFERRED
            conn.execute("UPDATE records SET state=? WHERE id=?", (state.value, v.record_id))
        row = conn.execute("UPDATE batches SET state=?, receipt_at=?, receipt_sha256=? WHERE id=? RETURNING agency",
                           (BatchState.RECEIPTED.value, at, receipt_sha256, batch_id)).fetchone()
        rejected = sum(1 for v in verdicts if v.verdict is Verdict.REJECTED)
        audit.append_one(conn, "receipt-import", batch_id, str(row[0]) if row else "",
                         "rejected" if rejected else "ok", accepted=len(verdicts) - rejected, rejected=rejected,
                         receipt_sha256=receipt_sha256)


# --- a rebuild of the catalog: batches restored from the workspace's transfers/ folders ----------


def agency_packages(catalog: Catalog, agency: str) -> dict[str, tuple[int, str]]:
    """Each packaged record of ``agency``: archival code → (record id, tag-manifest digest of its package)."""
    rows = catalog.conn.execute("SELECT archival_code, id, package_tagmanifest_sha256 FROM records "
                                "WHERE agency=? AND package_tagmanifest_sha256 IS NOT NULL", (agency,)).fetchall()
    return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}


def batched_records(catalog: Catalog, record_ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    """Of ``record_ids``, those already in a batch: record id → (batch id, its verdict), the latest batch's."""
    out: dict[int, tuple[str, str | None]] = {}
    for rid in record_ids:
        row = catalog.conn.execute("SELECT batch_id, verdict FROM batch_items WHERE record_id=? "
                                   "ORDER BY batch_id DESC LIMIT 1", (rid,)).fetchone()
        if row is not None:
            out[rid] = (str(row[0]), row[1])
    return out


def restore_batch(catalog: Catalog, batch: Batch, batch_items: Sequence[BatchItem],
                  receipt_sha256: str | None = None, record_states: Mapping[int, RecordState] | None = None) -> None:
    """Insert a batch read back from the workspace's files (a catalog rebuild), in one transaction.

    The batch keeps its state and times; its items their verdicts and reasons; each record in
    ``record_states`` takes that state (the verdict of the batch's receipt).
    """
    with catalog.write() as conn:
        conn.execute("INSERT INTO batches (id, agency, archives, created_at, state, list_sha256, published_at, "
                     "receipt_at, receipt_sha256) VALUES (?,?,?,?,?,?,?,?,?)",
                     (batch.id, batch.agency, batch.archives, batch.created_at, batch.state.value, batch.list_sha256,
                      batch.published_at, batch.receipt_at, receipt_sha256))
        conn.executemany(
            "INSERT INTO batch_items (batch_id, record_id, archival_code, key, sha256, size, tagmanifest_sha256, "
            "verdict, reasons) VALUES (?,?,?,?,?,?,?,?,?)",
            [(batch.id, i.record_id, i.archival_code, i.key, i.sha256, i.size, i.tagmanifest_sha256, i.verdict,
              json.dumps(list(i.reasons), ensure_ascii=False) if i.verdict else None) for i in batch_items])
        conn.executemany("UPDATE records SET state=? WHERE id=?",
                         [(state.value, rid) for rid, state in (record_states or {}).items()])
