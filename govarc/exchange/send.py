"""Send one package to many agencies through the exchange hub (``govarc send``).

The flow (``specs/envelope.md``): resolve the recipients (groups into codes; an unknown code or group
is refused before anything is written), digest the package (a folder is zipped deterministically, as
``transfer run`` does), choose the message id and record the message and its recipients in the
catalog (the commit point), upload the package ONCE to ``exchange/objects/<sha256>.pkg`` (the same
content already there is a no-op), then per recipient publish its envelope and, LAST, the sender's
detached signature over it; recipients are marked delivered in the catalog a batch at a time (one
whose envelope is published but not yet marked is found complete on the hub by a resumed send and
kept as it is). A send retried after a crash (same sender, package and addressees, the
message still ``sending``) finishes the recorded message under the same id: nothing is duplicated.

The caller holds the sender agency's lock (:func:`govarc.lock.agency_lock`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.catalog import messages as cm
from govarc.catalog.db import Catalog
from govarc.package.wire import file_digest, open_regular, zip_folder_package
from govarc.errors import ConfigError, InvalidInputError, SignatureError
from govarc.exchange.documents import (
    MESSAGE_ID, Envelope, Role, Urgency, envelope_key, envelope_to_xml, package_key,
)
from govarc.limits import MAX_RECIPIENTS
from govarc.sign.signer import Signer
from govarc.sign.validate import SignaturePolicy
from govarc.transport import Transport
from govarc.domain import Agency
from govarc.workspace import ExchangeConfig, Workspace

BLOCK = 1024 * 1024
SIGNATURE_SUFFIX = ".p7s"
OUTGOING_DIR = "exchange-outgoing"
DELIVERED_BATCH = 32
"""Recipients marked delivered per catalog transaction (a commit per recipient cost ~30 % of a folder send to 130)."""
_DURATION = re.compile(r"([1-9][0-9]{0,3})([hdw])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def require_exchange(ws: Workspace) -> ExchangeConfig:
    """The ``[exchange]`` settings; ConfigError (exit 6) when the workspace has none."""
    if ws.settings.exchange is None:
        raise ConfigError("no [exchange] in govarc.toml: name the hub (`url`) to exchange documents through",
                          str(ws.home / "govarc.toml"))
    return ws.settings.exchange


def open_hub(ws: Workspace) -> Transport:
    """The transport ``[exchange] url`` names, with its ``[exchange.transport]`` options."""
    from govarc.transport import open_transport

    ex = require_exchange(ws)
    return open_transport(ex.url, base=ws.home, options=ex.transport_options())


# --- pure helpers --------------------------------------------------------------------------------


def parse_deadline(text: str, now: dt.datetime) -> str:
    """``--deadline``: a date (``2026-12-05``: the end of that day, in ``now``'s zone) or a duration
    from ``now`` (``3d``, ``12h``, ``2w``), as ISO 8601 with its offset. A past deadline is refused."""
    text = text.strip()
    local = now.astimezone()
    if _DATE.fullmatch(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"--deadline {text!r} is not a date") from None
        when = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=local.tzinfo)
    elif m := _DURATION.fullmatch(text):
        n, unit = int(m.group(1)), m.group(2)
        when = local + {"h": dt.timedelta(hours=n), "d": dt.timedelta(days=n), "w": dt.timedelta(weeks=n)}[unit]
    else:
        raise InvalidInputError(f"--deadline {text[:40]!r} is neither a date (2026-12-05) nor a duration (3d, 12h, 2w)")
    if when <= local:
        raise InvalidInputError(f"--deadline {text!r} is in the past")
    return when.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Addressees:
    """The recipients of a send as codes: 主送 then 抄送, each once, the sender never among them."""

    to: tuple[str, ...]
    cc: tuple[str, ...]

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((c, Role.TO.value) for c in self.to) + tuple((c, Role.CC.value) for c in self.cc)


def resolve_addressees(ex: ExchangeConfig, known: Sequence[str], sender: str, to: Sequence[str],
                       cc: Sequence[str]) -> Addressees:
    """Groups into codes, checked: every name must be a group of ``[exchange.groups]``, a code of
    the workspace's agencies (``known``) or a code some group lists. Unknown names are refused
    together (``EXCHANGE_UNKNOWN_RECIPIENT``, exit 3). A code both 主送 and 抄送 is 主送; the
    sender is left out of groups and may not be named itself."""
    codes = set(known) | ex.group_codes
    unknown: list[str] = []

    def expand(names: Sequence[str]) -> list[str]:
        out: list[str] = []
        for name in names:
            group = ex.group(name)
            if group is not None:
                out.extend(c for c in group if c != sender)
            elif name == sender:
                raise InvalidInputError(f"{sender} cannot send a message to itself")
            elif name in codes:
                out.append(name)
            else:
                unknown.append(name)
        return out

    to_codes, cc_codes = expand(to), expand(cc)
    if unknown:
        shown = ", ".join(repr(u[:64]) for u in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        raise InvalidInputError(f"EXCHANGE_UNKNOWN_RECIPIENT: {shown}: neither an agency code nor a group of "
                                "[exchange.groups]; nothing was sent")
    to_u = tuple(dict.fromkeys(to_codes))
    cc_u = tuple(c for c in dict.fromkeys(cc_codes) if c not in to_u)
    if not to_u:
        raise InvalidInputError("the message has no 主送 recipient (--to names only the sender or an empty group)")
    if len(to_u) + len(cc_u) > MAX_RECIPIENTS:
        raise InvalidInputError(f"{len(to_u) + len(cc_u)} recipients; a message has at most {MAX_RECIPIENTS} "
                                "(MAX_RECIPIENTS)")
    return Addressees(to_u, cc_u)


def new_message_id(sender: str, now: dt.datetime) -> str:
    """``<SENDER>-<YYYYMMDDHHMMSS>-<8 hex>`` (UTC)."""
    mid = f"{sender}-{now.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    assert MESSAGE_ID.fullmatch(mid)
    return mid


# --- the package ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """The package as it goes on the hub: the file to upload, its digest and size, and what it is."""

    path: Path  # the file uploaded (the package, or its zip in the outgoing folder)
    sha256: str
    size: int
    zip: bool
    source: str  # what the caller named (archival code or path)
    record: cm.RecordToSend | None


def _outgoing(ws: Workspace, sender: str) -> Path:
    return ws.home / OUTGOING_DIR / sender


def prepare_package(ws: Workspace, catalog: Catalog, sender: Agency, source: str) -> Prepared:
    """Find the package ``source`` names (an archival code of the sender's catalog, or a path) and
    digest it; a folder package is zipped deterministically into the workspace's outgoing folder."""
    record = cm.record_by_code(catalog, sender.code, source)
    if record is not None:
        if not record.package_key:
            raise InvalidInputError(f"{source} is registered but not packaged yet: run `govarc package` first")
        resolved = ws.package_store(sender.code).resolve(record.package_key)
        if resolved is None or not os.path.lexists(resolved):
            raise InvalidInputError(f"the package of {source} is not in the store", record.package_key)
        path = resolved
    else:
        path = Path(source)
        if not os.path.lexists(path):
            raise InvalidInputError(f"{source!r} is neither an archival code of {sender.code} nor a package path")
        try:
            key = Path(os.path.relpath(os.path.abspath(path), ws.home)).as_posix()
        except ValueError:
            key = ""
        record = cm.record_by_package(catalog, sender.code, key)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise InvalidInputError("a package to send must not be a symbolic link", str(path))
    if stat.S_ISDIR(st.st_mode):

        out = _outgoing(ws, sender.code)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f"{secrets.token_hex(8)}.zip"
        zip_folder_package(path, tmp)
        sha, size = file_digest(tmp)
        dest = out / f"{sha}.zip"
        os.replace(tmp, dest)
        return Prepared(dest, sha, size, True, source, record)
    sha, size = file_digest(path)
    return Prepared(path, sha, size, path.suffix.lower() == ".zip", source, record)


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendReport:
    """What ``send`` did: the message, its recipients, and what this run wrote to the hub."""

    message_id: str
    sender: str
    package_key: str
    package_sha256: str
    package_size: int
    recipients: tuple[tuple[str, str], ...]  # (code, 主送|抄送)
    resumed: bool
    package_written: bool
    envelopes_written: int
    envelopes_already: int
    deadline: str | None
    urgency: str

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "sender": self.sender, "package_key": self.package_key,
                "package_sha256": self.package_sha256, "package_size": self.package_size,
                "recipients": [{"code": c, "role": r} for c, r in self.recipients], "resumed": self.resumed,
                "package_written": self.package_written, "envelopes_written": self.envelopes_written,
                "envelopes_already": self.envelopes_already, "deadline": self.deadline, "urgency": self.urgency}


def _sign(signer: Signer, data: bytes) -> bytes:
    sigs = signer(data)
    if len(sigs) != 1:
        raise SignatureError(f"the agency's signer gave {len(sigs)} signatures for an envelope, not one")
    return next(iter(sigs.values()))


def envelope_for(m: cm.Message, sender: Agency, rcpt: cm.Recipient, addressees: Addressees) -> Envelope:
    """The envelope of message ``m`` for one recipient: built only from what the catalog recorded,
    so a retry writes the same bytes."""
    return Envelope(
        message_id=m.id, sender_code=m.sender, sender_name=sender.name, recipient_code=rcpt.recipient,
        role=Role(rcpt.role), to=addressees.to, cc=addressees.cc, urgency=Urgency(m.urgency), deadline=m.deadline,
        sent_at=m.created_at, archival_code=m.archival_code, title=m.title, document_number=m.document_number,
        package_key=package_key(m.package_sha256), package_sha256=m.package_sha256, package_size=m.package_size,
        package_zip=m.package_zip,
    )


def _addressees_of(rows: Sequence[cm.Recipient]) -> Addressees:
    return Addressees(tuple(r.recipient for r in rows if r.role == Role.TO.value),
                      tuple(r.recipient for r in rows if r.role == Role.CC.value))


def send(ws: Workspace, catalog: Catalog, sender: Agency, source: str, transport: Transport, *,
         to: Sequence[str], cc: Sequence[str] = (), urgency: Urgency = Urgency.NORMAL, deadline: str | None = None,
         title: str | None = None, signer: Signer | None, policy: SignaturePolicy | None = None,
         now: dt.datetime | None = None,
         on_recipient: Callable[[str, bool], None] | None = None) -> SendReport:
    """Send the package ``source`` (an archival code or a path) from ``sender`` to ``to`` and ``cc``.

    ``deadline`` is ISO 8601 with its offset (see :func:`parse_deadline`); ``title`` is needed
    when the package is no record of the sender's catalog. ``signer`` signs the envelopes (a
    ConfigError when the sender has no key). ``policy``, when given, checks a signature found on
    the hub by a resumed send before it is kept. Transport failures are
    :class:`~govarc.transport.TransportError` (exit 5): re-run the same command to finish.
    """
    ex = require_exchange(ws)
    now = now or dt.datetime.now(dt.timezone.utc)
    addressees = resolve_addressees(ex, [a.code for a in ws.agencies], sender.code, to, cc)
    if signer is None:
        raise ConfigError(f"agency {sender.code} has no key: an envelope must be signed "
                          f"(`govarc pki issue {sender.code}` or `govarc pki import`)")
    prepared = prepare_package(ws, catalog, sender, source)
    message: cm.Message | None = None
    for m in cm.unfinished(catalog, sender.code, prepared.sha256):
        if _addressees_of(cm.recipients(catalog, m.id)) == addressees:
            message = m
            break
    resumed = message is not None
    xmls: dict[str, bytes] = {}
    if message is None:
        record = prepared.record
        doc_title = title or (record.title if record else None)
        if not doc_title:
            raise InvalidInputError(f"{source!r} is no record of {sender.code}'s catalog: give its --title")
        message = cm.Message(
            id=new_message_id(sender.code, now), sender=sender.code,
            archival_code=record.archival_code if record else None, record_id=record.record_id if record else None,
            package_sha256=prepared.sha256, package_size=prepared.size, package_zip=prepared.zip,
            urgency=urgency.value, deadline=deadline, created_at=now.astimezone().isoformat(timespec="seconds"),
            state=cm.MessageState.SENDING, title=doc_title,
            document_number=record.document_number if record else None, source=source,
        )
        # every envelope must be writable before the message is recorded (a bad title fails here); the
        # envelope depends only on what is recorded, so these are the bytes published below
        for code, role in addressees.pairs:
            xmls[code] = envelope_to_xml(envelope_for(message, sender, cm.Recipient(
                message.id, code, role, cm.RecipientState.PENDING), addressees))
        cm.create_message(catalog, message, addressees.pairs)
    pkg_key = package_key(prepared.sha256)
    with os.fdopen(open_regular(prepared.path, "a package to send"), "rb") as f:
        # The key names the content: an object there with other bytes was damaged on the hub, and is replaced.
        put = transport.put(pkg_key, f, size=prepared.size, sha256=prepared.sha256, overwrite=True)
    written = already = 0
    delivered: list[str] = []  # published, not yet marked: a crash leaves them pending, and a resumed send
    for rcpt in cm.recipients(catalog, message.id):  # finds them on the hub (``_published``) and keeps them
        if rcpt.state is not cm.RecipientState.PENDING:
            already += 1
            continue
        xml = xmls.get(rcpt.recipient) or envelope_to_xml(envelope_for(message, sender, rcpt, addressees))
        key = envelope_key(rcpt.recipient, message.id)
        if resumed and _published(transport, key, xml, policy, sender.code):
            already += 1
        else:
            transport.publish(key, xml, overwrite=True)
            transport.publish(key + SIGNATURE_SUFFIX, _sign(signer, xml), overwrite=True)  # last
            written += 1
        delivered.append(rcpt.recipient)
        if len(delivered) >= DELIVERED_BATCH:
            cm.set_delivered(catalog, message.id, delivered)
            delivered = []
        if on_recipient:
            on_recipient(rcpt.recipient, True)
    cm.set_delivered(catalog, message.id, delivered)
    cm.set_sent(catalog, message.id, now.astimezone().isoformat(timespec="seconds"))
    if prepared.path.parent == _outgoing(ws, sender.code):  # the zip of a folder package: on the hub now
        prepared.path.unlink(missing_ok=True)
    return SendReport(message.id, sender.code, pkg_key, prepared.sha256, prepared.size, addressees.pairs, resumed,
                      put.written, written, already, message.deadline, message.urgency)


def _published(transport: Transport, key: str, xml: bytes, policy: SignaturePolicy | None, sender: str) -> bool:
    """True when a crashed run already published this envelope and a valid signature by ``sender`` over it.

    False means the envelope is published (again, overwriting what is there)."""
    from govarc.exchange.documents import MAX_SIGNATURE_BYTES
    from govarc.sign.documents import verify_document

    from govarc.transport import DigestMismatchError, ObjectNotFoundError, ObjectTooLargeError

    if policy is None or not transport.exists(key + SIGNATURE_SUFFIX) or not transport.exists(key):
        return False
    try:
        if transport.read(key, max_size=len(xml) + 1) != xml:
            return False
        sig = transport.read(key + SIGNATURE_SUFFIX, max_size=MAX_SIGNATURE_BYTES)
    except DigestMismatchError:
        # changed on the hub under the digest stored with it: a put would take it for the same bytes and skip
        # it, so it goes (the signature first: the inbox never shows an envelope without it) and is published anew
        transport.delete(key + SIGNATURE_SUFFIX)
        transport.delete(key)
        return False
    except (ObjectNotFoundError, ObjectTooLargeError):
        return False  # gone meanwhile, or oversized: published again
    return not verify_document(xml, sig, transport.where(key + SIGNATURE_SUFFIX), policy, sender)
