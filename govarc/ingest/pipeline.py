"""Ingest: inspect, validate and register records in the catalog, with archival codes.

Each item is prepared (hashed, inspected, its metadata resolved and validated) on a process pool
(:mod:`govarc.ingest.prepare`); its files are then stored and its record registered in batches,
one transaction each (:mod:`govarc.ingest.register`). An item with any error-level finding is
refused whole: nothing of it reaches the catalog or the object store. Input files are only read.
Re-running is safe: a record is keyed by its content digest.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from govarc.catalog.db import Catalog
from govarc.domain import Agency
from govarc.ingest.prepare import ItemProgress, Prepared, prepare_iter
from govarc.ingest.register import known, register_batch, store_batch
from govarc.ingest.report import IngestReport, Outcome
from govarc.ingest.sources import discover
from govarc.store.objects import ObjectStore

__all__ = ["BATCH", "IngestReport", "Outcome", "ingest"]

BATCH = 200


def ingest(
    catalog: Catalog,
    objects: ObjectStore,
    agency: Agency,
    paths: Iterable[Path],
    *,
    workers: int = 0,
    progress: ItemProgress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest every record found in ``paths`` for ``agency``; report every item's outcome.

    ``objects`` is the workspace's object store. Good items are registered even when others are
    refused. Nothing of a refused item is kept.
    """
    items = discover(list(paths))
    if on_total:
        on_total(len(items))
    outcomes, fresh, digests = known(catalog, agency, items, progress)
    # Each batch of good items is stored and registered as soon as the pool has prepared it, while
    # the pool goes on with the next: the main process's copies, fsyncs and SQL overlap the
    # workers' inspection, and only one batch of prepared items is held at a time.
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    good: list[Prepared] = []

    def flush() -> None:
        accepted, refused = store_batch(objects, good)
        outcomes.extend(refused)
        outcomes.extend(register_batch(catalog, agency, accepted, now))
        good.clear()

    for p in prepare_iter(fresh, agency, workers or (os.cpu_count() or 1), progress, digests):
        if p.refused:
            outcomes.append(Outcome(str(p.item.main), "refused", p.findings))
            continue
        good.append(p)
        if len(good) >= BATCH:
            flush()
    if good:
        flush()
    outcomes.sort(key=lambda o: o.path)
    return IngestReport(agency.code, tuple(outcomes))
