"""Supervision of sent messages (电子监察, ``govarc exchange status``): collect receipts, list who is late.

:func:`collect_receipts` reads, for each message of a sender with recipients not yet answered, the
receipts below ``exchange/receipts/<SENDER>/<MESSAGE_ID>/`` (a receipt counts once its ``.p7s``,
published last, is there). Each is verified before it counts: the detached signature, its chain
and the signer's identity (= the recipient the key names, ``SIGNER_*`` findings otherwise), the
document (hardened, its schema: ``EXCHANGE_ENVELOPE_INVALID``), and that it answers this message
to this addressee with the digest of the package sent (``EXCHANGE_RECEIPT_MISMATCH``). A refused
receipt is reported with its code and never counted. :func:`exchange_status` then shows each
message and recipient, overdue when past the deadline without an answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from govarc.catalog import messages as cm
from govarc.catalog.db import Catalog
from govarc.errors import InvalidInputError
from govarc.exchange.documents import (
    MAX_SIGNATURE_BYTES, ReceiptAction, exchange_receipt_from_xml, receipt_key,
)
from govarc.findings import Finding
from govarc.limits import MAX_EXCHANGE_DOC_BYTES
from govarc.sign.validate import SignaturePolicy
from govarc.transport import Transport, TransportError

SIGNATURE_SUFFIX = ".p7s"


@dataclass(frozen=True)
class Collected:
    """What one collection found: receipts counted now, and receipts refused (one finding each)."""

    counted: tuple[tuple[str, str, str], ...] = ()  # (message id, recipient, 签收|退回)
    refused: tuple[Finding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"counted": [{"message_id": m, "recipient": r, "action": a} for m, r, a in self.counted],
                "refused": [f.as_dict() for f in self.refused]}


def _check_one(catalog: Catalog, m: cm.Message, addressed: dict[str, cm.Recipient], recipient: str,
               transport: Transport, policy: SignaturePolicy) -> tuple[Finding | None, tuple[str, str, str] | None]:
    from govarc.sign.documents import verify_document

    key = receipt_key(m.sender, m.id, recipient)
    where = transport.where(key)
    try:
        sig = transport.read(key + SIGNATURE_SUFFIX, max_size=MAX_SIGNATURE_BYTES)
        xml = transport.read(key, max_size=MAX_EXCHANGE_DOC_BYTES)
    except TransportError as e:
        return Finding("EXCHANGE_ENVELOPE_INVALID", where, f"the receipt cannot be read: {e}"), None
    if recipient not in addressed:
        return Finding("EXCHANGE_RECEIPT_MISMATCH", where,
                       f"a receipt from {recipient}, which is not an addressee of message {m.id}"), None
    errors = verify_document(xml, sig, where + SIGNATURE_SUFFIX, policy, recipient)
    if errors:
        return errors[0], None
    try:
        r = exchange_receipt_from_xml(xml, where)
    except InvalidInputError as e:
        return Finding("EXCHANGE_ENVELOPE_INVALID", where, e.message), None
    problems = []
    if r.message_id != m.id:
        problems.append(f"it names message {r.message_id}, not {m.id}")
    if r.sender_code != m.sender:
        problems.append(f"it names sender {r.sender_code}, not {m.sender}")
    if r.recipient_code != recipient:
        problems.append(f"it names recipient {r.recipient_code}, not {recipient}")
    if r.package_sha256 != m.package_sha256:
        problems.append(f"it answers package {r.package_sha256}, not the one sent ({m.package_sha256})")
    if problems:
        return Finding("EXCHANGE_RECEIPT_MISMATCH", where, "; ".join(problems)), None
    state = cm.RecipientState.SIGNED_FOR if r.action is ReceiptAction.SIGNED_FOR else cm.RecipientState.RETURNED
    if cm.record_answer(catalog, m.id, recipient, state, r.reason, r.at, hashlib.sha256(xml).hexdigest()):
        return None, (m.id, recipient, r.action.value)
    return None, None


def collect_receipts(catalog: Catalog, sender: str, transport: Transport, policy: SignaturePolicy,
                     message_id: str | None = None) -> Collected:
    """Verify and count the receipts on the hub for ``sender``'s messages with unanswered recipients."""
    counted: list[tuple[str, str, str]] = []
    refused: list[Finding] = []
    for m in cm.messages(catalog, sender):
        if message_id is not None and m.id != message_id:
            continue
        rows = cm.recipients(catalog, m.id)
        waiting = {r.recipient for r in rows if r.state not in cm.ANSWERED}
        if not waiting:
            continue
        prefix = f"exchange/receipts/{m.sender}/{m.id}"
        keys = set(transport.list(prefix))
        for key in sorted(keys):
            if not key.endswith(".xml" + SIGNATURE_SUFFIX):
                continue
            name = key[len(prefix) + 1:-len(".xml" + SIGNATURE_SUFFIX)]
            if "/" in name or (name in {r.recipient for r in rows} and name not in waiting):
                continue  # a stray deeper key, or an answer counted already
            finding, done = _check_one(catalog, m, {r.recipient: r for r in rows}, name, transport, policy)
            if finding is not None:
                refused.append(finding)
            if done is not None:
                counted.append(done)
    return Collected(tuple(counted), tuple(refused))


# --- status --------------------------------------------------------------------------------------


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient of a message, and whether it is late."""

    recipient: cm.Recipient
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.recipient.as_dict(), "overdue": self.overdue}


@dataclass(frozen=True)
class MessageStatus:
    """One message and its recipients."""

    message: cm.Message
    recipients: tuple[RecipientStatus, ...]

    @property
    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in cm.RecipientState}
        for r in self.recipients:
            out[r.recipient.state.value] += 1
        out["overdue"] = sum(1 for r in self.recipients if r.overdue)
        return out

    @property
    def overdue(self) -> tuple[str, ...]:
        return tuple(r.recipient.recipient for r in self.recipients if r.overdue)

    def as_dict(self) -> dict[str, Any]:
        return {**self.message.as_dict(), "counts": self.counts, "overdue": list(self.overdue),
                "recipients": [r.as_dict() for r in self.recipients]}


def exchange_status(catalog: Catalog, *, sender: str | None = None, message_id: str | None = None,
                    overdue_only: bool = False, now: dt.datetime | None = None) -> tuple[MessageStatus, ...]:
    """Messages (oldest first) and their recipients; a recipient is overdue when the message has a
    deadline, it is past, and the recipient has neither signed for nor returned it. With
    ``overdue_only``, only overdue recipients (and messages that have one)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for m in cm.messages(catalog, sender):
        if message_id is not None and m.id != message_id:
            continue
        deadline = _when(m.deadline)
        late = deadline is not None and now > deadline
        rows = tuple(RecipientStatus(r, late and r.state not in cm.ANSWERED) for r in cm.recipients(catalog, m.id))
        if overdue_only:
            rows = tuple(r for r in rows if r.overdue)
            if not rows:
                continue
        out.append(MessageStatus(m, rows))
    return tuple(out)
