"""The exchange envelope (交换信封) and the exchange receipt (签收/退回回执) as XML documents.

``specs/envelope.md`` describes both; ``specs/envelope.xsd`` and ``specs/exchange-receipt.xsd`` are
their schemas (namespace ``urn:govarc:exchange:1``). Writing and reading apply the same checks: what
:func:`envelope_to_xml` writes, :func:`envelope_from_xml` reads back; a document that is malformed,
invalid against its schema, over a limit or inconsistent is refused with one
:class:`~govarc.errors.InvalidInputError` naming ``where``.

Both are signed like the transfer documents: a detached DER CMS over the exact bytes (``.p7s``),
made with :func:`govarc.sign.documents.sign_document` and checked with
:func:`govarc.sign.documents.verify_document` (``expected_code`` = the party the document claims).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from lxml import etree

from govarc.domain import ArchivalCode
from govarc.errors import InvalidInputError, MetadataError
from govarc.limits import MAX_EXCHANGE_DOC_BYTES, MAX_RECIPIENTS, MAX_TAG_FILE_BYTES
from govarc.xmldoc import MAX_SIZE, XmlDoc, checked
from govarc.xmldoc import Bad as _Bad
from govarc.xmldoc import match_field as _match
from govarc.xmldoc import text_field as _text
from govarc.xmldoc import timestamp_field as _timestamp
from govarc.xmlsafe import load_schema

NS = "urn:govarc:exchange:1"
VERSION = "1"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
ENVELOPE_SCHEMA_PATH = SCHEMA_DIR / "envelope.xsd"
RECEIPT_SCHEMA_PATH = SCHEMA_DIR / "exchange-receipt.xsd"
DIGEST_ALGORITHM = "SHA-256"

MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,80}")
AGENCY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
PACKAGE_KEY = re.compile(r"exchange/objects/([0-9a-f]{64})\.pkg")
MAX_SIGNATURE_BYTES = MAX_TAG_FILE_BYTES
"""A detached signature (``.p7s``) of an envelope or receipt read from the hub."""


_DOC = XmlDoc(NS, "x", MAX_EXCHANGE_DOC_BYTES, "MAX_EXCHANGE_DOC_BYTES")
_sub, _get, _opt, _parse, _serialize = _DOC.sub, _DOC.get, _DOC.opt, _DOC.parse, _DOC.serialize


class Urgency(str, Enum):
    """紧急程度."""

    URGENT = "特急"
    PRIORITY = "加急"
    NORMAL = "平急"


class Role(str, Enum):
    """How a recipient is addressed."""

    TO = "主送"
    CC = "抄送"


class ReceiptAction(str, Enum):
    """A recipient's answer to a message."""

    SIGNED_FOR = "签收"
    RETURNED = "退回"


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient; the package it names is stored once on the hub."""

    message_id: str
    sender_code: str
    sender_name: str
    recipient_code: str
    role: Role
    to: tuple[str, ...]  # every 主送 addressee (版记), codes
    cc: tuple[str, ...]  # every 抄送 addressee
    urgency: Urgency
    deadline: str | None  # ISO 8601 with offset
    sent_at: str  # ISO 8601 with offset
    archival_code: str | None  # the sender's 档号, when the package is a record of its catalog
    title: str
    document_number: str | None
    package_key: str  # "exchange/objects/<sha256>.pkg"
    package_sha256: str
    package_size: int
    package_zip: bool  # the package is a .zip (folders are zipped for sending)


@dataclass(frozen=True)
class ExchangeReceipt:
    """签收 or 退回 of one message by one recipient, naming the digest of the package it received."""

    message_id: str
    sender_code: str
    recipient_code: str
    recipient_name: str
    action: ReceiptAction
    reason: str | None  # required for 退回, absent for 签收
    package_sha256: str
    at: str  # ISO 8601 with offset


def package_key(sha256: str) -> str:
    """The hub key of a package by its SHA-256."""
    return f"exchange/objects/{sha256}.pkg"


def envelope_key(recipient: str, message_id: str) -> str:
    """The hub key of the envelope of ``message_id`` in ``recipient``'s inbox (its signature: + ``.p7s``)."""
    return f"exchange/inbox/{recipient}/{message_id}.xml"


def receipt_key(sender: str, message_id: str, recipient: str) -> str:
    """The hub key of ``recipient``'s receipt for ``sender``'s message (its signature: + ``.p7s``)."""
    return f"exchange/receipts/{sender}/{message_id}/{recipient}.xml"


