"""The closed sets of states the catalog records: records, runs and transfer batches (later messages)."""

from __future__ import annotations

from enum import Enum

from govarc.domain import Verdict as Verdict  # defined once, with the other terms of the domain


class RecordState(str, Enum):
    """Where a record is in its life; stored as the value in ``records.state``."""

    REGISTERED = "registered"  # ingested, archival code assigned, not yet packaged
    PACKAGED = "packaged"  # its package is in the store (signed or not: see package_signed)
    TRANSFERRED = "transferred"  # the archives' signed receipt accepted it (or holds it already: duplicate)
    REJECTED = "rejected"  # the archives' signed receipt rejected it (reasons in batch_items); may go again


class BatchState(str, Enum):
    """Where a transfer batch is (``batches.state``); see specs/transfer.md."""

    OPEN = "open"  # id and items recorded, uploads not finished
    UPLOADED = "uploaded"  # every package is on the transport, the list not yet published
    PUBLISHED = "published"  # the signed list is published: the archives may take it
    RECEIPTED = "receipted"  # the archives' signed receipt is imported


