"""Check the audit trail: every event's hash, the chain's links, and each checkpoint (specs/audit-log.md)."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.audit.chain import Event, genesis, hash_of
from govarc.audit.checkpoint import MAX_CHECKPOINT_BYTES, MAX_CHECKPOINTS, NAME, Checkpoint, checkpoint_dir, has_keys
from govarc.catalog import audit as sql
from govarc.errors import EXIT_INVALID, EXIT_OK, GovarcError
from govarc.findings import Finding, Level
from govarc.fsutil import UnsafeInputError, read_input
from govarc.limits import MAX_TAG_FILE_BYTES

if TYPE_CHECKING:
    from govarc.workspace import Workspace

MAX_FINDINGS = 1000


@dataclass(frozen=True)
class AuditReport:
    events: int
    head: int
    checkpoints: int
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_INVALID if any(f.level is Level.ERROR for f in self.findings) else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "head": self.head, "checkpoints": self.checkpoints,
                "findings": [f.as_dict() for f in self.findings], "exit_code": self.exit_code}


def _where(seq: int) -> str:
    return f"event {seq}"


class _Chain:
    """Walks the events in sequence order and names what breaks the chain."""

    def __init__(self, conn: sqlite3.Connection, catalog_id: str | None) -> None:
        self.conn = conn
        self.genesis = genesis(catalog_id)
        self.findings: list[Finding] = []
        self._by_hash: dict[str, Event] | None = None
        self._orig: dict[int, int | None] = {}

    def by_hash(self) -> dict[str, Event]:
        if self._by_hash is None:  # only when something is wrong: a map of every event by its hash
            self._by_hash = {e.hash: e for e in sql.iter_events(self.conn)}
        return self._by_hash

    def original_seq(self, e: Event, depth: int = 0) -> int | None:
        """Where ``e`` was when it was written: its own sequence number if its hash holds there, else
        one after the event its ``prev`` names (followed back), else None (its content was changed)."""
        if e.seq in self._orig:
            return self._orig[e.seq]
        if hash_of(e) == e.hash:
            result: int | None = e.seq
        elif e.prev == self.genesis:
            result = 1 if hash_of(e, 1) == e.hash else None
        else:
            before = self.by_hash().get(e.prev)
            o = self.original_seq(before, depth + 1) if before is not None and depth < 50 else None
            result = o + 1 if o is not None and hash_of(e, o + 1) == e.hash else None
        self._orig[e.seq] = result
        return result

    def add(self, code: str, seq: int, message: str) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(code, _where(seq), message))

    def walk(self) -> tuple[int, int, Event | None]:
        count, last_seq, last_hash, last_prev, shift = 0, 0, self.genesis, "", 0
        first: Event | None = None
        for e in sql.iter_events(self.conn):
            count += 1
            first = first or e
            o = self.original_seq(e)
            if o is None:
                self.add("AUDIT_EDITED", e.seq, "its content does not match its hash: a field was changed")
            elif o != e.seq and o + shift != e.seq:
                if e.prev == last_prev and e.seq == last_seq + 1 and o == last_seq:
                    # The event before it claims its place: that one was inserted (and those after moved).
                    self.add("AUDIT_INSERTED", last_seq, f"was inserted: event {e.seq} was written as event {o} "
                             f"and follows event {o - 1}")
                    shift = e.seq - o
                else:
                    self.add("AUDIT_REORDERED", e.seq, f"was written as event {o}: events were reordered")
            elif o == e.seq and e.prev != last_hash:
                if e.seq > last_seq + 1:
                    missing = f"event {last_seq + 1}" if e.seq == last_seq + 2 else f"events {last_seq + 1}-{e.seq - 1}"
                    self.add("AUDIT_DELETED", e.seq, f"follows event {last_seq}: {missing} deleted")
                elif last_seq:
                    self.add("AUDIT_INSERTED", last_seq, f"is not the event that event {e.seq} follows: "
                             "it was replaced or inserted")
            last_seq, last_hash, last_prev = e.seq, e.hash, e.prev
        return count, last_seq, first


def _read_checkpoints(home: Path, findings: list[Finding]) -> list[tuple[Path, Checkpoint, bytes | None]]:
    folder = checkpoint_dir(home)
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    except OSError as e:
        raise GovarcError(f"cannot list the checkpoints: {e.strerror}", str(folder)) from None
    out = []
    for name in names[:MAX_CHECKPOINTS]:
        if not NAME.match(name):
            if not (name.endswith(".p7s") and NAME.match(name[:-4])):
                findings.append(Finding("AUDIT_CHECKPOINT_INVALID", str(folder / name), "is not a checkpoint file"))
            continue
        path = folder / name
        try:
            cp = Checkpoint.parse(read_input(path, home, max_bytes=MAX_CHECKPOINT_BYTES))
        except UnsafeInputError as e:
            findings.append(Finding("AUDIT_CHECKPOINT_INVALID", str(path), e.message))
            continue
        except (ValueError, UnicodeDecodeError, OSError) as e:
            findings.append(Finding("AUDIT_CHECKPOINT_INVALID", str(path), f"cannot be read as a checkpoint: {e}"))
            continue
        if int(NAME.match(name).group(1)) != cp.seq:  # type: ignore[union-attr]
            findings.append(Finding("AUDIT_CHECKPOINT_INVALID", str(path), f"names event {cp.seq}, not its file name's"))
            continue
        sig_path = path.with_name(name + ".p7s")
        sig: bytes | None = None
        if os.path.lexists(sig_path):
            try:
                sig = read_input(sig_path, home, max_bytes=MAX_TAG_FILE_BYTES)
            except (UnsafeInputError, OSError) as e:
                findings.append(Finding("AUDIT_CHECKPOINT_SIGNATURE", str(sig_path), f"cannot be read: {e}"))
                sig = b""
        out.append((path, cp, sig))
    return out


def verify_trail(ws: Workspace) -> AuditReport:
    """Check the audit trail of ``ws``'s catalog against itself and its checkpoints (the catalog is only read)."""
    from govarc.catalog.db import open_readonly
    from govarc.catalog.identity import read_id_file
    from govarc.errors import ConfigError
    from govarc.sign.agency import workspace_policy
    from govarc.sign.documents import verify_document

    if not ws.catalog_path.is_file():
        raise ConfigError("there is no catalog to check", str(ws.catalog_path))
    findings: list[Finding] = []
    checkpoints = _read_checkpoints(ws.home, findings)
    with open_readonly(ws.catalog_path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
        catalog_id = str(row[0]) if row else None
        file_id = read_id_file(ws.home)
        if file_id is not None and catalog_id != file_id:
            findings.append(Finding("AUDIT_CATALOG_REPLACED", str(ws.catalog_path),
                                    f"is catalog {catalog_id}, but catalog.id says {file_id}"))
        chain = _Chain(conn, catalog_id)
        count, head_seq, first = chain.walk()
        findings.extend(chain.findings)
        restart: dict[str, Any] = {}
        if first is not None and first.action == "catalog-rebuild":
            restart = json.loads(first.details).get("chain_restarted") or {}
            if restart:
                findings.append(Finding("AUDIT_CHAIN_RESTARTED", _where(first.seq),
                                        f"the catalog was rebuilt without its events; the last checkpoint found then "
                                        f"named event {restart.get('seq')}: the events up to it are lost"))
        policy = workspace_policy(ws) if any(s for _, _, s in checkpoints) else None
        unsigned = 0
        for path, cp, sig in checkpoints:
            where = str(path)
            if catalog_id is not None and cp.catalog_id != catalog_id:
                findings.append(Finding("AUDIT_CATALOG_REPLACED", where,
                                        f"names catalog {cp.catalog_id}, but the catalog is {catalog_id}"))
                continue
            if sig is None:
                if cp.signer is not None:
                    findings.append(Finding("AUDIT_CHECKPOINT_SIGNATURE", where,
                                            f"names signer {cp.signer} but has no signature"))
                else:
                    unsigned += 1
            elif sig:
                assert policy is not None
                errors = verify_document(cp.document(), sig, where + ".p7s", policy, cp.signer or "")
                if errors:
                    findings.append(Finding("AUDIT_CHECKPOINT_SIGNATURE", where,
                                            f"signature does not hold: {errors[0].code}: {errors[0].message}"))
            if first is not None and cp.first != first.hash:
                if restart and cp.seq <= int(restart.get("seq") or 0):
                    continue  # from the chain before the rebuild, reported as AUDIT_CHAIN_RESTARTED
            e = sql.event_at(conn, cp.seq)
            if e is None:
                findings.append(Finding("AUDIT_DELETED", where, f"anchors event {cp.seq}, but the catalog "
                                        + (f"ends at event {head_seq}" if head_seq < cp.seq else "lacks it")))
            elif e.hash != cp.head:
                findings.append(Finding("AUDIT_CHECKPOINT_MISMATCH", where,
                                        f"anchors event {cp.seq} with hash {cp.head[:16]}…, the catalog's event "
                                        f"{cp.seq} has {e.hash[:16]}…: events up to it were changed"))
        if unsigned:
            why = "the workspace has no key" if not has_keys(ws) else "its key could not be loaded when it was made"
            findings.append(Finding("AUDIT_CHECKPOINT_UNSIGNED", str(checkpoint_dir(ws.home)),
                                    f"{unsigned} checkpoint(s) are unsigned ({why})"))
        anchored = max((cp.seq for _, cp, _ in checkpoints), default=0)
        if head_seq > anchored:
            findings.append(Finding("AUDIT_UNANCHORED", _where(head_seq),
                                    f"events {anchored + 1}-{head_seq} are after the last checkpoint"))
    return AuditReport(count, head_seq, len(checkpoints), tuple(findings))
