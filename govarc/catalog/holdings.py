"""The archives side of the catalog: batches received, each package's verdict, and the holdings.

``accept_batches`` has one row per delivered batch (agency, batch id) with the SHA-256 of the
transfer list it answers and the time it was first received; its ``state`` goes ``checking`` →
``answered`` (the signed receipt is published) or ``refused`` (the list itself is not acceptable).
``accept_items`` keeps each package's verdict and checks as soon as they are decided, so a run
killed mid-batch resumes where it stopped and answers with the same verdicts. ``holdings`` lists
every package kept, by the SHA-256 of the package as delivered (content-addressed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from govarc.catalog import audit
from govarc.catalog.db import Catalog
from govarc.domain import ArchivalCode


class BatchState:
    CHECKING = "checking"
    ANSWERED = "answered"
    REFUSED = "refused"


@dataclass(frozen=True)
class BatchRow:
    agency: str
    batch_id: str
    list_sha256: str
    received_at: str
    state: str
    refused: str | None
    receipt_sha256: str | None


@dataclass(frozen=True)
class ItemRow:
    position: int
    key: str
    archival_code: str
    sha256: str
    verdict: str
    checks: list[dict[str, Any]]
    holdings_key: str | None
    size: int | None = None


@dataclass(frozen=True)
class HoldingRow:
    sha256: str
    key: str
    agency: str
    archival_code: str
    batch_id: str
    batch_key: str


def get_batch(cat: Catalog, agency: str, batch_id: str) -> BatchRow | None:
    row = cat.conn.execute(
        "SELECT agency, batch_id, list_sha256, received_at, state, refused, receipt_sha256 FROM accept_batches "
        "WHERE agency=? AND batch_id=?", (agency, batch_id)).fetchone()
    return BatchRow(*row) if row else None


def start_batch(cat: Catalog, agency: str, batch_id: str, list_sha256: str, received_at: str) -> BatchRow:
    """The batch's row, created on first sight; its ``received_at`` never changes afterwards."""
    with cat.write() as conn:
        cur = conn.execute("INSERT INTO accept_batches (agency, batch_id, list_sha256, received_at) VALUES (?,?,?,?) "
                           "ON CONFLICT (agency, batch_id) DO NOTHING", (agency, batch_id, list_sha256, received_at))
        if cur.rowcount > 0:
            audit.append_one(conn, "accept-receive", f"{agency}/{batch_id}", agency, list_sha256=list_sha256)
    row = get_batch(cat, agency, batch_id)
    assert row is not None
    return row


def relist_refused(cat: Catalog, agency: str, batch_id: str, list_sha256: str) -> None:
    """A refused batch whose list changed since is judged afresh: note the new list's digest (an event
    ``accept-relist``, in the same transaction)."""
    with cat.write() as conn:
        cur = conn.execute("UPDATE accept_batches SET list_sha256=? WHERE agency=? AND batch_id=? AND list_sha256<>?",
                           (list_sha256, agency, batch_id, list_sha256))
        if cur.rowcount > 0:
            audit.append_one(conn, "accept-relist", f"{agency}/{batch_id}", agency, list_sha256=list_sha256)


def restart_refused(cat: Catalog, agency: str, batch_id: str, list_sha256: str) -> None:
    """Forget a refused batch and its verdicts so that its new list is checked from the start (an event
    ``accept-restart`` naming the verdicts dropped and the new list, in the same transaction)."""
    with cat.write() as conn:
        items = conn.execute("DELETE FROM accept_items WHERE agency=? AND batch_id=?", (agency, batch_id)).rowcount
        row = conn.execute("SELECT list_sha256, refused FROM accept_batches WHERE agency=? AND batch_id=?",
                           (agency, batch_id)).fetchone()
        conn.execute("DELETE FROM accept_batches WHERE agency=? AND batch_id=?", (agency, batch_id))
        audit.append_one(conn, "accept-restart", f"{agency}/{batch_id}", agency, list_sha256=list_sha256,
                         previous_list_sha256=str(row[0]) if row else None, refused=row[1] if row else None,
                         items_dropped=max(items, 0))


