"""The pure part of the audit trail: canonical bytes, event hashes, the genesis value (specs/audit-log.md)."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from functools import cache
from typing import Any

FORMAT = 1

# Every action an event may name, in the order of specs/audit-log.md's table (tests/audit/test_spec.py
# checks the two agree, and that every action the code appends is here). `transfer-<state>` is one
# action per batch state a batch moves on to.
ACTIONS: tuple[str, ...] = (
    "init", "config-change", "pki-init-ca", "key-issue", "key-import", "trust-add", "crl-add",
    "ingest", "package", "sign", "transfer-create", "transfer-uploaded", "transfer-published", "transfer-receipted",
    "receipt-import", "accept-receive", "accept-relist", "accept-restart", "accept-item", "accept",
    "send-create", "send-deliver", "send", "receive", "hand-over", "sign-for", "return", "catalog-rebuild",
)
GENESIS_PREFIX = b"govarc-audit-genesis\n"


def canonical(obj: Any) -> bytes:
    """The canonical JSON of ``obj``: sorted keys, no spaces, UTF-8 unescaped, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def genesis(catalog_id: str | None) -> str:
    """The ``prev`` of event 1: bound to the catalog's id, so a chain cannot be moved to another catalog."""
    return hashlib.sha256(GENESIS_PREFIX + (catalog_id or "").encode("ascii")).hexdigest()


def utc_now() -> str:
    """The time of an event: UTC, microseconds, ``Z`` (sorts as text)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Actor:
    """Who did it: the operating-system user and the host."""

    user: str
    host: str


@cache
def current_actor() -> Actor:
    """The actor of this process, computed once (user from getpass, host from socket.gethostname())."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        user = f"uid:{os.getuid()}"
    return Actor(user[:128], socket.gethostname()[:255])


@dataclass(frozen=True)
class NewEvent:
    """An event to append; sequence, time, actor and hashes are added by the catalog."""

    action: str
    object: str
    agency: str = ""
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """An event as stored."""

    seq: int
    at: str
    user: str
    host: str
    agency: str
    action: str
    object: str
    outcome: str
    details: str  # canonical JSON text
    prev: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "user": self.user, "host": self.host, "agency": self.agency,
                "action": self.action, "object": self.object, "outcome": self.outcome,
                "details": json.loads(self.details) if self.details else {}, "prev": self.prev, "hash": self.hash}


def event_bytes(seq: int, at: str, user: str, host: str, agency: str, action: str, obj: str, outcome: str,
                details: str, prev: str) -> bytes:
    """The bytes that are hashed (``details`` is already canonical JSON text and is embedded as text)."""
    return canonical({"v": FORMAT, "seq": seq, "at": at, "actor": {"user": user, "host": host}, "agency": agency,
                      "action": action, "object": obj, "outcome": outcome, "details": details, "prev": prev})


def event_hash(seq: int, at: str, user: str, host: str, agency: str, action: str, obj: str, outcome: str,
               details: str, prev: str) -> str:
    return hashlib.sha256(event_bytes(seq, at, user, host, agency, action, obj, outcome, details, prev)).hexdigest()


def hash_of(e: Event, seq: int | None = None) -> str:
    """The hash ``e`` should carry (at sequence ``seq`` when given: where it may have been before a move)."""
    return event_hash(e.seq if seq is None else seq, e.at, e.user, e.host, e.agency, e.action, e.object, e.outcome,
                      e.details, e.prev)
