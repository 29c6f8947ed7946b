"""Open the SQLite catalog and bring its schema up to date (versioned migrations).

This is the one module that knows the SQL dialect: the connection and its pragmas, the schema
version, migrations, ``BEGIN IMMEDIATE``, read-only looks, checkpoints and the mapping of the
driver's errors. The statements in the other ``catalog/`` modules are portable SQL (``?``
parameters, ``RETURNING id``, ``ON CONFLICT (…)`` with a target, ``CASE`` instead of summing
booleans), so a PostgreSQL backend would replace this module and leave them alone.

The schema version is SQLite's ``user_version``; each migration runs in its own transaction, so a
crash mid-migration leaves the previous version intact. Writers take ``BEGIN IMMEDIATE`` so that
concurrent ingests serialise on the database instead of failing, and archival-code sequences are
assigned inside the same transaction as the record they number (no gaps, no reuse).

A damaged database (not SQLite, truncated, malformed pages) is a :class:`ConfigError` naming the
file, raised at open and for any query inside :func:`open_catalog`; which catalog belongs to which
workspace is :mod:`govarc.catalog.identity`'s business.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import datetime as dt

import sqlite_utils

from govarc.errors import ConfigError, DiskFullError, GovarcError

Connection = sqlite3.Connection
DatabaseError = sqlite3.DatabaseError  # an error from the database (see database_error)
DriverError = sqlite3.Error  # every error the driver raises
Step = str | Callable[[sqlite3.Connection, Path], None]  # a statement, or a function of (connection, catalog path)


def _relative_package_locations(conn: sqlite3.Connection, path: Path) -> None:
    """Migration 3: record package locations as keys relative to the workspace home (the catalog's folder).

    ``records.package_path`` (and, for records a rebuild recovered, ``records.source`` and
    ``record_files.source``, which name the package too) held absolute paths. Those under the home
    become keys (``store/SZF/<code>.zip``); anything else is left as it was and reported in a
    ``runs`` row of kind ``catalog-migration`` (readers then find such a package by its name in
    its agency's store, as before keys).
    """
    homes = {os.path.abspath(path.parent), os.path.realpath(path.parent)}

    def key(value: str | None, under: str = "") -> str | None:
        if not value or not os.path.isabs(value):
            return None
        for home in homes:
            root = os.path.join(home, under) if under else home
            if value.startswith(root.rstrip(os.sep) + os.sep):
                return PurePosixPath(*Path(os.path.relpath(value, home)).parts).as_posix()
        return None

    converted, left = 0, []
    for rid, package_path, source in conn.execute(
            "SELECT id, package_path, source FROM records WHERE package_path IS NOT NULL").fetchall():
        new = key(package_path)
        if new is None:
            if not (package_path and not os.path.isabs(package_path)):
                left.append(package_path)
            continue
        new_source = key(source, "store") if source == package_path else None
        conn.execute("UPDATE records SET package_path=?, source=COALESCE(?, source) WHERE id=?", (new, new_source, rid))
        converted += 1
    for rid, position, source in conn.execute("SELECT record_id, position, source FROM record_files").fetchall():
        new = key(source, "store")
        if new is not None:
            conn.execute("UPDATE record_files SET source=? WHERE record_id=? AND position=?", (new, rid, position))
    if converted or left:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        summary = {"schema": 3, "converted": converted, "left": left[:100], "left_count": len(left)}
        conn.execute("INSERT INTO runs (kind, started_at, finished_at, status, summary) VALUES (?,?,?,?,?)",
                     ("catalog-migration", now, now, "ok", json.dumps(summary, ensure_ascii=False)))


def _audit_table(conn: sqlite3.Connection, path: Path) -> None:
    """Migration 8: the audit trail's table (its SQL is :mod:`govarc.catalog.audit`'s)."""
    from govarc.catalog.audit import TABLE_SQL

    conn.execute(TABLE_SQL)


MIGRATIONS: list[Sequence[Step]] = [
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
    [  # 2: meta (the catalog's identity, see govarc.catalog.identity)
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
    [  # 3: package locations as keys relative to the workspace home
        _relative_package_locations,
    ],
    [  # 4: transfer batches to the archives and their items (see govarc.catalog.batches)
        """CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            agency TEXT NOT NULL, archives TEXT NOT NULL,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            list_sha256 TEXT NOT NULL,
            published_at TEXT, receipt_at TEXT, receipt_sha256 TEXT
        )""",
        "CREATE INDEX batches_agency_state ON batches(agency, state)",
        """CREATE TABLE batch_items (
            batch_id TEXT NOT NULL REFERENCES batches(id),
            record_id INTEGER NOT NULL REFERENCES records(id),
            archival_code TEXT NOT NULL,
            key TEXT NOT NULL,
            sha256 TEXT NOT NULL, size INTEGER NOT NULL,
            tagmanifest_sha256 TEXT NOT NULL,
            verdict TEXT, reasons TEXT,
            PRIMARY KEY (batch_id, record_id),
            UNIQUE (batch_id, key)
        )""",
        "CREATE INDEX batch_items_record ON batch_items(record_id)",
    ],
    [  # 5: the archives side: batches received, their packages' verdicts, and the holdings
        """CREATE TABLE IF NOT EXISTS accept_batches (
            agency TEXT NOT NULL, batch_id TEXT NOT NULL,
            list_sha256 TEXT NOT NULL, received_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'checking',
            refused TEXT, receipt_sha256 TEXT, answered_at TEXT,
            PRIMARY KEY (agency, batch_id)
        )""",
        """CREATE TABLE IF NOT EXISTS accept_items (
            agency TEXT NOT NULL, batch_id TEXT NOT NULL, position INTEGER NOT NULL,
            key TEXT NOT NULL, archival_code TEXT NOT NULL, sha256 TEXT NOT NULL,
            verdict TEXT NOT NULL, checks TEXT NOT NULL, holdings_key TEXT, size INTEGER,
            PRIMARY KEY (agency, batch_id, position),
            FOREIGN KEY (agency, batch_id) REFERENCES accept_batches(agency, batch_id)
        )""",
        """CREATE TABLE IF NOT EXISTS holdings (
            sha256 TEXT PRIMARY KEY,
            key TEXT NOT NULL,
            agency TEXT NOT NULL, archival_code TEXT NOT NULL,
            fonds TEXT NOT NULL, category TEXT NOT NULL, year INTEGER NOT NULL,
            retention TEXT NOT NULL, unit TEXT NOT NULL, item INTEGER NOT NULL,
            batch_id TEXT NOT NULL, batch_key TEXT NOT NULL,
            size INTEGER NOT NULL, stored_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS holdings_sequence ON holdings(fonds, category, year, retention, unit, item)",
    ],
    [  # 6: exchange, the sender side: messages sent and their recipients (see govarc.catalog.messages)
        """CREATE TABLE IF NOT EXISTS messages (
            id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            archival_code TEXT, record_id INTEGER,
            package_sha256 TEXT NOT NULL, package_size INTEGER NOT NULL,
            urgency TEXT NOT NULL, deadline TEXT,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'sending',
            title TEXT NOT NULL, document_number TEXT,
            package_zip INTEGER NOT NULL, source TEXT NOT NULL, sent_at TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS messages_sender_state ON messages(sender, state)",
        """CREATE TABLE IF NOT EXISTS message_recipients (
            message_id TEXT NOT NULL REFERENCES messages(id),
            recipient TEXT NOT NULL, role TEXT NOT NULL, position INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            reason TEXT, receipt_at TEXT, receipt_sha256 TEXT,
            PRIMARY KEY (message_id, recipient)
        )""",
    ],
    [  # 7: the exchange, recipient side: messages received (收文) and envelopes refused (see govarc.catalog.incoming)
        """CREATE TABLE IF NOT EXISTS incoming (
            message_id TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT NOT NULL,
            envelope_sha256 TEXT NOT NULL, package_sha256 TEXT NOT NULL, package_size INTEGER NOT NULL,
            received_at TEXT NOT NULL, package_path TEXT NOT NULL, metadata TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'received',
            oa_attempts INTEGER NOT NULL DEFAULT 0, oa_error TEXT, handed_over_at TEXT,
            answer_reason TEXT, answered_at TEXT, receipt_sha256 TEXT,
            PRIMARY KEY (message_id, recipient)
        )""",
        "CREATE INDEX IF NOT EXISTS incoming_recipient_state ON incoming(recipient, state)",
        """CREATE TABLE IF NOT EXISTS incoming_refused (
            message_id TEXT NOT NULL, recipient TEXT NOT NULL, envelope_sha256 TEXT NOT NULL,
            code TEXT NOT NULL, reason TEXT NOT NULL, exit_code INTEGER NOT NULL, refused_at TEXT NOT NULL,
            PRIMARY KEY (message_id, recipient, envelope_sha256)
        )""",
    ],
    [  # 8: the audit trail, a hash chain of events (see govarc.catalog.audit and specs/audit-log.md);
        # messages by record, for a record's inventory state (govarc.catalog.summary)
        _audit_table,
        "CREATE INDEX IF NOT EXISTS messages_record ON messages(record_id)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


_CORRUPT = {getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26)}
_FULL = getattr(sqlite3, "SQLITE_FULL", 13)
REBUILD_HINT = "run `govarc catalog rebuild`"


def database_error(e: sqlite3.DatabaseError, path: Path) -> GovarcError | None:
    """The govarc error for an SQLite error on the catalog at ``path`` (one line naming the file).

    None for errors that say nothing about the file (a constraint, a lock): those stay as raised.
    """
    code = getattr(e, "sqlite_errorcode", None)
    if code in _CORRUPT or type(e) is sqlite3.DatabaseError:
        return ConfigError(f"the catalog is damaged ({e}); {REBUILD_HINT}", str(path))
    if code == _FULL:
        return DiskFullError(f"no space left for the catalog ({e}); free space and run again", str(path))
    return None


def _open_error(e: sqlite3.DatabaseError, path: Path) -> GovarcError:
    """While opening, any SQLite error means the catalog cannot be used."""
    return database_error(e, path) or ConfigError(f"cannot open the catalog: {e}", str(path))


class Catalog:
    """A connection to the catalog; use :meth:`write` for every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as e:
            raise _open_error(e, path) from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            self.conn = conn
            self.db = sqlite_utils.Database(conn)
            self._migrate()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise _open_error(e, path) from None
        except BaseException:
            conn.close()
            raise

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
                apply_migration(self.conn, self.path, number)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a read-only statement, as dicts (through sqlite-utils: the same query runs in
        ``sqlite-utils query catalog.sqlite "…"`` for an auditor)."""
        return list(self.db.query(sql, params))

    def relax_durability(self) -> None:
        """Skip fsync on commit (for a catalog under a temporary name, fsynced as a whole at the end)."""
        self.conn.execute("PRAGMA synchronous=OFF")

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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

    def identity(self) -> str | None:
        """The catalog's id (a UUID), or None when it has none yet."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
        return str(row[0]) if row else None

    def claim_identity(self, catalog_id: str) -> str:
        """Give the catalog ``catalog_id`` unless it has an id already; returns the id it has.

        Two processes opening a fresh workspace at once both end up with the first one's id.
        """
        with self.write() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('catalog_id', ?) ON CONFLICT (key) DO NOTHING", (catalog_id,))
            return str(conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


@contextmanager
def open_catalog(path: Path) -> Iterator[Catalog]:
    """Open (creating or migrating) the catalog at ``path``; no identity check (see
    :func:`govarc.catalog.identity.open_workspace_catalog` for commands on a workspace)."""
    cat = Catalog(path)
    try:
        yield cat
    except sqlite3.DatabaseError as e:
        error = database_error(e, path)
        if error is None:
            raise
        raise error from None
    finally:
        cat.close()


def apply_migration(conn: sqlite3.Connection, path: Path, number: int) -> None:
    """Run migration ``number`` (1-based) on ``conn`` inside the caller's transaction and set the version."""
    for step in MIGRATIONS[number - 1]:
        if isinstance(step, str):
            conn.execute(step)
        else:
            step(conn, Path(path))
    conn.execute(f"PRAGMA user_version = {number}")


@contextmanager
def open_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the catalog at ``path`` (it may create the WAL's side files).

    Errors from opening or reading are the driver's (see :func:`database_error`).
    """
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        conn.execute("PRAGMA busy_timeout=60000")
        yield conn
    finally:
        conn.close()


def table_names(conn: sqlite3.Connection) -> set[str]:
    """The tables of the database behind ``conn``."""
    return set(sqlite_utils.Database(conn).table_names())


def checkpoint(path: Path) -> None:
    """Fold the WAL of the catalog at ``path`` into its file (as the last connection, SQLite then
    removes the side files)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
