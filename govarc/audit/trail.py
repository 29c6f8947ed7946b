"""Audit events for changes outside the catalog (keys, configuration), and the list of events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from govarc.audit.chain import Event
from govarc.catalog import audit as sql
from govarc.errors import ConfigError

if TYPE_CHECKING:
    from govarc.workspace import Workspace


def record_event(ws: Workspace, action: str, obj: str, agency: str = "", outcome: str = "ok", **details: Any) -> None:
    """Append one event in its own transaction, right after a file change (a key written, govarc.toml written)."""
    from govarc.catalog.identity import open_workspace_catalog

    with open_workspace_catalog(ws) as cat, cat.write() as conn:
        sql.append_one(conn, action, obj, agency, outcome, **details)


def utc_bound(text: str, label: str) -> str:
    """``--since``/``--until`` (a date ``YYYY-MM-DD`` or an ISO time; naive = UTC) as event time text."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{label} {text!r} is not a date (YYYY-MM-DD) or ISO time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def list_events(ws: Workspace, *, agency: str | None = None, action: str | None = None, since: str | None = None,
                until: str | None = None, obj: str | None = None, limit: int | None = None) -> Iterator[Event]:
    """The events matching every filter, in sequence order (the catalog is only read)."""
    from govarc.catalog.db import open_readonly

    if not ws.catalog_path.is_file():
        raise ConfigError("there is no catalog", str(ws.catalog_path))
    with open_readonly(ws.catalog_path) as conn:
        yield from sql.find_events(conn, agency=agency, action=action,
                                   since=utc_bound(since, "--since") if since else None,
                                   until=utc_bound(until, "--until") if until else None, obj=obj, limit=limit)
