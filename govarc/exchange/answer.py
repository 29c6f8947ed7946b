"""The recipient's answer to a message it received: 签收 (sign for) or 退回 (return, with a reason).

The answer is an :class:`~govarc.exchange.documents.ExchangeReceipt` naming the message id and the
SHA-256 of the package as received, signed by the recipient (detached CMS), published on the hub
as ``exchange/receipts/<SENDER>/<MESSAGE_ID>/<RECIPIENT>.xml`` and then, last, its ``.p7s``. A
copy stays beside the message in ``incoming/<CODE>/`` (``<MESSAGE_ID>.receipt.xml`` and ``.p7s``).

Idempotent: the same answer again is a no-op (it is published again only where it is missing,
with the same bytes); a different answer (签收 after 退回, another reason) after one was published
is refused (exit 3). The receipt bytes are written locally before anything goes to the hub, so a
run killed at any point publishes the same receipt when repeated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from govarc.catalog import incoming as inc
from govarc.catalog.db import Catalog
from govarc.catalog.incoming import IncomingState
from govarc.domain import Agency
from govarc.errors import GovarcError, InvalidInputError
from govarc.exchange.documents import (
    MESSAGE_ID, ExchangeReceipt, ReceiptAction, exchange_receipt_from_xml, exchange_receipt_to_xml, receipt_key,
)
from govarc.exchange.receive import INCOMING_DIR, SIGNATURE_SUFFIX, Sign
from govarc.fsutil import write_atomic
from govarc.limits import MAX_EXCHANGE_DOC_BYTES, MAX_TAG_FILE_BYTES
from govarc.transport import Transport
from govarc.workspace import Workspace

STATE_OF = {ReceiptAction.SIGNED_FOR: IncomingState.SIGNED_FOR, ReceiptAction.RETURNED: IncomingState.RETURNED}


@dataclass(frozen=True)
class AnswerResult:
    """An answer given: ``published`` now, or ``unchanged`` (the same answer was given before)."""

    message_id: str
    sender: str
    recipient: str
    action: ReceiptAction
    reason: str | None
    state: str
    receipt_key: str
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "sender": self.sender, "recipient": self.recipient,
                "action": self.action.value, "reason": self.reason, "state": self.state, "receipt": self.receipt_key}


def _same(r: ExchangeReceipt, action: ReceiptAction, reason: str | None) -> bool:
    return r.action is action and r.reason == reason


def _describe(action: ReceiptAction, reason: str | None) -> str:
    return action.value + (f"（{reason}）" if reason else "")


def answer(ws: Workspace, cat: Catalog, transport: Transport, agency: Agency, message_id: str, action: ReceiptAction,
           reason: str | None, sign: Sign, *, now: dt.datetime | None = None) -> AnswerResult:
    """Give ``agency``'s answer to message ``message_id`` it received (see the module docstring).

    InvalidInputError: no such message was received, the answer is not well-formed (a 退回 needs a
    reason, a 签收 takes none), or another answer was given before.
    """
    if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
        raise InvalidInputError(f"{str(message_id)[:80]!r} is not a message id")
    row = inc.get(cat, message_id, agency.code)
    if row is None:
        raise InvalidInputError(f"agency {agency.code} has received no message {message_id} "
                                "(`govarc receive` first; `govarc inbox` lists what is waiting)")
    if action is ReceiptAction.RETURNED and (reason is None or not reason.strip()):
        raise InvalidInputError("a return (退回) needs a reason: --reason TEXT")
    if action is ReceiptAction.SIGNED_FOR:
        reason = None
    else:
        assert reason is not None
        reason = reason.strip()
    key = receipt_key(row.sender, message_id, agency.code)
    where = transport.where(key)
    if row.state.answered:
        before = ReceiptAction.SIGNED_FOR if row.state is IncomingState.SIGNED_FOR else ReceiptAction.RETURNED
        if before is not action or row.answer_reason != reason:
            raise InvalidInputError(f"message {message_id} was answered {_describe(before, row.answer_reason)} on "
                                    f"{row.answered_at}; a different answer is refused", where)
    folder = ws.home / INCOMING_DIR / agency.code
    local_xml = folder / f"{message_id}.receipt.xml"
    local_sig = folder / f"{message_id}.receipt.xml{SIGNATURE_SUFFIX}"
    # What the hub holds already (a published answer stands; its bytes are reused).
    xml: bytes | None = None
    sig: bytes | None = None
    if transport.exists(key + SIGNATURE_SUFFIX):
        hub_xml = transport.read(key, max_size=MAX_EXCHANGE_DOC_BYTES)
        try:
            published = exchange_receipt_from_xml(hub_xml, where)
        except GovarcError:
            published = None
        if published is not None and published.recipient_code == agency.code and published.message_id == message_id:
            if not _same(published, action, reason):
                raise InvalidInputError(f"message {message_id} was answered "
                                        f"{_describe(published.action, published.reason)} on {published.at}; "
                                        "a different answer is refused", where)
            xml, sig = hub_xml, transport.read(key + SIGNATURE_SUFFIX, max_size=MAX_TAG_FILE_BYTES)
    if xml is None and local_xml.is_file():
        try:
            kept = exchange_receipt_from_xml(local_xml.read_bytes(), str(local_xml))
            if _same(kept, action, reason):
                xml = local_xml.read_bytes()
        except GovarcError:
            pass
    if xml is None:
        at = (now or dt.datetime.now(dt.timezone.utc)).astimezone().isoformat(timespec="seconds")
        xml = exchange_receipt_to_xml(ExchangeReceipt(message_id, row.sender, agency.code, agency.name, action, reason,
                                                      row.package_sha256, at))
    folder.mkdir(parents=True, exist_ok=True)
    if not local_xml.is_file() or local_xml.read_bytes() != xml:
        write_atomic(local_xml, xml)
        if local_sig.exists():
            local_sig.unlink()
    if sig is None and local_sig.is_file():
        sig = local_sig.read_bytes()
    if sig is None:
        sig = sign(xml)
        write_atomic(local_sig, sig)
    state = "unchanged" if row.state.answered and transport.exists(key + SIGNATURE_SUFFIX) else "published"
    transport.publish(key, xml, overwrite=not transport.exists(key + SIGNATURE_SUFFIX))
    transport.publish(key + SIGNATURE_SUFFIX, sig)
    if not row.state.answered:
        at_text = exchange_receipt_from_xml(xml, str(local_xml)).at
        inc.record_answer(cat, message_id, agency.code, STATE_OF[action], reason, hashlib.sha256(xml).hexdigest(),
                          at_text)
    return AnswerResult(message_id, row.sender, agency.code, action, reason, state, key)
