"""Records, their files and their 件号 sequences in the catalog: the statements ingest needs.

Every function takes the DB-API connection of an open transaction (``with catalog.write() as
conn``, or ``catalog.conn`` for a read) and runs portable SQL: the same statements work on
SQLite (≥ 3.35, for ``RETURNING``) and PostgreSQL. Placeholders are the ``?`` of sqlite3; only
:mod:`govarc.catalog.db` should know the dialect, and a PostgreSQL backend would translate them
there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from govarc.catalog.states import RecordState


class Connection(Protocol):
    """The part of a DB-API connection these functions use."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


def content_key(files: Iterable[tuple[str, str, str]]) -> str:
    """The identity of a record's content: its files' (role, NFC name, SHA-256), in any order."""
    parts = sorted(f"{role}:{name}:{sha256}" for role, name, sha256 in files)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class RecordRef:
    """A record found in the catalog: its id, archival code (档号) and version."""

    id: int
    archival_code: str
    version: int = 1


@dataclass(frozen=True)
class SequenceKey:
    """What a 件号 sequence counts within: 全宗, 门类, 年度, 保管期限 and 机构问题."""

    fonds: str
    category: str
    year: int
    retention: str
    unit: str

    def values(self) -> tuple[str, str, int, str, str]:
        return (self.fonds, self.category, self.year, self.retention, self.unit)


@dataclass(frozen=True)
class NewFile:
    """One file of a record to insert, in its position's order."""

    role: str
    name: str
    size: int
    sha256: str
    mime: str
    format_name: str
    format_version: str | None
    source: str  # the real path it was ingested from


@dataclass(frozen=True)
class NewRecord:
    """A record to insert; ``metadata`` and ``warnings`` are stored as JSON."""

    agency: str
    archival_code: str
    sequence: SequenceKey
    item: int
    title: str
    document_number: str | None
    date: str
    classification: str
    content_key: str
    source: str
    version: int
    supersedes: int | None
    metadata: dict[str, Any]
    warnings: list[dict[str, Any]]
    ingested_at: str
    files: tuple[NewFile, ...]
    state: RecordState = RecordState.REGISTERED


def find_by_content(conn: Connection, agency: str, key: str) -> RecordRef | None:
    """The agency's record whose content has this :func:`content_key`, if any."""
    row = conn.execute(
        "SELECT id, archival_code, version FROM records WHERE agency=? AND content_key=?", (agency, key)
    ).fetchone()
    return RecordRef(row[0], row[1], row[2]) if row else None


def latest_by_source(conn: Connection, agency: str, source: str) -> RecordRef | None:
    """The latest version of the agency's record ingested from ``source`` (a real path), if any."""
    row = conn.execute(
        "SELECT id, archival_code, version FROM records WHERE agency=? AND source=? ORDER BY version DESC LIMIT 1",
        (agency, source),
    ).fetchone()
    return RecordRef(row[0], row[1], row[2]) if row else None


def next_item(conn: Connection, sequence: SequenceKey) -> int:
    """Take the next 件号 of a sequence (1 for a new one); call inside the transaction that uses it.

    One statement, so two writers never take the same number: an upsert naming its conflict
    target, which SQLite and PostgreSQL both accept, returning the new value.
    """
    rows = conn.execute(
        "INSERT INTO sequences (fonds, category, year, retention, unit, last_item) VALUES (?,?,?,?,?,1) "
        "ON CONFLICT (fonds, category, year, retention, unit) DO UPDATE SET last_item = sequences.last_item + 1 "
        "RETURNING last_item",
        sequence.values(),
    ).fetchall()  # read to the end: a RETURNING statement left open would hold up the COMMIT
    return int(rows[0][0])


RECORD_COLUMNS = ("agency, archival_code, fonds, category, year, retention, unit, item, title, document_number, date, "
                  "classification, content_key, source, version, supersedes, metadata, warnings, state, ingested_at")
"""The columns of ``records`` a :class:`NewRecord` fills, in the order of :func:`record_values`."""


def record_values(record: NewRecord) -> tuple[Any, ...]:
    """The values of :data:`RECORD_COLUMNS` for ``record``."""
    s = record.sequence
    return (record.agency, record.archival_code, s.fonds, s.category, s.year, s.retention, s.unit, record.item,
            record.title, record.document_number, record.date, record.classification, record.content_key,
            record.source, record.version, record.supersedes, json.dumps(record.metadata, ensure_ascii=False),
            json.dumps(record.warnings, ensure_ascii=False), record.state.value, record.ingested_at)


def insert_files(conn: Connection, record_id: int, files: Sequence[NewFile]) -> None:
    """Insert the files of the record ``record_id``, numbered by their position in ``files``."""
    conn.executemany(
        "INSERT INTO record_files (record_id, position, role, name, size, sha256, mime, format_name, "
        "format_version, source) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(record_id, i, f.role, f.name, f.size, f.sha256, f.mime, f.format_name, f.format_version, f.source)
         for i, f in enumerate(files)],
    )


def insert_record(conn: Connection, record: NewRecord) -> int:
    """Insert a record and its files; returns the record's id."""
    rows = conn.execute(
        f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        record_values(record),
    ).fetchall()
    record_id = int(rows[0][0])
    insert_files(conn, record_id, record.files)
    return record_id
