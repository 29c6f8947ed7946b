"""Open the SQLite catalog and bring its schema up to date (versioned migrations).

The schema version is SQLite's ``user_version``; each migration runs in its own transaction, so a
crash mid-migration leaves the previous version intact. Writers take ``BEGIN IMMEDIATE`` so that
concurrent ingests serialise on the database instead of failing, and archival-code sequences are
assigned inside the same transaction as the record they number (no gaps, no reuse).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from govarc.errors import ConfigError

MIGRATIONS: list[list[str]] = [
    [  # 1: records, files, sequences, runs
        """CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            agency TEXT NOT NULL,
            archival_code TEXT NOT NULL UNIQUE,
            fonds TEXT NOT NULL, category TEXT NOT NULL, year INTEGER NOT NULL,
            retention TEXT NOT NULL, unit TEXT NOT NULL, item INTEGER NOT NULL,
            title TEXT NOT NULL, document_number TEXT, date TEXT NOT NULL, classification TEXT NOT NULL,
            content_key TEXT NOT NULL,
            source TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            supersedes INTEGER REFERENCES records(id),
            metadata TEXT NOT NULL,
            warnings TEXT NOT NULL DEFAULT '[]',
            state TEXT NOT NULL DEFAULT 'registered',
            ingested_at TEXT NOT NULL,
            package_path TEXT, package_tagmanifest_sha256 TEXT, package_size INTEGER,
            package_signed INTEGER, packaged_at TEXT,
            UNIQUE (agency, content_key),
            UNIQUE (fonds, category, year, retention, unit, item)
        )""",
        "CREATE INDEX records_agency_state ON records(agency, state)",
        "CREATE INDEX records_source ON records(agency, source)",
        """CREATE TABLE record_files (
            record_id INTEGER NOT NULL REFERENCES records(id),
            position INTEGER NOT NULL,
            role TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
            mime TEXT NOT NULL, format_name TEXT NOT NULL, format_version TEXT, source TEXT NOT NULL,
            PRIMARY KEY (record_id, position)
        )""",
        """CREATE TABLE sequences (
            fonds TEXT NOT NULL, category TEXT NOT NULL, year INTEGER NOT NULL,
            retention TEXT NOT NULL, unit TEXT NOT NULL, last_item INTEGER NOT NULL,
            PRIMARY KEY (fonds, category, year, retention, unit)
        )""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, status TEXT NOT NULL, summary TEXT
        )""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class Catalog:
    """A connection to the catalog; use :meth:`write` for every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=60000")
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._migrate()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"catalog schema {version} is newer than this govarc knows ({SCHEMA_VERSION}); upgrade govarc",
                str(self.path),
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.write():
                # Re-check inside the lock: another process may have migrated meanwhile.
                if self.conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                for sql in MIGRATIONS[number - 1]:
                    self.conn.execute(sql)
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT); rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


@contextmanager
def open_catalog(path: Path) -> Iterator[Catalog]:
    cat = Catalog(path)
    try:
        yield cat
    finally:
        cat.close()