# --- checks ------------------------------------------------------------------------------------


def _check_envelope(e: Envelope) -> None:
    _match(MESSAGE_ID, e.message_id, "message id")
    _match(AGENCY_CODE, e.sender_code, "sender code")
    _text(e.sender_name, "sender name")
    _match(AGENCY_CODE, e.recipient_code, "recipient code")
    if not isinstance(e.role, Role):
        raise _Bad(f"role {e.role!r} is not one of {', '.join(r.value for r in Role)}")
    if not isinstance(e.urgency, Urgency):
        raise _Bad(f"urgency {e.urgency!r} is not one of {', '.join(u.value for u in Urgency)}")
    if not isinstance(e.to, tuple) or not isinstance(e.cc, tuple):
        raise _Bad("the addressees are not tuples")
    if not e.to:
        raise _Bad("the message has no 主送 addressee")
    if len(e.to) + len(e.cc) > MAX_RECIPIENTS:
        raise _Bad(f"{len(e.to) + len(e.cc)} addressees; a message has at most {MAX_RECIPIENTS} (MAX_RECIPIENTS)")
    seen: set[str] = set()
    for code in e.to + e.cc:
        _match(AGENCY_CODE, code, "addressee")
        if code.casefold() in seen:
            raise _Bad(f"addressee {code!r} appears twice")
        seen.add(code.casefold())
    listed = e.to if e.role is Role.TO else e.cc
    if e.recipient_code not in listed:
        raise _Bad(f"the recipient {e.recipient_code} is not among the {e.role.value} addressees")
    sent = _timestamp(e.sent_at, "sentAt")
    if e.deadline is not None and _timestamp(e.deadline, "deadline") < sent:
        raise _Bad(f"the deadline {e.deadline} is before the message was sent ({e.sent_at})")
    if e.archival_code is not None:
        try:
            parsed = ArchivalCode.parse(e.archival_code)
        except MetadataError as err:
            raise _Bad(f"archival code: {err.message}") from None
        if parsed.format() != e.archival_code:
            raise _Bad(f"archival code {e.archival_code!r} is not written as {parsed.format()!r}")
    _text(e.title, "title")
    if e.document_number is not None:
        _text(e.document_number, "document number")
    _match(SHA256_HEX, e.package_sha256, "package digest")
    if e.package_key != package_key(e.package_sha256):
        raise _Bad(f"package key {str(e.package_key)[:120]!r} is not {package_key(e.package_sha256)!r}")
    if not isinstance(e.package_size, int) or isinstance(e.package_size, bool) or not 0 <= e.package_size <= MAX_SIZE:
        raise _Bad(f"package size {e.package_size!r} is not a whole number from 0 to {MAX_SIZE}")
    if not isinstance(e.package_zip, bool):
        raise _Bad("package zip is not true or false")


def _check_receipt(r: ExchangeReceipt) -> None:
    _match(MESSAGE_ID, r.message_id, "message id")
    _match(AGENCY_CODE, r.sender_code, "sender code")
    _match(AGENCY_CODE, r.recipient_code, "recipient code")
    _text(r.recipient_name, "recipient name")
    if not isinstance(r.action, ReceiptAction):
        raise _Bad(f"action {r.action!r} is not one of {', '.join(a.value for a in ReceiptAction)}")
    if r.action is ReceiptAction.RETURNED:
        if r.reason is None:
            raise _Bad("a 退回 (return) needs a reason")
        _text(r.reason, "reason")
    elif r.reason is not None:
        raise _Bad("a 签收 carries no reason")
    _match(SHA256_HEX, r.package_sha256, "package digest")
    _timestamp(r.at, "at")


# --- XML ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def envelope_schema() -> etree.XMLSchema:
    return load_schema(ENVELOPE_SCHEMA_PATH)


@lru_cache(maxsize=1)
def receipt_schema() -> etree.XMLSchema:
    return load_schema(RECEIPT_SCHEMA_PATH)


