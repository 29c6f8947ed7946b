"""Audit events for changes outside the catalog (keys, configuration), and the list of events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from govarc.audit.chain import Event
from govarc.catalog import audit as sql
from govarc.errors import ConfigError

if TYPE_CHECKING:
    from cryptography import x509

    from govarc.workspace import Workspace

MAX_CONFIG_KEYS = 256  # keys named per configuration event (a city file of hundreds of agencies: the rest counted)


def record_event(ws: Workspace, action: str, obj: str, agency: str = "", outcome: str = "ok", **details: Any) -> None:
    """Append one event in its own transaction, right after a file change (a key written, govarc.toml written)."""
    from govarc.catalog.identity import open_workspace_catalog

    with open_workspace_catalog(ws) as cat, cat.write() as conn:
        sql.append_one(conn, action, obj, agency, outcome, **details)


def _flat(table: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    for key, value in table.items():
        if not prefix and key == "agency" and isinstance(value, list):
            for entry in value:
                if isinstance(entry, Mapping):
                    _flat(entry, f"agency.{entry.get('code', '?')}.", out)
        elif isinstance(value, Mapping):
            _flat(value, f"{prefix}{key}.", out)
        else:
            out[prefix + str(key)] = value
    return out


def changed_keys(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """The dotted keys of govarc.toml whose value differs between ``old`` and ``new`` (both as TOML
    tables; agencies keyed by code: ``agency.SZF.drop``), sorted. Values are never reported."""
    before, after = _flat(old or {}, "", {}), _flat(new, "", {})
    missing = object()
    return sorted(k for k in before.keys() | after.keys() if before.get(k, missing) != after.get(k, missing))


def record_config_change(ws: Workspace, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
    """After govarc.toml was written: a ``config-change`` event naming the keys that changed (not their
    values: a transport option may be a secret), and the agency when the change concerns one only."""
    keys = changed_keys(old, new)
    if not keys:
        return
    agencies = sorted({k.split(".")[1] for k in keys if k.startswith("agency.")})
    details: dict[str, Any] = {"keys": keys[:MAX_CONFIG_KEYS], "agencies": agencies[:MAX_CONFIG_KEYS]}
    if len(keys) > MAX_CONFIG_KEYS:
        details["more_keys"] = len(keys) - MAX_CONFIG_KEYS
    only = agencies[0] if len(agencies) == 1 else ""
    record_event(ws, "config-change", "govarc.toml", only, **details)


def record_certificate(ws: Workspace, action: str, cert: x509.Certificate, agency: str = "", **details: Any) -> None:
    """After a key or certificate was written (``pki-init-ca``, ``key-issue``, ``key-import``, ``trust-add``):
    an event whose object is the certificate's SHA-256 fingerprint, with its subject, issuer, serial and
    end of validity. Never a key or passphrase."""
    from govarc.sign.pki import subject_of
    from govarc.sign.trust import fingerprint

    record_event(ws, action, fingerprint(cert), agency, subject=subject_of(cert),
                 issuer=cert.issuer.rfc4514_string(), serial=format(cert.serial_number, "x"),
                 not_after=cert.not_valid_after_utc.isoformat(), **details)


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
