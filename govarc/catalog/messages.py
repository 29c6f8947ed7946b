"""The catalog's side of sending in the exchange: messages sent and the state of each recipient.

A message (``messages``) is one package sent by one agency to many recipients; its recipients
(``message_recipients``) each have a role (主送/抄送) and a state that a verified receipt moves on.
The message and its recipients are recorded in one transaction before anything is written to the
hub, so a send that crashes is finished under the same message id. The flow is in ``specs/envelope.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from govarc.catalog import audit
from govarc.catalog.db import Catalog


class MessageState(str, Enum):
    """Where a sent message is (``messages.state``)."""

    SENDING = "sending"  # id and recipients recorded; the package or some envelopes not yet on the hub
    SENT = "sent"  # the package and every recipient's signed envelope are on the hub


class RecipientState(str, Enum):
    """Where one recipient of a message is (``message_recipients.state``)."""

    PENDING = "pending"  # its envelope is not yet published
    DELIVERED = "delivered"  # its signed envelope is in its inbox
    SIGNED_FOR = "signed_for"  # its verified receipt says 签收
    RETURNED = "returned"  # its verified receipt says 退回 (reason kept)


ANSWERED = (RecipientState.SIGNED_FOR, RecipientState.RETURNED)


@dataclass(frozen=True)
class Message:
    """A ``messages`` row."""

    id: str
    sender: str
    archival_code: str | None
    record_id: int | None
    package_sha256: str
    package_size: int
    package_zip: bool
    urgency: str
    deadline: str | None
    created_at: str
    state: MessageState
    title: str
    document_number: str | None
    source: str
    sent_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "sender": self.sender, "archival_code": self.archival_code,
                "package_sha256": self.package_sha256, "package_size": self.package_size, "urgency": self.urgency,
                "deadline": self.deadline, "created_at": self.created_at, "state": self.state.value,
                "title": self.title, "document_number": self.document_number, "sent_at": self.sent_at}


@dataclass(frozen=True)
class Recipient:
    """A ``message_recipients`` row."""

    message_id: str
    recipient: str
    role: str  # 主送 | 抄送
    state: RecipientState
    reason: str | None = None
    receipt_at: str | None = None
    receipt_sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "role": self.role, "state": self.state.value, "reason": self.reason,
                "receipt_at": self.receipt_at, "receipt_sha256": self.receipt_sha256}


_MSG_COLS = ("id, sender, archival_code, record_id, package_sha256, package_size, package_zip, urgency, deadline, "
             "created_at, state, title, document_number, source, sent_at")


def _message(row: Sequence[Any]) -> Message:
    return Message(str(row[0]), str(row[1]), row[2], row[3], str(row[4]), int(row[5]), bool(row[6]), str(row[7]),
                   row[8], str(row[9]), MessageState(row[10]), str(row[11]), row[12], str(row[13]), row[14])


def create_message(catalog: Catalog, m: Message, recipients: Sequence[tuple[str, str]]) -> None:
    """Record ``m`` (state sending) and its ``(code, role)`` recipients in one transaction."""
    with catalog.write() as conn:
        conn.execute(f"INSERT INTO messages ({_MSG_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (m.id, m.sender, m.archival_code, m.record_id, m.package_sha256, m.package_size,
                      1 if m.package_zip else 0, m.urgency, m.deadline, m.created_at, m.state.value, m.title,
                      m.document_number, m.source, m.sent_at))
        conn.executemany(
            "INSERT INTO message_recipients (message_id, recipient, role, position, state) VALUES (?, ?, ?, ?, ?)",
            [(m.id, code, role, i, RecipientState.PENDING.value) for i, (code, role) in enumerate(recipients)])
        audit.append_one(conn, "send-create", m.id, m.sender, archival_code=m.archival_code,
                         package_sha256=m.package_sha256, recipients=[code for code, _ in recipients])


def get_message(catalog: Catalog, message_id: str) -> Message | None:
    row = catalog.conn.execute(f"SELECT {_MSG_COLS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    return _message(row) if row else None


def messages(catalog: Catalog, sender: str | None = None) -> list[Message]:
    """Messages (of ``sender``, or of everyone), oldest first."""
    if sender is None:
        rows = catalog.conn.execute(f"SELECT {_MSG_COLS} FROM messages ORDER BY created_at, id").fetchall()
    else:
        rows = catalog.conn.execute(f"SELECT {_MSG_COLS} FROM messages WHERE sender = ? ORDER BY created_at, id",
                                    (sender,)).fetchall()
    return [_message(r) for r in rows]


def unfinished(catalog: Catalog, sender: str, package_sha256: str) -> list[Message]:
    """``sender``'s messages of this package still ``sending`` (a crashed send to finish)."""
    rows = catalog.conn.execute(
        f"SELECT {_MSG_COLS} FROM messages WHERE sender = ? AND package_sha256 = ? AND state = ? ORDER BY created_at, id",
        (sender, package_sha256, MessageState.SENDING.value)).fetchall()
    return [_message(r) for r in rows]


