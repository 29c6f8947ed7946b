"""What the catalog says about an agency at a glance: the state of each record for inventories and
reports, and counts of records, exchange recipients and transfer batches by state.

A record's *inventory state* (specs/inventory.md) is derived, not stored: it combines the record's
own columns with the transfer batches and exchange messages that name it. The expression lives
here once (:data:`RECORD_STATE_SQL`) so that the inventory, ``govarc status`` and the report all
count the same way. Portable SQL only (see :mod:`govarc.catalog.db`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from govarc.catalog.db import Catalog


class InventoryState(str, Enum):
    """A record's state in inventories and reports, most advanced first (specs/inventory.md)."""

    ACCEPTED = "accepted"  # the archives' signed receipt accepted it (or held it already)
    REJECTED = "rejected"  # the archives' signed receipt rejected it
    TRANSFERRED = "transferred"  # in a published transfer batch, no receipt yet (awaiting receipt)
    SENT = "sent"  # sent through the exchange (every envelope on the hub)
    SIGNED = "signed"  # packaged and signed
    PACKAGED = "packaged"  # packaged, not signed
    REGISTERED = "registered"  # ingested, not yet packaged


STATE_LABELS: dict[InventoryState, str] = {
    InventoryState.ACCEPTED: "已接收",
    InventoryState.REJECTED: "已退回",
    InventoryState.TRANSFERRED: "已移交",
    InventoryState.SENT: "已发送",
    InventoryState.SIGNED: "已签名",
    InventoryState.PACKAGED: "已封装",
    InventoryState.REGISTERED: "已登记",
}

# The batch item of a record's latest batch (batch ids sort by agency, day and number).
_LATEST_ITEM = ("(SELECT bi.verdict || '|' || b.state FROM batch_items bi JOIN batches b ON b.id = bi.batch_id "
                "WHERE bi.record_id = r.id ORDER BY bi.batch_id DESC LIMIT 1)")

# The inventory state of the record ``r`` (an alias the caller's FROM clause must give ``records``).
RECORD_STATE_SQL = f"""CASE
    WHEN r.state = 'transferred' THEN 'accepted'
    WHEN r.state = 'rejected' THEN 'rejected'
    WHEN EXISTS (SELECT 1 FROM batch_items bi JOIN batches b ON b.id = bi.batch_id
                 WHERE bi.record_id = r.id AND bi.verdict IS NULL AND b.state = 'published') THEN 'transferred'
    WHEN EXISTS (SELECT 1 FROM messages m WHERE m.record_id = r.id AND m.state = 'sent') THEN 'sent'
    WHEN r.package_path IS NOT NULL AND r.package_signed = 1 THEN 'signed'
    WHEN r.package_path IS NOT NULL THEN 'packaged'
    ELSE 'registered' END"""


@dataclass(frozen=True)
class StateCount:
    """How many records of ``agency`` are in ``state``, and their files and bytes."""

    agency: str
    state: InventoryState
    records: int
    files: int
    bytes: int


def state_counts(catalog: Catalog, agencies: Iterable[str] | None = None) -> list[StateCount]:
    """Records per agency and inventory state (only states with records), by agency then state order."""
    wanted = sorted(set(agencies)) if agencies is not None else None
    where = f"WHERE r.agency IN ({','.join('?' * len(wanted))})" if wanted else ""
    rows = catalog.conn.execute(
        f"SELECT r.agency, {RECORD_STATE_SQL} AS st, COUNT(*), "
        "COALESCE(SUM((SELECT COUNT(*) FROM record_files f WHERE f.record_id = r.id)), 0), "
        "COALESCE(SUM((SELECT SUM(f.size) FROM record_files f WHERE f.record_id = r.id)), 0) "
        f"FROM records r {where} GROUP BY r.agency, st", tuple(wanted or ())).fetchall()
    if wanted == []:
        rows = []
    order = {s.value: i for i, s in enumerate(InventoryState)}
    rows.sort(key=lambda r: (r[0], order[r[1]]))
    return [StateCount(str(a), InventoryState(s), int(n), int(f), int(b)) for a, s, n, f, b in rows]


@dataclass(frozen=True)
class ExchangeCount:
    """The recipients of ``sender``'s sent messages by where they are (``overdue``: delivered, not
    answered, past the message's deadline at ``now``)."""

    sender: str
    messages: int
    recipients: int
    delivered: int  # delivered and not answered (overdue ones included)
    signed_for: int
    returned: int
    overdue: int


def exchange_counts(catalog: Catalog, now: dt.datetime) -> list[ExchangeCount]:
    """Per sending agency: messages, recipients and their answers. A recipient is overdue when it
    has not answered and the message's deadline (ISO 8601 with its offset) is before ``now``
    (timezone-aware), as in ``govarc exchange status``."""
    rows = catalog.conn.execute(
        "SELECT m.sender, m.deadline, mr.state, COUNT(*), COUNT(DISTINCT m.id) "
        "FROM messages m JOIN message_recipients mr ON mr.message_id = m.id "
        "GROUP BY m.sender, m.deadline, mr.state").fetchall()
    messages = dict(catalog.conn.execute("SELECT sender, COUNT(*) FROM messages GROUP BY sender").fetchall())
    acc: dict[str, list[int]] = {}
    for sender, deadline, state, n, _ in rows:
        c = acc.setdefault(str(sender), [0, 0, 0, 0, 0])  # recipients, delivered, signed_for, returned, overdue
        c[0] += n
        if state == "delivered":
            c[1] += n
        elif state == "signed_for":
            c[2] += n
        elif state == "returned":
            c[3] += n
        if state in ("pending", "delivered") and deadline and dt.datetime.fromisoformat(str(deadline)) < now:
            c[4] += n
    return [ExchangeCount(s, int(messages.get(s, 0)), *c) for s, c in sorted(acc.items())]
