"""The catalog's side of the exchange for a recipient: messages received (收文) and envelopes refused.

``incoming`` has one row per message an agency received, keyed by (message id, recipient). It is
registered as 收文 **without** an archival code of the recipient (nothing goes into ``records``):
the package is kept as received (``package_path``, a key relative to the workspace home) with the
envelope's digest and metadata (JSON). ``state`` is :class:`IncomingState`: ``received`` →
``handed_over`` (the OA took it) or ``oa_failed`` (retried next run) → ``signed_for`` / ``returned``
once the recipient answered. ``incoming_refused`` remembers each envelope refused (by its digest),
so that a bad envelope is reported once, and judged afresh only when its bytes or its signature
change (the row's ``envelope_sha256`` there is the SHA-256 of ``"<envelope sha256> <signature sha256>"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from govarc.catalog import audit
from govarc.catalog.db import Catalog


class IncomingState(str, Enum):
    RECEIVED = "received"  # verified and kept; not (yet) handed to an OA
    HANDED_OVER = "handed_over"
    OA_FAILED = "oa_failed"
    SIGNED_FOR = "signed_for"  # 签收
    RETURNED = "returned"  # 退回

    @property
    def answered(self) -> bool:
        return self in (IncomingState.SIGNED_FOR, IncomingState.RETURNED)


@dataclass(frozen=True)
class Incoming:
    """One message received by ``recipient``."""

    message_id: str
    recipient: str
    sender: str
    envelope_sha256: str
    package_sha256: str
    package_size: int
    received_at: str
    package_path: str  # key relative to the workspace home: incoming/<RECIPIENT>/<MESSAGE_ID>.zip
    metadata: dict[str, Any]  # what the envelope says (the JSON the OA gets)
    state: IncomingState = IncomingState.RECEIVED
    oa_attempts: int = 0
    oa_error: str | None = None
    handed_over_at: str | None = None
    answer_reason: str | None = None
    answered_at: str | None = None
    receipt_sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "recipient": self.recipient, "sender": self.sender,
                "state": self.state.value, "received_at": self.received_at, "package_path": self.package_path,
                "package_sha256": self.package_sha256, "package_size": self.package_size,
                "oa_attempts": self.oa_attempts, "oa_error": self.oa_error, "handed_over_at": self.handed_over_at,
                "reason": self.answer_reason, "answered_at": self.answered_at,
                "title": self.metadata.get("title"), "urgency": self.metadata.get("urgency"),
                "deadline": self.metadata.get("deadline")}


@dataclass(frozen=True)
class Refused:
    """An envelope refused: its digest, finding code, one-line reason and exit code."""

    message_id: str
    recipient: str
    envelope_sha256: str
    code: str
    reason: str
    exit_code: int
    refused_at: str


_COLUMNS = ("message_id, recipient, sender, envelope_sha256, package_sha256, package_size, received_at, package_path, "
            "metadata, state, oa_attempts, oa_error, handed_over_at, answer_reason, answered_at, receipt_sha256")


def _row(r: tuple[Any, ...]) -> Incoming:
    return Incoming(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7], json.loads(r[8]), IncomingState(r[9]),
                    int(r[10]), r[11], r[12], r[13], r[14], r[15])


def get(cat: Catalog, message_id: str, recipient: str) -> Incoming | None:
    row = cat.conn.execute(f"SELECT {_COLUMNS} FROM incoming WHERE message_id=? AND recipient=?",
                           (message_id, recipient)).fetchone()
    return None if row is None else _row(row)


def received(cat: Catalog, recipient: str, states: tuple[IncomingState, ...] = ()) -> list[Incoming]:
    """The messages ``recipient`` received (only those in ``states`` when given), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM incoming WHERE recipient=?"
    params: list[Any] = [recipient]
    if states:
        sql += f" AND state IN ({', '.join('?' for _ in states)})"
        params += [s.value for s in states]
    return [_row(r) for r in cat.conn.execute(sql + " ORDER BY received_at, message_id", params)]


def register(cat: Catalog, m: Incoming) -> Incoming:
    """Record a message received; a row already there (a re-run after a crash) is kept and returned."""
    with cat.write() as conn:
        cur = conn.execute(
            f"INSERT INTO incoming ({_COLUMNS}) VALUES ({', '.join('?' for _ in range(16))}) "
            "ON CONFLICT (message_id, recipient) DO NOTHING",
            (m.message_id, m.recipient, m.sender, m.envelope_sha256, m.package_sha256, m.package_size, m.received_at,
             m.package_path, json.dumps(m.metadata, ensure_ascii=False, sort_keys=True), m.state.value, m.oa_attempts,
             m.oa_error, m.handed_over_at, m.answer_reason, m.answered_at, m.receipt_sha256))
        if cur.rowcount > 0:
            audit.append_one(conn, "receive", m.message_id, m.recipient, sender=m.sender, package_sha256=m.package_sha256)
    got = get(cat, m.message_id, m.recipient)
    assert got is not None
    return got


def record_hand_over(cat: Catalog, message_id: str, recipient: str, error: str | None, at: str) -> None:
    """One hand-over attempt: ``handed_over`` when ``error`` is None, else ``oa_failed`` with it.

    An answered message keeps its state (the attempt is only counted).
    """
    state = IncomingState.HANDED_OVER if error is None else IncomingState.OA_FAILED
    with cat.write() as conn:
        conn.execute(
            "UPDATE incoming SET oa_attempts = oa_attempts + 1, oa_error=?, "
            "handed_over_at = CASE WHEN ? IS NULL THEN ? ELSE handed_over_at END, "
            "state = CASE WHEN state IN ('signed_for', 'returned') THEN state ELSE ? END "
            "WHERE message_id=? AND recipient=?",
            (error, error, at, state.value, message_id, recipient))
        audit.append_one(conn, "hand-over", message_id, recipient, "ok" if error is None else "failed",
                         error=error)


def record_answer(cat: Catalog, message_id: str, recipient: str, state: IncomingState, reason: str | None,
                  receipt_sha256: str, at: str) -> None:
    """The recipient answered (签收 or 退回) and its receipt was published."""
    assert state.answered
    with cat.write() as conn:
        conn.execute("UPDATE incoming SET state=?, answer_reason=?, receipt_sha256=?, answered_at=? "
                     "WHERE message_id=? AND recipient=?", (state.value, reason, receipt_sha256, at, message_id, recipient))
        audit.append_one(conn, "sign-for" if state is IncomingState.SIGNED_FOR else "return", message_id, recipient,
                         state.value, reason=reason, receipt_sha256=receipt_sha256)


def refused(cat: Catalog, message_id: str, recipient: str, envelope_sha256: str) -> Refused | None:
    row = cat.conn.execute("SELECT message_id, recipient, envelope_sha256, code, reason, exit_code, refused_at "
                           "FROM incoming_refused WHERE message_id=? AND recipient=? AND envelope_sha256=?",
                           (message_id, recipient, envelope_sha256)).fetchone()
    return None if row is None else Refused(*row)


def record_refused(cat: Catalog, r: Refused) -> None:
    with cat.write() as conn:
        cur = conn.execute("INSERT INTO incoming_refused (message_id, recipient, envelope_sha256, code, reason, exit_code, "
                           "refused_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           (r.message_id, r.recipient, r.envelope_sha256, r.code, r.reason, r.exit_code, r.refused_at))
        if cur.rowcount > 0:
            audit.append_one(conn, "receive", r.message_id, r.recipient, "refused", code=r.code, reason=r.reason)
