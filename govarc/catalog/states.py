"""The closed sets of states the catalog records: records and runs (later batches and messages)."""

from __future__ import annotations

from enum import Enum


class RecordState(str, Enum):
    """Where a record is in its life; stored as the value in ``records.state``."""

    REGISTERED = "registered"  # ingested, archival code assigned, not yet packaged
    PACKAGED = "packaged"  # its package is in the store (signed or not: see package_signed)