def finish_batch(cat: Catalog, agency: str, batch_id: str, state: str, *, refused: str | None = None,
                 receipt_sha256: str | None = None, at: str) -> None:
    with cat.write() as conn:
        conn.execute("UPDATE accept_batches SET state=?, refused=?, receipt_sha256=?, answered_at=? "
                     "WHERE agency=? AND batch_id=?", (state, refused, receipt_sha256, at, agency, batch_id))
        audit.append_one(conn, "accept", f"{agency}/{batch_id}", agency, state, refused=refused,
                         receipt_sha256=receipt_sha256)


def batch_items(cat: Catalog, agency: str, batch_id: str) -> dict[int, ItemRow]:
    """The verdicts decided so far, by position in the list."""
    rows = cat.conn.execute(
        "SELECT position, key, archival_code, sha256, verdict, checks, holdings_key, size FROM accept_items "
        "WHERE agency=? AND batch_id=? ORDER BY position", (agency, batch_id)).fetchall()
    return {r[0]: ItemRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows}


def record_item(cat: Catalog, agency: str, batch_id: str, item: ItemRow, holding: dict[str, Any] | None) -> None:
    """Keep one package's verdict, and (accepted) its holdings row, in one transaction."""
    with cat.write() as conn:
        if holding is not None:
            conn.execute(
                "INSERT INTO holdings (sha256, key, agency, archival_code, fonds, category, year, retention, unit, item, "
                "batch_id, batch_key, size, stored_at) VALUES (:sha256, :key, :agency, :archival_code, :fonds, :category, "
                ":year, :retention, :unit, :item, :batch_id, :batch_key, :size, :stored_at) "
                "ON CONFLICT (sha256) DO NOTHING", holding)
        cur = conn.execute(
            "INSERT INTO accept_items (agency, batch_id, position, key, archival_code, sha256, verdict, checks, holdings_key, "
            "size) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (agency, batch_id, position) DO NOTHING",
            (agency, batch_id, item.position, item.key, item.archival_code, item.sha256, item.verdict,
             json.dumps(item.checks, ensure_ascii=False), item.holdings_key, item.size))
        if cur.rowcount > 0:
            audit.append_one(conn, "accept-item", item.archival_code, agency, str(item.verdict), batch=batch_id,
                             sha256=item.sha256)


def holding_by_sha256(cat: Catalog, sha256: str) -> HoldingRow | None:
    row = cat.conn.execute("SELECT sha256, key, agency, archival_code, batch_id, batch_key FROM holdings WHERE sha256=?",
                           (sha256,)).fetchone()
    return HoldingRow(*row) if row else None


def holdings_by_code(cat: Catalog, archival_code: str) -> list[HoldingRow]:
    rows = cat.conn.execute("SELECT sha256, key, agency, archival_code, batch_id, batch_key FROM holdings "
                            "WHERE archival_code=?", (archival_code,)).fetchall()
    return [HoldingRow(*r) for r in rows]


def held_items(cat: Catalog, code: ArchivalCode, exclude_batch: tuple[str, str] | None = None) -> set[int]:
    """The 件号 held for ``code``'s sequence (全宗号, 门类, 年度, 保管期限, 机构), except from ``exclude_batch``."""
    fonds, category, year, retention, unit = code.sequence
    rows = cat.conn.execute(
        "SELECT item, agency, batch_id FROM holdings WHERE fonds=? AND category=? AND year=? AND retention=? AND unit=?",
        (fonds, category, year, retention, unit)).fetchall()
    return {r[0] for r in rows if exclude_batch is None or (r[1], r[2]) != exclude_batch}


def batches(cat: Catalog) -> list[dict[str, Any]]:
    """Every batch received, newest first, with its verdict counts."""
    return cat.query(
        "SELECT b.agency, b.batch_id, b.state, b.received_at, b.answered_at, b.refused, "
        "SUM(CASE WHEN i.verdict='accepted' THEN 1 ELSE 0 END) AS accepted, "
        "SUM(CASE WHEN i.verdict='rejected' THEN 1 ELSE 0 END) AS rejected, "
        "SUM(CASE WHEN i.verdict='duplicate' THEN 1 ELSE 0 END) AS duplicate "
        "FROM accept_batches b LEFT JOIN accept_items i ON i.agency=b.agency AND i.batch_id=b.batch_id "
        "GROUP BY b.agency, b.batch_id ORDER BY b.received_at DESC, b.agency, b.batch_id")