def envelope_to_xml(e: Envelope) -> bytes:
    """The envelope as UTF-8 XML, valid against ``envelope.xsd``; InvalidInputError if ``e`` is not sound."""
    checked(_check_envelope, e, f"envelope {str(e.message_id)[:80]}")
    root = _DOC.root("envelope", version=VERSION, messageId=e.message_id, sentAt=e.sent_at)
    s = _sub(root, "sender")
    _sub(s, "code", e.sender_code)
    _sub(s, "name", e.sender_name)
    r = _sub(root, "recipient", role=e.role.value)
    _sub(r, "code", e.recipient_code)
    a = _sub(root, "addressees")
    for code in e.to:
        _sub(a, "to", code)
    for code in e.cc:
        _sub(a, "cc", code)
    _sub(root, "urgency", e.urgency.value)
    if e.deadline is not None:
        _sub(root, "deadline", e.deadline)
    d = _sub(root, "document")
    _sub(d, "title", e.title)
    if e.document_number is not None:
        _sub(d, "documentNumber", e.document_number)
    if e.archival_code is not None:
        _sub(d, "archivalCode", e.archival_code)
    p = _sub(root, "package")
    _sub(p, "key", e.package_key)
    _sub(p, "digest", e.package_sha256, algorithm=DIGEST_ALGORITHM)
    _sub(p, "size", str(e.package_size))
    _sub(p, "zip", "true" if e.package_zip else "false")
    return _serialize(root, envelope_schema(), "envelope")


def envelope_from_xml(data: bytes, where: str) -> Envelope:
    """Read an envelope: hardened parser, size and depth limits, the XSD, then the semantic checks.

    Raises InvalidInputError (exit 3) naming ``where`` with the first problem.
    """
    root = _parse(data, where, "envelope", envelope_schema(), "envelope")
    ns = {"x": NS}
    try:
        rec = root.find("x:recipient", ns)
        e = Envelope(
            message_id=root.get("messageId", ""), sender_code=_get(root, "x:sender/x:code"),
            sender_name=_get(root, "x:sender/x:name"), recipient_code=_get(root, "x:recipient/x:code"),
            role=Role(rec.get("role") if rec is not None else ""),
            to=tuple(el.text or "" for el in root.iterfind("x:addressees/x:to", ns)),
            cc=tuple(el.text or "" for el in root.iterfind("x:addressees/x:cc", ns)),
            urgency=Urgency(_get(root, "x:urgency")), deadline=_opt(root, "x:deadline"),
            sent_at=root.get("sentAt", ""), archival_code=_opt(root, "x:document/x:archivalCode"),
            title=_get(root, "x:document/x:title"), document_number=_opt(root, "x:document/x:documentNumber"),
            package_key=_get(root, "x:package/x:key"), package_sha256=_get(root, "x:package/x:digest"),
            package_size=int(_get(root, "x:package/x:size")),
            package_zip=_get(root, "x:package/x:zip") in ("true", "1"),
        )
        _check_envelope(e)
    except (_Bad, ValueError) as bad:
        raise InvalidInputError(f"envelope: {bad}", where) from None
    return e


def exchange_receipt_to_xml(r: ExchangeReceipt) -> bytes:
    """The receipt as UTF-8 XML, valid against ``exchange-receipt.xsd``; InvalidInputError if ``r`` is not sound."""
    checked(_check_receipt, r, f"exchange receipt {str(r.message_id)[:80]}")
    root = _DOC.root("exchangeReceipt", version=VERSION, messageId=r.message_id, at=r.at)
    s = _sub(root, "sender")
    _sub(s, "code", r.sender_code)
    rc = _sub(root, "recipient")
    _sub(rc, "code", r.recipient_code)
    _sub(rc, "name", r.recipient_name)
    _sub(root, "action", r.action.value)
    if r.reason is not None:
        _sub(root, "reason", r.reason)
    _sub(root, "packageDigest", r.package_sha256, algorithm=DIGEST_ALGORITHM)
    return _serialize(root, receipt_schema(), "exchange receipt")


def exchange_receipt_from_xml(data: bytes, where: str) -> ExchangeReceipt:
    """Read an exchange receipt: hardened parser, limits, the XSD, the semantic checks (InvalidInputError naming ``where``)."""
    root = _parse(data, where, "exchangeReceipt", receipt_schema(), "exchange receipt")
    try:
        r = ExchangeReceipt(
            message_id=root.get("messageId", ""), sender_code=_get(root, "x:sender/x:code"),
            recipient_code=_get(root, "x:recipient/x:code"), recipient_name=_get(root, "x:recipient/x:name"),
            action=ReceiptAction(_get(root, "x:action")), reason=_opt(root, "x:reason"),
            package_sha256=_get(root, "x:packageDigest"), at=root.get("at", ""),
        )
        _check_receipt(r)
    except (_Bad, ValueError) as bad:
        raise InvalidInputError(f"exchange receipt: {bad}", where) from None
    return r
