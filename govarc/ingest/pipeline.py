"""Ingest: inspect, validate and register records in the catalog, with archival codes.

Each item is prepared (hashed, inspected, its metadata resolved and validated) on a process pool
(:mod:`govarc.ingest.prepare`); its files are then stored and its record registered in batches,
one transaction each (:mod:`govarc.ingest.register`). An item with any error-level finding is
refused whole: nothing of it reaches the catalog or the object store. Input files are only read.
Re-running is safe: a record is keyed by its content digest.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from govarc.catalog.db import Catalog
from govarc.domain import Agency
from govarc.ingest.prepare import ItemProgress, Prepared, prepare_iter
from govarc.ingest.register import LOOKUP_CHUNK, lookup, register_batch, store_batch_pairs
from govarc.ingest.report import IngestReport, Outcome, Tally
from govarc.ingest.sources import Discovery, Item
from govarc.store.objects import ObjectStore

__all__ = ["BATCH", "IngestReport", "Outcome", "ingest"]

BATCH = 200
PENDING = 4 * BATCH
"""Outcomes waiting for an earlier item's registration before they are handed on, at most."""

OutcomeSink = Callable[[Outcome], None]


def ingest(
    catalog: Catalog,
    objects: ObjectStore,
    agency: Agency,
    paths: Iterable[Path],
    *,
    workers: int = 0,
    progress: ItemProgress | None = None,
    on_total: Callable[[int], None] | None = None,
    on_outcome: OutcomeSink | None = None,
) -> IngestReport:
    """Ingest every record found in ``paths`` for ``agency``; report every item's outcome.

    ``objects`` is the workspace's object store. Good items are registered even when others are
    refused. Nothing of a refused item is kept.

    Without ``on_outcome`` the report holds every outcome, sorted by path. With it, each outcome
    is handed to ``on_outcome`` as soon as its item is through, in the order of discovery, and the
    report holds only the counts and the first outcomes (:data:`~govarc.ingest.report.SAMPLE`):
    memory does not grow with the number of items (the nightly job, ``govarc ingest``).
    """
    items = Discovery(list(paths))
    if on_total:
        on_total(len(items))
    tally = Tally(agency.code, keep=on_outcome is None, sink=on_outcome)
    # Items come from discovery as they are reached, are looked up a chunk at a time (those
    # registered already are not inspected again), and the new ones go on to the pool: nothing
    # holds every item at once. `ahead` keeps, in order, what the loop below has not reached yet of
    # the items taken from discovery: the outcome of one registered already, None for a new one
    # (which waits in `fresh` for the pool). The pool takes new items a window ahead, so when new
    # ones are sparse the outcomes of the registered ones between them wait here (small, no fields).
    ahead: deque[Outcome | None] = deque()
    fresh: deque[Item] = deque()
    source = iter(items)

    def pull() -> bool:
        chunk = list(itertools.islice(source, LOOKUP_CHUNK))
        for item, hit in zip(chunk, lookup(catalog, agency, chunk, progress)):
            if hit:
                ahead.append(Outcome(str(item.main), "duplicate", item.findings, hit[0], hit[1]))
            else:
                ahead.append(None)
                fresh.append(item)
        return bool(chunk)

    def new_items() -> Iterator[Item]:
        while fresh or pull():
            while fresh:
                yield fresh.popleft()

    # Each batch of good items is stored and registered as soon as the pool has prepared it, while
    # the pool goes on with the next: the main process's copies, fsyncs and SQL overlap the
    # workers' inspection, and only one batch of prepared items is held at a time. Outcomes are
    # handed on in the order of the items: each waits in `pending` for the batch before it.
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    good: list[tuple[Prepared, list[Outcome | None]]] = []
    pending: deque[list[Outcome | None]] = deque()

    def flush() -> None:
        if good:
            slots = {id(p): slot for p, slot in good}
            accepted, refused = store_batch_pairs(objects, [p for p, _ in good])
            for p, o in refused:
                slots[id(p)][0] = o
            for p, o in zip(accepted, register_batch(catalog, agency, accepted, now)):
                slots[id(p)][0] = o
            good.clear()
        while pending:
            done = pending.popleft()[0]
            assert done is not None
            tally.add(done)

    prepared = prepare_iter(new_items(), agency, workers or (os.cpu_count() or 1), progress)
    try:
        while ahead or pull():
            known = ahead.popleft()
            slot: list[Outcome | None]
            if known is not None:
                slot = [known]
            else:
                p = next(prepared)
                if p.refused:
                    slot = [Outcome(str(p.item.main), "refused", p.findings)]
                else:
                    slot = [None]
                    good.append((p, slot))
            pending.append(slot)
            if good and (len(good) >= BATCH or len(pending) >= PENDING):
                flush()
            elif not good and pending:
                flush()  # nothing to wait for
        flush()
    finally:
        prepared.close()
    return tally.report()
