"""Signed checkpoints: the chain's head anchored in files beside the catalog (specs/audit-log.md).

A checkpoint is ``audit/checkpoints/<seq:012d>.json`` (canonical JSON naming the catalog id, the
sequence number and hash of the head, the hash of event 1, the time and the signer) with a detached
CMS signature ``<same>.json.p7s`` by the first key of the workspace (see :func:`signing_codes`).
Both are written atomically, the signature first.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.audit.chain import canonical, utc_now
from govarc.catalog import audit as sql
from govarc.fsutil import write_atomic

if TYPE_CHECKING:
    from govarc.sign.keys import Prompter
    from govarc.sign.pki import Credentials
    from govarc.workspace import Workspace

CHECKPOINT_DIR = ("audit", "checkpoints")
KIND = "govarc-audit-checkpoint"
NAME = re.compile(r"^(\d{12})\.json$")
MAX_CHECKPOINT_BYTES = 4 * 1024
MAX_CHECKPOINTS = 100_000
EVERY = 1000  # the nightly checkpoints between agencies once EVERY events are unanchored (specs/audit-log.md)


def checkpoint_dir(home: Path) -> Path:
    return Path(home).joinpath(*CHECKPOINT_DIR)


@dataclass(frozen=True)
class Checkpoint:
    catalog_id: str
    seq: int
    head: str
    first: str
    at: str
    signer: str | None

    def document(self) -> bytes:
        return canonical({"v": 1, "kind": KIND, "catalog_id": self.catalog_id, "seq": self.seq, "head": self.head,
                          "first": self.first, "at": self.at, "signer": self.signer})

    @classmethod
    def parse(cls, data: bytes) -> Checkpoint:
        """A checkpoint from its bytes; ValueError when they are not one (wrong shape, not canonical)."""
        obj = json.loads(data.decode("utf-8"))
        if not isinstance(obj, dict) or obj.get("v") != 1 or obj.get("kind") != KIND:
            raise ValueError("not a govarc audit checkpoint")
        for key in ("catalog_id", "head", "first", "at"):
            if not isinstance(obj.get(key), str):
                raise ValueError(f"{key!r} is not text")
        seq, signer = obj.get("seq"), obj.get("signer")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError("'seq' is not a positive integer")
        if signer is not None and not isinstance(signer, str):
            raise ValueError("'signer' is not text")
        cp = cls(obj["catalog_id"], seq, obj["head"], obj["first"], obj["at"], signer)
        if cp.document() != data:
            raise ValueError("not in canonical form")
        return cp


def signing_codes(ws: Workspace) -> list[str]:
    """Whose key signs checkpoints, in order of preference: the archives (in an archives workspace),
    then the agencies in ``govarc.toml`` order; the first that has a stored key signs."""
    codes = [ws.settings.holdings.code] if ws.settings.holdings is not None else []
    return codes + [a.code for a in ws.agencies]


def load_signer(ws: Workspace, prompter: Prompter) -> tuple[str, Credentials] | None:
    """The code and credentials that sign checkpoints (see :func:`signing_codes`); None without keys."""
    from govarc.sign.agency import load_agency_key
    from govarc.sign.pki import has_agency_key

    for code in signing_codes(ws):
        if has_agency_key(ws.keys_dir(code)):
            creds = load_agency_key(ws, code, prompter)
            if creds is not None:
                return code, creds
    return None


def has_keys(ws: Workspace) -> bool:
    from govarc.sign.pki import has_agency_key

    return any(has_agency_key(ws.keys_dir(c)) for c in signing_codes(ws))


def latest_seq(home: Path) -> int:
    """The sequence number of the newest checkpoint file (0 when there is none)."""
    try:
        names = os.listdir(checkpoint_dir(home))
    except OSError:
        return 0
    return max((int(m.group(1)) for n in names if (m := NAME.match(n))), default=0)


def write_checkpoint(ws: Workspace, conn: sqlite3.Connection, signer: tuple[str, Credentials] | None) -> Path | None:
    """Anchor the chain's head in a new checkpoint (signed when ``signer``); None when the newest
    checkpoint names the head already or there are no events."""
    from govarc.sign.documents import sign_document

    top = sql.head(conn)
    if top is None or latest_seq(ws.home) >= top[0]:
        return None
    first = sql.event_at(conn, 1)
    row = conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
    cp = Checkpoint(str(row[0]) if row else "", top[0], top[1], first.hash if first else "", utc_now(),
                    signer[0] if signer else None)
    folder = checkpoint_dir(ws.home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{cp.seq:012d}.json"
    doc = cp.document()
    if signer is not None:
        write_atomic(path.with_name(path.name + ".p7s"), sign_document(doc, signer[1]))
    write_atomic(path, doc)
    return path


def anchor_if_due(ws: Workspace, conn: sqlite3.Connection,
                  signer: Callable[[], tuple[str, Credentials] | None] | None, every: int | None = None) -> Path | None:
    """Between two steps of a long run: a checkpoint when at least ``every`` (default :data:`EVERY`)
    events came after the newest one (``signer`` is asked only then; None or its None: unsigned).
    Call it outside a transaction."""
    top = sql.head(conn)
    if top is None or top[0] - latest_seq(ws.home) < (EVERY if every is None else every):
        return None
    return write_checkpoint(ws, conn, signer() if signer is not None else None)


def checkpoint_now(ws: Workspace, prompter: Prompter) -> tuple[Path | None, str | None]:
    """Write a checkpoint of the workspace's catalog now: ``(path or None, why it is unsigned or None)``.

    A key that cannot be loaded (no passphrase, a wrong one) gives an unsigned checkpoint and the reason.
    """
    from govarc.catalog.db import open_catalog
    from govarc.errors import GovarcError

    why: str | None = None
    try:
        signer = load_signer(ws, prompter)
        if signer is None:
            why = "the workspace has no key"
    except GovarcError as e:
        signer, why = None, f"the key could not be loaded: {e.message}"
    with open_catalog(ws.catalog_path) as cat:
        return write_checkpoint(ws, cat.conn, signer), why


def as_dict(cp: Checkpoint) -> dict[str, Any]:
    return {"catalog_id": cp.catalog_id, "seq": cp.seq, "head": cp.head, "first": cp.first, "at": cp.at,
            "signer": cp.signer}
