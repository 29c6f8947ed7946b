"""The catalog's side of packaging: records waiting for a package, packages recorded, signed, counted.

Package locations are keys relative to the workspace home (see :mod:`govarc.store.packages`); the
functions here store and return them as they are and never touch the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from govarc.audit.chain import NewEvent
from govarc.catalog import audit
from govarc.catalog.db import Catalog
from govarc.catalog.states import RecordState


@dataclass(frozen=True)
class PackagedRow:
    """What the catalog records for a record once its package is in the store."""

    record_id: int
    key: str
    tagmanifest_sha256: str
    size: int
    signed: bool
    packaged_at: str


@dataclass(frozen=True)
class PackageRow:
    """A packaged record: its id, archival code, package key and whether the catalog calls it signed."""

    record_id: int
    archival_code: str
    key: str
    signed: bool


@dataclass(frozen=True)
class AgencyTotals:
    """An agency's records, packages and package bytes, as the catalog counts them."""

    records: int
    packages: int
    bytes: int


def registered_records(catalog: Catalog, agency: str) -> list[tuple[int, str]]:
    """``(id, archival code)`` of every record of ``agency`` waiting for a package, oldest first."""
    rows = catalog.conn.execute(
        "SELECT id, archival_code FROM records WHERE agency=? AND state=? ORDER BY id",
        (agency, RecordState.REGISTERED.value)).fetchall()
    return [(int(rid), str(code)) for rid, code in rows]


REGISTERED_PAGE = 500
"""Record ids read at a time by :func:`iter_registered_records`."""


def registered_span(catalog: Catalog, agency: str) -> tuple[int, int]:
    """How many records of ``agency`` wait for a package, and the highest of their ids (0 for none)."""
    count, top = catalog.conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM records WHERE agency=? AND state=?",
        (agency, RecordState.REGISTERED.value)).fetchone()
    return int(count), int(top)


def iter_registered_records(
    catalog: Catalog, agency: str, upto: int, page: int = REGISTERED_PAGE,
) -> Iterator[tuple[int, str]]:
    """:func:`registered_records` a page at a time (``id > ? ORDER BY id LIMIT page``), up to id ``upto``.

    Memory does not grow with the number of records. Each page is read whole before it is
    handed on, so that the caller may write to the catalog between records; a record packaged
    meanwhile (its state changed) is passed over when its page is read.
    """
    last = 0
    while True:
        rows = catalog.conn.execute(
            "SELECT id, archival_code FROM records WHERE agency=? AND state=? AND id>? AND id<=? ORDER BY id LIMIT ?",
            (agency, RecordState.REGISTERED.value, last, upto, page)).fetchall()
        for rid, code in rows:
            yield int(rid), str(code)
        if len(rows) < page:
            return
        last = int(rows[-1][0])


def record_metadata(catalog: Catalog, record_id: int) -> dict[str, Any]:
    """The descriptive metadata ingest stored for a record (``records.metadata``)."""
    row = catalog.conn.execute("SELECT metadata FROM records WHERE id=?", (record_id,)).fetchone()
    data: dict[str, Any] = json.loads(row[0])
    return data


def record_files(catalog: Catalog, record_id: int) -> list[tuple[str, str]]:
    """``(name, sha256)`` of each file of a record, in its order (main file first)."""
    rows = catalog.conn.execute(
        "SELECT name, sha256 FROM record_files WHERE record_id=? ORDER BY position", (record_id,)).fetchall()
    return [(str(name), str(sha)) for name, sha in rows]


def record_file_formats(catalog: Catalog, record_id: int) -> list[tuple[str, str, str, str, str | None]]:
    """``(name, sha256, mime, format_name, format_version)`` of each file of a record, in its order,
    as ingest identified them."""
    rows = catalog.conn.execute(
        "SELECT name, sha256, mime, format_name, format_version FROM record_files WHERE record_id=? ORDER BY position",
        (record_id,)).fetchall()
    return [(str(n), str(s), str(m), str(f), None if v is None else str(v)) for n, s, m, f, v in rows]


def mark_packaged(catalog: Catalog, rows: Iterable[PackagedRow]) -> None:
    """Record packages in one transaction; a record no longer ``registered`` is left as it is."""
    with catalog.write() as conn:
        events = []
        for r in rows:
            done = conn.execute(
                "UPDATE records SET state=?, package_path=?, package_tagmanifest_sha256=?, package_size=?, "
                "package_signed=?, packaged_at=? WHERE id=? AND state=? RETURNING agency, archival_code",
                (RecordState.PACKAGED.value, r.key, r.tagmanifest_sha256, r.size, int(r.signed), r.packaged_at,
                 r.record_id, RecordState.REGISTERED.value)).fetchone()
            if done is not None:
                events.append(NewEvent("package", str(done[1]), str(done[0]), details={
                    "key": r.key, "signed": bool(r.signed), "size": r.size, "tagmanifest_sha256": r.tagmanifest_sha256}))
        audit.append(conn, events)


def packages(catalog: Catalog, agency: str) -> list[PackageRow]:
    """Every record of ``agency`` that has a package, oldest first."""
    rows = catalog.conn.execute(
        "SELECT id, archival_code, package_path, COALESCE(package_signed, 0) FROM records "
        "WHERE agency=? AND package_path IS NOT NULL ORDER BY id", (agency,)).fetchall()
    return [PackageRow(int(rid), str(code), str(key), bool(flag)) for rid, code, key, flag in rows]


def mark_signed(catalog: Catalog, record_id: int, size: int, tagmanifest_sha256: str) -> None:
    """Record a package signed, with its size and tag-manifest digest as now on disk."""
    with catalog.write() as conn:
        done = conn.execute("UPDATE records SET package_signed=1, package_size=?, package_tagmanifest_sha256=? WHERE id=? "
                            "RETURNING agency, archival_code", (size, tagmanifest_sha256, record_id)).fetchone()
        if done is not None:
            audit.append_one(conn, "sign", str(done[1]), str(done[0]), size=size, tagmanifest_sha256=tagmanifest_sha256)


def agency_totals(catalog: Catalog, agency: str) -> AgencyTotals:
    """Records, packages and package bytes of ``agency`` (one query, for ``govarc status``)."""
    (row,) = catalog.query(
        "SELECT COUNT(*) AS records, "
        "SUM(CASE WHEN package_path IS NOT NULL THEN 1 ELSE 0 END) AS packages, "
        "COALESCE(SUM(package_size), 0) AS bytes FROM records WHERE agency = ?", (agency,))
    return AgencyTotals(int(row["records"]), int(row["packages"] or 0), int(row["bytes"]))
