"""The rows of an inventory (档案目录): one per record, read from the catalog in order, streamed.

One statement, iterated with ``fetchmany`` so that a million records never sit in memory: the
record's columns, its files (count and bytes, from ``record_files``), its 责任者 and 页数 (from
the ``metadata`` JSON, decoded here per row) and its inventory state (the shared
:data:`govarc.catalog.summary.RECORD_STATE_SQL`). Rows come ordered by agency, year and 档号, so a
caller can total each agency/year as it streams. Portable SQL only (see :mod:`govarc.catalog.db`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from govarc.catalog.db import Catalog
from govarc.catalog.summary import RECORD_STATE_SQL, InventoryState

FETCH_ROWS = 500
"""Rows fetched from the cursor at a time: memory stays a few hundred KiB whatever the catalog holds."""

MAX_FIELD_CHARS = 4_000
"""A text field longer than this (a damaged or hostile catalog) is cut, marked with an ellipsis."""


@dataclass(frozen=True)
class InventoryFilter:
    """Which records an inventory lists; ``None`` means any. ``since``: registered (ingested) on or
    after that day (UTC)."""

    agency: str | None = None
    year: int | None = None
    retention: str | None = None
    state: InventoryState | None = None
    since: dt.date | None = None


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One record of an inventory (specs/inventory.md, "Columns")."""

    agency: str
    year: int
    archival_code: str
    title: str
    document_number: str | None
    issuer: str
    date: str
    classification: str
    retention: str
    files: int
    pages: int | None
    bytes: int
    state: InventoryState
    package_digest: str | None


def _where(f: InventoryFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.agency is not None:
        clauses.append("r.agency = ?")
        params.append(f.agency)
    if f.year is not None:
        clauses.append("r.year = ?")
        params.append(f.year)
    if f.retention is not None:
        clauses.append("r.retention = ?")
        params.append(f.retention)
    if f.since is not None:
        # ingested_at is ISO 8601 in UTC (``2024-05-01T08:00:00+00:00``): text order is time order
        clauses.append("r.ingested_at >= ?")
        params.append(f.since.isoformat())
    if f.state is not None:
        clauses.append(f"({RECORD_STATE_SQL}) = ?")
        params.append(f.state.value)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _text(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_FIELD_CHARS else text[: MAX_FIELD_CHARS - 1] + "…"


def _from_metadata(raw: object) -> tuple[str, int | None]:
    """责任者 (issuers joined with "；") and 页数 from a record's metadata JSON; blanks when unreadable."""
    try:
        meta = json.loads(str(raw)) if raw else {}
    except (ValueError, RecursionError):
        return "", None
    if not isinstance(meta, dict):
        return "", None
    issuer = meta.get("issuer")
    if isinstance(issuer, list):
        issuer_text = "；".join(str(i) for i in issuer[:50] if i is not None)
    else:
        issuer_text = "" if issuer is None else str(issuer)
    pages = meta.get("page_count")
    ok = isinstance(pages, int) and not isinstance(pages, bool) and 0 <= pages < 10**9
    return _text(issuer_text), pages if ok else None


def inventory_rows(catalog: Catalog, f: InventoryFilter) -> Iterator[InventoryRow]:
    """The records ``f`` selects, ordered by agency, year and 档号, one at a time."""
    where, params = _where(f)
    sql = (
        "SELECT r.agency, r.year, r.archival_code, r.title, r.document_number, r.date, r.classification, "
        "r.retention, "
        "(SELECT COUNT(*) FROM record_files rf WHERE rf.record_id = r.id), "
        "(SELECT COALESCE(SUM(rf.size), 0) FROM record_files rf WHERE rf.record_id = r.id), "
        f"{RECORD_STATE_SQL}, r.package_tagmanifest_sha256, r.metadata "
        f"FROM records r {where} ORDER BY r.agency, r.year, r.archival_code"
    )
    cursor = catalog.conn.execute(sql, params)
    try:
        while True:
            batch = cursor.fetchmany(FETCH_ROWS)
            if not batch:
                return
            for (agency, year, code, title, number, date, classification, retention, files, size, state,
                 digest, metadata) in batch:
                issuer, pages = _from_metadata(metadata)
                yield InventoryRow(
                    agency=str(agency), year=int(year), archival_code=_text(code), title=_text(title),
                    document_number=_text(number) if number is not None else None, issuer=issuer,
                    date=_text(date), classification=_text(classification), retention=str(retention),
                    files=int(files), pages=pages, bytes=int(size), state=InventoryState(state),
                    package_digest=str(digest) if digest is not None else None,
                )
    finally:
        cursor.close()
