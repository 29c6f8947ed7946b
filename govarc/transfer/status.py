"""The state of an agency's transfers (``govarc transfer status``): batches, their packages, overdue receipts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from govarc.catalog import batches as cb
from govarc.catalog.db import Catalog
from govarc.catalog.states import BatchState
from govarc.domain import Agency
from govarc.workspace import Workspace


@dataclass(frozen=True)
class BatchStatus:
    """One batch: its row, its items, and whether its receipt is overdue."""

    batch: cb.Batch
    items: tuple[cb.BatchItem, ...]
    overdue: bool

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(i.verdict or "pending" for i in self.items)
        return {k: c.get(k, 0) for k in ("pending", "accepted", "duplicate", "rejected")}

    def as_dict(self) -> dict[str, Any]:
        return {**self.batch.as_dict(), "overdue": self.overdue, "counts": self.counts,
                "items": [i.as_dict() for i in self.items]}


@dataclass(frozen=True)
class AgencyTransfers:
    """An agency's batches, and how many of its records are due for the next one."""

    agency: str
    due: int
    batches: tuple[BatchStatus, ...]

    @property
    def overdue(self) -> tuple[str, ...]:
        return tuple(b.batch.id for b in self.batches if b.overdue)

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "due": self.due, "overdue": list(self.overdue),
                "batches": [b.as_dict() for b in self.batches]}


def is_overdue(batch: cb.Batch, days: int, now: dt.datetime) -> bool:
    """A published batch whose receipt has not come ``days`` days after publication."""
    if batch.state is not BatchState.PUBLISHED or not batch.published_at:
        return False
    try:
        published = dt.datetime.fromisoformat(batch.published_at)
    except ValueError:
        return False
    if published.tzinfo is None:
        published = published.replace(tzinfo=dt.timezone.utc)
    return now - published > dt.timedelta(days=days)


def transfer_status(ws: Workspace, catalog: Catalog, agency: Agency, *, now: dt.datetime | None = None) -> AgencyTransfers:
    """The agency's batches (oldest first) with their items, and the count of records due."""
    now = now or dt.datetime.now(dt.timezone.utc)
    archives = ws.settings.archives
    days = archives.receipt_overdue_days if archives else 14
    send_unsigned = archives.send_unsigned if archives else False
    out = tuple(BatchStatus(b, tuple(cb.items(catalog, b.id)), is_overdue(b, days, now))
                for b in cb.batches(catalog, agency.code))
    return AgencyTransfers(agency.code, len(cb.due_records(catalog, agency.code, send_unsigned=send_unsigned)), out)
