"""The audit trail's SQL: append events in the caller's transaction, read them (specs/audit-log.md).

:func:`append` is called inside the ``with catalog.write() as conn:`` block of the change it
records, so an event exists exactly when its change was committed. One read of the chain's head
per transaction and one insert (with one SHA-256) per event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from govarc.audit.chain import Actor, Event, NewEvent, canonical, current_actor, event_hash, genesis, utc_now

TABLE_SQL = """CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL, host TEXT NOT NULL,
    agency TEXT NOT NULL,
    action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL,
    details TEXT NOT NULL,
    prev TEXT NOT NULL, hash TEXT NOT NULL
)"""


def file_head(path: Path) -> int | None:
    """The head's sequence number as the catalog file at ``path`` holds it (opened immutable: no
    side files, nothing locked), 0 for no event, None when there is no readable catalog there."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            row = conn.execute("SELECT MAX(seq) FROM audit_events").fetchone()
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return None
    return int(row[0]) if row and row[0] is not None else 0


def committed_head(path: Path) -> int | None:
    """The head's sequence number as committed, WAL included (a normal read-only connection: unlike
    :func:`file_head` it sees events another open connection keeps from being folded into the file),
    0 for no event, None when there is no readable catalog there."""
    from govarc.catalog.db import open_readonly

    if not path.is_file():
        return None
    try:
        with open_readonly(path) as conn:
            row = conn.execute("SELECT MAX(seq) FROM audit_events").fetchone()
    except (sqlite3.Error, OSError):
        return None
    return int(row[0]) if row and row[0] is not None else 0


_COLUMNS = "seq, at, user, host, agency, action, object, outcome, details, prev, hash"
MAX_DETAILS = 16 * 1024  # characters of canonical JSON per event; longer values are cut (marked)


def _details(details: dict[str, Any]) -> str:
    text = canonical(details).decode("utf-8")
    if len(text) > MAX_DETAILS:
        text = canonical({"truncated": text[:MAX_DETAILS]}).decode("utf-8")
    return text


def head(conn: Any) -> tuple[int, str] | None:
    """``(seq, hash)`` of the last event, or None when there is none."""
    row = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def _catalog_id(conn: Any) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
    return None if row is None else str(row[0])


def append(conn: Any, events: Sequence[NewEvent], *, at: str | None = None, actor: Actor | None = None) -> int:
    """Append ``events`` to the chain inside the caller's open transaction; returns the last sequence number."""
    top = head(conn)
    seq, prev = top if top is not None else (0, genesis(_catalog_id(conn)))
    if not events:
        return seq
    at = at or utc_now()
    who = actor or current_actor()
    rows = []
    for e in events:
        seq += 1
        details = _details(e.details)
        h = event_hash(seq, at, who.user, who.host, e.agency, e.action, e.object, e.outcome, details, prev)
        rows.append((seq, at, who.user, who.host, e.agency, e.action, e.object, e.outcome, details, prev, h))
        prev = h
    conn.executemany(f"INSERT INTO audit_events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    return seq


def append_one(conn: Any, action: str, obj: str, agency: str = "", outcome: str = "ok", **details: Any) -> int:
    """Append one event (see :func:`append`)."""
    return append(conn, [NewEvent(action, obj, agency, outcome, details)])


def _event(row: Sequence[Any]) -> Event:
    return Event(int(row[0]), *(str(v) for v in row[1:]))


def iter_events(conn: sqlite3.Connection) -> Iterator[Event]:
    """Every event in sequence order, streamed."""
    for row in conn.execute(f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq"):
        yield _event(row)


def event_at(conn: sqlite3.Connection, seq: int) -> Event | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM audit_events WHERE seq=?", (seq,)).fetchone()
    return None if row is None else _event(row)


def find_events(conn: sqlite3.Connection, *, agency: str | None = None, action: str | None = None,
                since: str | None = None, until: str | None = None, obj: str | None = None,
                limit: int | None = None) -> Iterator[Event]:
    """Events matching every filter given, in sequence order (``since``/``until`` compare UTC time text)."""
    where, params = [], []  # type: list[str], list[Any]
    for column, op, value in (("agency", "=", agency), ("action", "=", action), ("at", ">=", since),
                              ("at", "<", until), ("object", "=", obj)):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    sql = f"SELECT {_COLUMNS} FROM audit_events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    for row in conn.execute(sql, params):
        yield _event(row)


def copy_events(src: sqlite3.Connection, dst: Any) -> int:
    """Copy every event of ``src`` verbatim into ``dst`` (inside its transaction); returns how many."""
    n = 0
    rows = src.execute(f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq")
    while batch := rows.fetchmany(1000):
        dst.executemany(f"INSERT INTO audit_events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
        n += len(batch)
    return n
