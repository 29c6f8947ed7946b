"""The catalog side of a rebuild from the store: inserting recovered records, sequences, swapping the file.

:mod:`govarc.archiving.rebuild` reads and verifies the packages; this module writes what it
recovered into a new catalog and puts that catalog in place of the old one. It knows nothing of
packages: a recovered record comes as a :class:`~govarc.catalog.records.NewRecord` (state
``packaged``) with the location and digests of its package.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.catalog import audit
from govarc.catalog.db import Catalog, DriverError, open_readonly
from govarc.catalog.identity import inspect_catalog
from govarc.catalog.records import RECORD_COLUMNS, NewRecord, SequenceKey, insert_files, record_values
from govarc.errors import GovarcError
from govarc.fsutil import fsync_path

TMP_PREFIX = ".catalog.sqlite.rebuild-"
"""The name a catalog being rebuilt has (followed by the rebuilding process's id)."""


@dataclass(frozen=True)
class RecoveredRecord:
    """A record recovered from its package: the record, and its package as the catalog keeps it.

    ``record.source`` and each file's ``source`` are the package's key (relative to the home).
    """

    record: NewRecord
    package_key: str
    tagmanifest_sha256: str
    size: int
    signed: bool
    packaged_at: str


@dataclass(frozen=True)
class Clash:
    """A recovered record that collides with one inserted before: its package key, and on what."""

    package_key: str
    same_code: bool  # True: the same archival code; False: the same content


def _insert(conn: Any, row: RecoveredRecord) -> None:
    (record_id,) = conn.execute(
        f"INSERT INTO records ({RECORD_COLUMNS}, package_path, package_tagmanifest_sha256, package_size, "
        "package_signed, packaged_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        record_values(row.record) + (row.package_key, row.tagmanifest_sha256, row.size, int(row.signed),
                                     row.packaged_at),
    ).fetchone()
    insert_files(conn, record_id, row.record.files)


def insert_recovered(catalog: Catalog, rows: Sequence[RecoveredRecord]) -> list[Clash | None]:
    """Insert each recovered record and its files, in one transaction; per row, None or its :class:`Clash`.

    A row whose archival code, or whose content within its agency, a row inserted before already
    has is not inserted (and the others are).
    """
    out: list[Clash | None] = []
    with catalog.write() as conn:
        for row in rows:
            r = row.record
            clash = conn.execute(
                "SELECT package_path, archival_code = ? FROM records WHERE archival_code=? OR (agency=? AND content_key=?)",
                (r.archival_code, r.archival_code, r.agency, r.content_key),
            ).fetchone()
            if clash:
                out.append(Clash(str(clash[0]), bool(clash[1])))
                continue
            _insert(conn, row)
            out.append(None)
    return out


def read_sequences(path: Path, catalog_id: str) -> list[tuple[SequenceKey, int]]:
    """The sequences of the catalog at ``path`` when it still reads and has id ``catalog_id`` (else none)."""
    try:
        if inspect_catalog(path).catalog_id != catalog_id:
            return []
        with open_readonly(path) as conn:
            rows = conn.execute("SELECT fonds, category, year, retention, unit, last_item FROM sequences").fetchall()
    except (GovarcError, DriverError, OSError):
        return []
    return [(SequenceKey(str(f), str(c), int(y), str(r), str(u)), int(last)) for f, c, y, r, u, last in rows]


def carry_events(path: Path, catalog_id: str, catalog: Catalog) -> int:
    """Copy the audit events of the old catalog at ``path`` (when it still reads and has id ``catalog_id``)
    into ``catalog``, verbatim; returns how many (0 when it cannot be read)."""
    try:
        if inspect_catalog(path).catalog_id != catalog_id:
            return 0
        with open_readonly(path) as old, catalog.write() as conn:
            return audit.copy_events(old, conn)
    except (GovarcError, DriverError, OSError):
        return 0


def finish_rebuild(catalog: Catalog, sequences: Sequence[tuple[SequenceKey, int]], started: str, finished: str,
                   status: str, summary: dict[str, Any], audit_details: dict[str, Any] | None = None) -> None:
    """Write the sequences and the rebuild's row in ``runs``, in one transaction."""
    with catalog.write() as conn:
        conn.executemany(
            "INSERT INTO sequences (fonds, category, year, retention, unit, last_item) VALUES (?,?,?,?,?,?)",
            [(*key.values(), last) for key, last in sequences],
        )
        conn.execute("INSERT INTO runs (kind, started_at, finished_at, status, summary) VALUES (?,?,?,?,?)",
                     ("catalog-rebuild", started, finished, status, json.dumps(summary, ensure_ascii=False)))
        audit.append_one(conn, "catalog-rebuild", "catalog", "", status, **summary, **(audit_details or {}))


def remove_stale_rebuilds(home: Path) -> None:
    """Temporary catalogs of rebuilds that died (the caller holds the run lock: none is running)."""
    for entry in os.scandir(home):
        if entry.name.startswith(TMP_PREFIX) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def remove_catalog_files(path: Path) -> None:
    """Remove a catalog file and its side files (a rebuild's temporary catalog that failed)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _aside_name(path: Path, stamp: str) -> Path:
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while os.path.lexists(aside) or os.path.lexists(aside.with_name(aside.name + "-wal")):
        aside = path.with_name(f"{path.name}.broken-{stamp}-{n}")
        n += 1
    return aside


def keep_aside(path: Path, stamp: str) -> list[str]:
    """Keep the old catalog (and its -wal, -shm) under ``catalog.sqlite.broken-<stamp>``.

    The database file stays in place (a hard link is made) until the new one replaces it
    atomically; its -wal (and a rollback journal) must go first, since SQLite would apply them to
    the new database. They are kept beside the old file under the names SQLite pairs them by.
    """
    if not os.path.lexists(path):
        return []
    aside = _aside_name(path, stamp)
    if stat.S_ISREG(os.lstat(path).st_mode):
        try:
            os.link(path, aside)
        except OSError:
            shutil.copy2(path, aside)
    else:
        os.rename(path, aside)
    kept = [str(aside)]
    for suffix in ("-wal", "-journal", "-shm"):
        side = path.with_name(path.name + suffix)
        if not os.path.lexists(side):
            continue
        if suffix == "-shm" or os.lstat(side).st_size == 0:
            os.unlink(side)  # no data: an empty log, or the WAL's index, which SQLite rebuilds from the WAL
        else:
            os.rename(side, aside.with_name(aside.name + suffix))
            kept.append(str(aside.with_name(aside.name + suffix)))
    fsync_path(path.parent)
    return kept


def put_in_place(tmp: Path, path: Path) -> None:
    """Rename the new catalog over the old one (atomic) and make the rename durable."""
    os.replace(tmp, path)
    fsync_path(path.parent)
