"""Receiving from the exchange hub (收文): every complete envelope in an agency's inbox → verified → kept → OA.

For each ``exchange/inbox/<CODE>/<MESSAGE_ID>.xml`` whose ``.p7s`` exists (the sender publishes it
last), in message-id order:

1. the envelope is read (hardened, against ``envelope.xsd``, within MAX_EXCHANGE_DOC_BYTES) and
   must be the one its key names, from the sender its message id names
   (``EXCHANGE_ENVELOPE_INVALID``); its detached signature must verify against the trust store and
   be the claimed sender's (``SIGNER_WRONG_AGENCY``, ``SIGNATURE_*``);
2. it must be addressed to this agency, which must be a listed addressee in its role
   (``EXCHANGE_NOT_ADDRESSED``); a message id already received under other envelope bytes is
   ``EXCHANGE_DUPLICATE`` (a warning: nothing is handed over twice); one sent longer ago than
   ``duplicate_window_days`` and never received is ``EXCHANGE_REPLAY``;
3. the package is downloaded, its size and SHA-256 checked against the envelope
   (``EXCHANGE_PACKAGE_MISMATCH``), and verified as a package whose signature is the sender's
   (the package's own finding codes);
4. it is kept in ``incoming/<CODE>/<MESSAGE_ID>.zip`` with its metadata (``.json``) and the signed
   envelope, registered in the catalog's ``incoming`` table (收文, no archival code of the
   recipient), then handed to the agency's OA (:mod:`govarc.exchange.oa`): failure is
   ``EXCHANGE_OA_FAILED``, retried on the next run. With ``auto_sign_for`` a successful hand-over
   is answered with a signed 签收 (:mod:`govarc.exchange.answer`).

A refused envelope is recorded with its digest and reported once; it is judged afresh only when
its bytes change. One bad message never stops the others. Every step is safe to repeat: a run
killed at any point converges on the next, and a message handed over is never handed over again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.catalog import incoming as inc
from govarc.catalog.db import Catalog
from govarc.catalog.incoming import IncomingState
from govarc.domain import Agency
from govarc.errors import EXIT_INVALID, EXIT_OK, EXIT_SIGNATURE, EXIT_TRANSFER, ConfigError, GovarcError
from govarc.exchange import oa
from govarc.exchange.documents import MESSAGE_ID, Envelope, Role, envelope_from_xml, envelope_key
from govarc.findings import Level
from govarc.fsutil import fsync_path, write_atomic
from govarc.limits import MAX_EXCHANGE_DOC_BYTES, MAX_TAG_FILE_BYTES
from govarc.sign.validate import SignaturePolicy
from govarc.transport import (
    DigestMismatchError, ObjectNotFoundError, ObjectTooLargeError, Transport, TransportError,
)
from govarc.workspace import ExchangeConfig, Workspace

INBOX = "exchange/inbox"
SIGNATURE_SUFFIX = ".p7s"
INCOMING_DIR = "incoming"
FUTURE_SKEW = dt.timedelta(days=1)
"""An envelope may claim to be sent at most this far ahead of the recipient's clock."""

Sign = Callable[[bytes], bytes]
"""Makes a detached CMS signature over a document with the recipient's key (for 签收 receipts)."""
Progress = Callable[[str], None]


@dataclass(frozen=True)
class MessageOutcome:
    """What one run did with one message.

    ``state``: ``handed_over``, ``received`` (kept; no OA configured), ``oa_failed``, ``signed_for``
    (handed over and signed for automatically), ``duplicate``, ``refused``, ``skipped`` (refused
    before, unchanged) or ``failed`` (the hub could not be read; tried again next run).
    """

    message_id: str
    state: str
    sender: str | None = None
    title: str | None = None
    code: str | None = None
    message: str = ""
    exit_code: int = EXIT_OK

    def line(self) -> str:
        head = f"{self.message_id}: {self.state}"
        if self.sender:
            head += f" from {self.sender}"
        if self.title:
            head += f" 《{self.title}》"
        if self.code:
            head += f" [{self.code}]"
        return head + (f": {self.message}" if self.message else "")

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "state": self.state, "sender": self.sender, "title": self.title,
                "code": self.code, "message": self.message, "exit_code": self.exit_code}