def recipients(catalog: Catalog, message_id: str) -> list[Recipient]:
    """The recipients of a message in the order they were addressed (主送 first)."""
    rows = catalog.conn.execute(
        "SELECT message_id, recipient, role, state, reason, receipt_at, receipt_sha256 FROM message_recipients "
        "WHERE message_id = ? ORDER BY position", (message_id,)).fetchall()
    return [Recipient(str(r[0]), str(r[1]), str(r[2]), RecipientState(r[3]), r[4], r[5], r[6]) for r in rows]


def set_delivered(catalog: Catalog, message_id: str, recipient: str | Sequence[str]) -> None:
    """Recipients' signed envelopes are on the hub (pending ones only: an answer is never undone); one transaction."""
    codes = [recipient] if isinstance(recipient, str) else list(recipient)
    if not codes:
        return
    with catalog.write() as conn:
        delivered = [c for c in codes if conn.execute(
            "UPDATE message_recipients SET state = ? WHERE message_id = ? AND recipient = ? AND state = ? RETURNING recipient",
            (RecipientState.DELIVERED.value, message_id, c, RecipientState.PENDING.value)).fetchone()]
        if delivered:
            row = conn.execute("SELECT sender FROM messages WHERE id = ?", (message_id,)).fetchone()
            audit.append_one(conn, "send-deliver", message_id, str(row[0]) if row else "", recipients=delivered)


def set_sent(catalog: Catalog, message_id: str, sent_at: str) -> None:
    with catalog.write() as conn:
        row = conn.execute("UPDATE messages SET state = ?, sent_at = COALESCE(sent_at, ?) WHERE id = ? RETURNING sender",
                           (MessageState.SENT.value, sent_at, message_id)).fetchone()
        if row is not None:
            audit.append_one(conn, "send", message_id, str(row[0]), MessageState.SENT.value)


def record_answer(catalog: Catalog, message_id: str, recipient: str, state: RecipientState, reason: str | None,
                  at: str, receipt_sha256: str) -> bool:
    """Count a verified receipt: the recipient becomes signed_for or returned. False when it was answered already."""
    if state not in ANSWERED:
        raise ValueError(f"{state} is not an answer")
    with catalog.write() as conn:
        cur = conn.execute(
            "UPDATE message_recipients SET state = ?, reason = ?, receipt_at = ?, receipt_sha256 = ? "
            "WHERE message_id = ? AND recipient = ? AND state IN (?, ?)",
            (state.value, reason, at, receipt_sha256, message_id, recipient,
             RecipientState.PENDING.value, RecipientState.DELIVERED.value))
        if cur.rowcount <= 0:
            return False
        row = conn.execute("SELECT sender FROM messages WHERE id = ?", (message_id,)).fetchone()
        audit.append_one(conn, "receipt-import", message_id, str(row[0]) if row else "", state.value,
                         recipient=recipient, reason=reason, receipt_sha256=receipt_sha256)
        return True


@dataclass(frozen=True)
class RecordToSend:
    """What the exchange needs of a record of the sender's catalog."""

    record_id: int
    archival_code: str
    title: str
    document_number: str | None
    package_key: str | None  # where its package is, relative to the workspace home


def _record(row: Sequence[Any] | None) -> RecordToSend | None:
    if row is None:
        return None
    return RecordToSend(int(row[0]), str(row[1]), str(row[2]), row[3] or None, row[4])


def record_by_code(catalog: Catalog, agency: str, archival_code: str) -> RecordToSend | None:
    """The record of ``agency`` with this archival code, or None."""
    return _record(catalog.conn.execute(
        "SELECT id, archival_code, title, document_number, package_path FROM records WHERE agency = ? AND archival_code = ?",
        (agency, archival_code)).fetchone())


def record_by_package(catalog: Catalog, agency: str, package_key: str) -> RecordToSend | None:
    """The record of ``agency`` whose package is at ``package_key`` (relative to the home), or None."""
    return _record(catalog.conn.execute(
        "SELECT id, archival_code, title, document_number, package_path FROM records WHERE agency = ? AND package_path = ?",
        (agency, package_key)).fetchone())