@dataclass(frozen=True)
class ReceiveReport:
    """What ``govarc receive`` did for one agency; ``exit_code`` is the worst message's."""

    agency: str
    messages: tuple[MessageOutcome, ...] = ()

    @property
    def exit_code(self) -> int:
        return max((m.exit_code for m in self.messages), default=EXIT_OK)

    def count(self, *states: str) -> int:
        return sum(1 for m in self.messages if m.state in states)

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "messages": [m.as_dict() for m in self.messages], "exit_code": self.exit_code}


@dataclass(frozen=True)
class ReceiveSettings:
    """The policy of a receiving run: the trust store, the duplicate window, and the clock."""

    policy: SignaturePolicy
    window_days: int = 30
    now: dt.datetime | None = None

    def clock(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.astimezone().isoformat(timespec="seconds")


def complete_envelopes(transport: Transport, code: str) -> list[str]:
    """The message ids of every envelope in ``code``'s inbox whose signature is published; odd names are ignored."""
    keys = set(transport.list(f"{INBOX}/{code}"))
    found = []
    for key in keys:
        name = key[len(INBOX) + len(code) + 2:]
        if "/" in name or not name.endswith(".xml" + SIGNATURE_SUFFIX):
            continue
        mid = name[: -len(".xml" + SIGNATURE_SUFFIX)]
        if MESSAGE_ID.fullmatch(mid) and envelope_key(code, mid) in keys:
            found.append(mid)
    return sorted(found)


class _Refusal(Exception):
    def __init__(self, code: str, message: str, exit_code: int, sender: str | None = None,
                 title: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.exit_code, self.sender, self.title = code, message, exit_code, sender, title


def read_envelope(transport: Transport, code: str, mid: str, policy: SignaturePolicy) -> tuple[bytes, bytes, Envelope]:
    """The envelope of ``mid`` in ``code``'s inbox with its signature, read and checked (steps 1 of the module
    docstring); raises ``_Refusal`` with the finding code."""
    key = envelope_key(code, mid)
    where = transport.where(key)
    try:
        xml = transport.read(key, max_size=MAX_EXCHANGE_DOC_BYTES)
        sig = transport.read(key + SIGNATURE_SUFFIX, max_size=MAX_TAG_FILE_BYTES)
    except ObjectTooLargeError as e:
        raise _Refusal("EXCHANGE_ENVELOPE_INVALID", e.message, EXIT_INVALID) from None
    except DigestMismatchError as e:  # the bytes differ from the digest stored with them: changed on the hub
        raise _Refusal("EXCHANGE_ENVELOPE_INVALID", f"changed on the hub after it was published: {e.message}",
                       EXIT_INVALID) from None
    except ObjectNotFoundError as e:
        raise _Refusal("EXCHANGE_ENVELOPE_INVALID", f"gone while being read: {e.message}", EXIT_INVALID) from None
    try:
        env = envelope_from_xml(xml, where)
    except GovarcError as e:
        raise _Refusal("EXCHANGE_ENVELOPE_INVALID", e.message, EXIT_INVALID) from None
    if env.message_id != mid:
        raise _Refusal("EXCHANGE_ENVELOPE_INVALID", f"the envelope is message {env.message_id}, published as {mid}",
                       EXIT_INVALID, env.sender_code, env.title)
    if not mid.startswith(env.sender_code + "-"):
        raise _Refusal("EXCHANGE_ENVELOPE_INVALID", f"message id {mid} is not one of sender {env.sender_code}'s "
                       f"({env.sender_code}-…)", EXIT_INVALID, env.sender_code, env.title)
    from govarc.sign.documents import verify_document

    errors = verify_document(xml, sig, where + SIGNATURE_SUFFIX, policy, env.sender_code)
    if errors:
        f = errors[0]
        raise _Refusal(f.code, f"the envelope is not validly signed by its sender {env.sender_code}: {f.message}",
                       EXIT_SIGNATURE, env.sender_code, env.title)
    return xml, sig, env


def _addressed(env: Envelope, code: str) -> None:
    listed = env.to if env.role is Role.TO else env.cc
    if env.recipient_code != code:
        raise _Refusal("EXCHANGE_NOT_ADDRESSED", f"the envelope is for {env.recipient_code}, found in {code}'s inbox",
                       EXIT_INVALID, env.sender_code, env.title)
    if code not in listed:
        raise _Refusal("EXCHANGE_NOT_ADDRESSED", f"{code} is not among the message's {env.role.value} addressees",
                       EXIT_INVALID, env.sender_code, env.title)


def metadata(env: Envelope, received_at: str) -> dict[str, Any]:
    """What the OA (and ``govarc inbox``) learn of a message: the envelope's fields and when it was received."""
    return {"message_id": env.message_id, "sender_code": env.sender_code, "sender_name": env.sender_name,
            "recipient_code": env.recipient_code, "role": env.role.value, "to": list(env.to), "cc": list(env.cc),
            "urgency": env.urgency.value, "deadline": env.deadline, "sent_at": env.sent_at,
            "archival_code": env.archival_code, "title": env.title, "document_number": env.document_number,
            "package": f"{env.message_id}.zip", "package_sha256": env.package_sha256,
            "package_size": env.package_size, "received_at": received_at}


def incoming_dir(ws: Workspace, code: str) -> Path:
    """Where agency ``code`` keeps what it received: ``incoming/<CODE>/``."""
    return ws.home / INCOMING_DIR / code


def _fetch_package(ws: Workspace, transport: Transport, code: str, env: Envelope, policy: SignaturePolicy) -> Path:
    """Download and verify the package into the staging folder; the staged path, or ``_Refusal``."""
    from govarc.package.verify import verify_package
    from govarc.sign.validate import make_signature_check

    staging = ws.tmp_dir / "exchange" / code
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / f"{env.message_id}.zip"
    if os.path.lexists(staged):
        os.unlink(staged)
    mismatch = "EXCHANGE_PACKAGE_MISMATCH"
    try:
        info = transport.download(env.package_key, staged, env.package_sha256, max_size=env.package_size)
    except ObjectNotFoundError:
        raise _Refusal(mismatch, f"the package {env.package_key} is not on the hub", EXIT_INVALID,
                       env.sender_code, env.title) from None
    except ObjectTooLargeError:
        raise _Refusal(mismatch, f"the package is larger than the {env.package_size} bytes the envelope gives",
                       EXIT_INVALID, env.sender_code, env.title) from None
    except DigestMismatchError:
        raise _Refusal(mismatch, "the package's SHA-256 differs from the envelope's", EXIT_INVALID,
                       env.sender_code, env.title) from None
    if info.size != env.package_size or info.sha256 != env.package_sha256:
        os.unlink(staged)
        raise _Refusal(mismatch, f"the package is {info.size} bytes with SHA-256 {info.sha256}; the envelope gives "
                       f"{env.package_size} bytes, {env.package_sha256}", EXIT_INVALID, env.sender_code, env.title)
    result = verify_package(staged, extra=make_signature_check(policy), workers=1)
    errors = [f for f in result.findings if f.level is Level.ERROR]
    signed = [s for s in result.signers if s.get("agency_code") == env.sender_code and s.get("valid")]
    if errors or not signed:
        os.unlink(staged)
        if errors:
            f = errors[0]
            raise _Refusal(f.code, f"the package does not verify: {f.path}: {f.message}", result.exit_code,
                           env.sender_code, env.title)
        raise _Refusal("SIGNER_WRONG_AGENCY", f"the package is not signed by its sender {env.sender_code}",
                       EXIT_SIGNATURE, env.sender_code, env.title)
    return staged


def _keep(ws: Workspace, code: str, env: Envelope, xml: bytes, sig: bytes, staged: Path, received_at: str) -> str:
    """Move the verified package into ``incoming/<CODE>/`` beside its metadata and signed envelope; its key."""
    folder = incoming_dir(ws, code)
    folder.mkdir(parents=True, exist_ok=True)
    mid = env.message_id
    write_atomic(folder / f"{mid}.envelope.xml", xml)
    write_atomic(folder / f"{mid}.envelope.xml{SIGNATURE_SUFFIX}", sig)
    write_atomic(folder / f"{mid}.json", oa.metadata_json(metadata(env, received_at)))
    os.replace(staged, folder / f"{mid}.zip")
    fsync_path(folder)
    return f"{INCOMING_DIR}/{code}/{mid}.zip"


def _hand_over(ws: Workspace, cat: Catalog, agency: Agency, row: inc.Incoming, transport: Transport,
               sign: Sign | None, now: dt.datetime) -> MessageOutcome:
    """Hand a kept message to the OA (when configured and not yet done), then sign for it when the agency says so."""
    title, sender = row.metadata.get("title"), row.sender
    state = row.state
    if oa.configured(agency) and state in (IncomingState.RECEIVED, IncomingState.OA_FAILED):
        package = ws.home / row.package_path
        result = oa.hand_over(agency, package, package.with_suffix(".json"), row.message_id,
                              ws.tmp_dir / "exchange" / agency.code)
        inc.record_hand_over(cat, row.message_id, agency.code, result.error, _iso(now))
        if not result.ok:
            return MessageOutcome(row.message_id, IncomingState.OA_FAILED.value, sender, title, "EXCHANGE_OA_FAILED",
                                  f"{result.error} (attempt {row.oa_attempts + 1}; retried next run)", EXIT_TRANSFER)
        state = IncomingState.HANDED_OVER
    done = state is IncomingState.HANDED_OVER or (state is IncomingState.RECEIVED and not oa.configured(agency))
    if agency.auto_sign_for and done and sign is not None:
        from govarc.exchange.answer import answer
        from govarc.exchange.documents import ReceiptAction

        answer(ws, cat, transport, agency, row.message_id, ReceiptAction.SIGNED_FOR, None, sign, now=now)
        state = IncomingState.SIGNED_FOR
    return MessageOutcome(row.message_id, state.value, sender, title)


def receive_message(ws: Workspace, cat: Catalog, transport: Transport, agency: Agency, mid: str,
                    settings: ReceiveSettings, sign: Sign | None = None) -> MessageOutcome:
    """Receive one complete envelope of ``agency``'s inbox (see the module docstring)."""
    code = agency.code
    now = settings.clock()
    refusal_key = "0" * 64
    try:
        env_sha = transport.digest(envelope_key(code, mid))  # streamed: an over-large envelope is not held in memory
        row = inc.get(cat, mid, code)
        if row is not None and row.envelope_sha256 == env_sha:
            return MessageOutcome(mid, "already", row.sender, row.metadata.get("title"))
        # A refusal is remembered for these envelope bytes with this signature: a new signature is judged afresh.
        sig_sha = transport.digest(envelope_key(code, mid) + SIGNATURE_SUFFIX)
        refusal_key = hashlib.sha256(f"{env_sha} {sig_sha}".encode()).hexdigest()
        before = inc.refused(cat, mid, code, refusal_key)
        if before is not None:
            return MessageOutcome(mid, "skipped", None, None, before.code, f"refused before: {before.reason}")
        xml, sig, env = read_envelope(transport, code, mid, settings.policy)
        if hashlib.sha256(xml).hexdigest() != env_sha:
            raise _Refusal("EXCHANGE_ENVELOPE_INVALID", "the envelope changed while it was being read", EXIT_INVALID)
        _addressed(env, code)
        if row is not None:
            raise _Refusal("EXCHANGE_DUPLICATE", f"message {mid} was received on {row.received_at}; this copy "
                           "(other envelope bytes) is not handed over again", EXIT_OK, env.sender_code, env.title)
        sent = dt.datetime.fromisoformat(env.sent_at)
        if sent < now - dt.timedelta(days=settings.window_days):
            raise _Refusal("EXCHANGE_REPLAY", f"sent {env.sent_at}, longer ago than the duplicate window "
                           f"({settings.window_days} days), and never received: refused as a replay", EXIT_INVALID,
                           env.sender_code, env.title)
        if sent > now + FUTURE_SKEW:
            raise _Refusal("EXCHANGE_ENVELOPE_INVALID", f"sent {env.sent_at}, in the future", EXIT_INVALID,
                           env.sender_code, env.title)
        staged = _fetch_package(ws, transport, code, env, settings.policy)
    except _Refusal as r:
        inc.record_refused(cat, inc.Refused(mid, code, refusal_key, r.code, r.message, r.exit_code, _iso(now)))
        state = "duplicate" if r.code == "EXCHANGE_DUPLICATE" else "refused"
        return MessageOutcome(mid, state, r.sender, r.title, r.code, r.message, r.exit_code)
    except TransportError as e:
        return MessageOutcome(mid, "failed", None, None, None, str(e), e.exit_code)
    received_at = _iso(now)
    key = _keep(ws, code, env, xml, sig, staged, received_at)
    row = inc.register(cat, inc.Incoming(mid, code, env.sender_code, env_sha, env.package_sha256, env.package_size,
                                         received_at, key, metadata(env, received_at)))
    return _hand_over(ws, cat, agency, row, transport, sign, now)


def receive(ws: Workspace, cat: Catalog, transport: Transport, agency: Agency, settings: ReceiveSettings,
            *, sign: Sign | None = None, progress: Progress | None = None) -> ReceiveReport:
    """Receive every complete envelope in ``agency``'s inbox, then retry the hand-overs that failed before.

    ``sign`` (the agency's key) is needed only with ``auto_sign_for``: ConfigError without it.
    Messages refused, duplicates and OA failures are outcomes (see :class:`MessageOutcome`); the
    report's exit code is the worst: 4 a signature, 3 an invalid envelope or package, 5 an OA or hub
    failure, 0 otherwise (a duplicate is a warning).
    """
    if agency.auto_sign_for and sign is None:
        raise ConfigError(f"agency {agency.code} signs for messages automatically (auto_sign_for), but has no key: "
                          f"run `govarc pki issue {agency.code}` or `govarc pki import {agency.code}`",
                          str(ws.keys_dir(agency.code)))
    outcomes: list[MessageOutcome] = []
    for mid in complete_envelopes(transport, agency.code):
        if progress is not None:
            progress(f"{agency.code}: {mid}")
        outcome = receive_message(ws, cat, transport, agency, mid, settings, sign)
        if outcome.state != "already":
            outcomes.append(outcome)
    # Kept before, not handed over (a failed OA, or a run killed in between): try again.
    retry = [IncomingState.RECEIVED, IncomingState.OA_FAILED] if oa.configured(agency) else []
    if agency.auto_sign_for:
        retry = [IncomingState.RECEIVED, IncomingState.OA_FAILED, IncomingState.HANDED_OVER]
    for row in inc.received(cat, agency.code, tuple(retry)) if retry else []:
        if any(o.message_id == row.message_id for o in outcomes):
            continue
        outcomes.append(_hand_over(ws, cat, agency, row, transport, sign, settings.clock()))
    shutil.rmtree(ws.tmp_dir / "exchange" / agency.code, ignore_errors=True)
    return ReceiveReport(agency.code, tuple(outcomes))


@dataclass(frozen=True)
class InboxEntry:
    """One complete envelope waiting in an agency's inbox, as ``govarc inbox`` lists it.

    ``problem`` is why it would be refused (its finding code first), None when it reads and
    verifies; ``received`` whether this agency has received it already.
    """

    message_id: str
    sender: str | None
    urgency: str | None
    deadline: str | None
    title: str | None
    role: str | None
    received: bool
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "sender": self.sender, "urgency": self.urgency,
                "deadline": self.deadline, "title": self.title, "role": self.role, "received": self.received,
                "problem": self.problem}


def inbox(cat: Catalog, transport: Transport, code: str, policy: SignaturePolicy) -> list[InboxEntry]:
    """Every complete envelope in ``code``'s inbox, read and verified (nothing is downloaded or changed)."""
    out = []
    for mid in complete_envelopes(transport, code):
        received = inc.get(cat, mid, code) is not None
        try:
            _, _, env = read_envelope(transport, code, mid, policy)
            _addressed(env, code)
        except _Refusal as r:
            out.append(InboxEntry(mid, r.sender, None, None, r.title, None, received, f"{r.code}: {r.message}"))
            continue
        out.append(InboxEntry(mid, env.sender_code, env.urgency.value, env.deadline, env.title, env.role.value,
                              received))
    return out


def exchange_config(ws: Workspace) -> ExchangeConfig:
    """The ``[exchange]`` settings of ``ws``; ConfigError when the workspace has none."""
    ex = ws.settings.exchange
    if ex is None:
        raise ConfigError("no exchange hub: set `url` in [exchange] of govarc.toml", str(ws.home / "govarc.toml"))
    return ex


def open_hub(ws: Workspace) -> Transport:
    """The transport ``[exchange] url`` names, with its ``[exchange.transport]`` options."""
    from govarc.transport import open_transport

    ex = exchange_config(ws)
    return open_transport(ex.url, base=ws.home, options=ex.transport_options())


def receive_settings(ws: Workspace, now: dt.datetime | None = None) -> ReceiveSettings:
    """The policy of a receiving run in ``ws``: its trust store and ``[exchange] duplicate_window_days``."""
    from govarc.sign.agency import workspace_policy

    return ReceiveSettings(workspace_policy(ws), exchange_config(ws).duplicate_window_days, now)


def detached(signer: Callable[[bytes], dict[str, bytes]]) -> Sign:
    """A :data:`Sign` from a package signer (:func:`govarc.sign.cms.make_signer`): the one detached CMS it makes."""
    def sign(data: bytes) -> bytes:
        [der] = signer(data).values()
        return der

    return sign
