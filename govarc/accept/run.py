"""The acceptance flow (接收): every complete batch in the inbox → checks → holdings → signed receipt.

For each ``inbound/<AGENCY>/<BATCH>/`` whose ``transfer-list.xml.p7s`` exists (the agency
publishes it last) and which this archives has not answered:

1. the list's signature must verify against the archives' trust store and be the agency's own
   (the agency folder, the list's ``agency_code`` and the signer's organizationIdentifier agree),
   and the list must name this archives. Otherwise the batch is **refused**: no receipt is
   written (nobody authenticated asked for one), the reason is kept in the catalog and printed,
   and the run exits 4 (signature) or 3 (an unreadable list). A refused list is looked at again
   only when its bytes change.
2. every listed package is downloaded to ``tmp/`` and checked (:mod:`govarc.accept.checks`);
   accepted packages are countersigned by the archives and kept in the holdings; rejected ones
   go to ``rejected/<AGENCY>/<BATCH>/`` with their reasons; a package held already is a
   ``duplicate``. Each verdict is committed to the catalog as soon as it is decided.
3. the receipt (built from the catalog, so a re-run after a crash gives the same bytes) is
   published to ``receipts/<AGENCY>/<BATCH>/receipt.xml``, then its detached CMS ``.p7s`` last;
   copies and the printable 登记表 stay in the workspace under ``receipts/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from govarc.accept import holdings as store
from govarc.accept.checks import CHECKS, Holdings, Outcome, Settings, check_package
from govarc.accept.docs import (
    Check,
    CheckResult,
    ListedPackage,
    PackageVerdict,
    Receipt,
    TransferList,
    Verdict,
    receipt_html,
    receipt_to_xml,
    transfer_list_from_xml,
)
from govarc.sign.documents import sign_document, verify_document
from govarc.catalog import holdings as hcat
from govarc.catalog.db import Catalog
from govarc.domain import ArchivalCode, SequenceKey, is_agency_code
from govarc.errors import EXIT_INVALID, EXIT_OK, EXIT_SIGNATURE, ConfigError, GovarcError, from_os_error
from govarc.sign.cms import sign_package
from govarc.sign.pki import Credentials
from govarc.sign.validate import SignaturePolicy
from govarc.sign.keys import Prompter
from govarc.transport import ObjectNotFoundError, ObjectTooLargeError, Transport, is_valid_key
from govarc.workspace import CONFIG_NAME, Workspace

LIST_NAME = "transfer-list.xml"
SIGNATURE_SUFFIX = ".p7s"
RECEIPT_NAME = "receipt.xml"
FORM_NAME = "登记表.html"
_BATCH_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ArchivesIdentity:
    """Who accepts: the archives' code and name, and its key (countersignatures, receipts)."""

    code: str
    name: str
    creds: Credentials = field(repr=False)


@dataclass(frozen=True)
class BatchOutcome:
    """What one run did with one batch."""

    agency: str
    batch_id: str
    state: str  # answered | refused | skipped
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0
    message: str = ""
    exit_code: int = EXIT_OK
    receipt_key: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"agency": self.agency, "batch": self.batch_id, "state": self.state, "accepted": self.accepted,
                "rejected": self.rejected, "duplicate": self.duplicate, "message": self.message,
                "receipt": self.receipt_key}


@dataclass(frozen=True)
class AcceptReport:
    batches: tuple[BatchOutcome, ...]

    @property
    def exit_code(self) -> int:
        """0, or the worst refusal's: 4 for a list whose signature fails, 3 for one that cannot be read."""
        return max((b.exit_code for b in self.batches), default=EXIT_OK)

    def as_dict(self) -> dict[str, object]:
        return {"batches": [b.as_dict() for b in self.batches], "exit_code": self.exit_code}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def complete_batches(transport: Transport) -> list[tuple[str, str]]:
    """(agency, batch) of every batch whose signed list is published; odd names are ignored."""
    found = []
    for key in transport.list("inbound"):
        parts = key.split("/")
        if len(parts) == 4 and parts[3] == LIST_NAME + SIGNATURE_SUFFIX \
                and is_agency_code(parts[1]) and _BATCH_ID.match(parts[2]):
            found.append((parts[1], parts[2]))
    return sorted(found)


def accept(cat: Catalog, home: Path, transport: Transport, me: ArchivesIdentity, settings: Settings,
           *, progress: Progress | None = None) -> AcceptReport:
    """Answer every complete batch not answered yet (see the module docstring)."""
    outcomes = []
    for agency, batch in complete_batches(transport):
        row = hcat.get_batch(cat, agency, batch)
        if row is not None and row.state == hcat.BatchState.ANSWERED:
            continue
        outcomes.append(accept_batch(cat, home, transport, me, settings, agency, batch, progress=progress))
    return AcceptReport(tuple(outcomes))


def _refuse(cat: Catalog, agency: str, batch: str, list_sha: str, reason: str, code: int) -> BatchOutcome:
    hcat.start_batch(cat, agency, batch, list_sha, _now())
    hcat.relist_refused(cat, agency, batch, list_sha)  # a refused list that changed since is judged afresh
    hcat.finish_batch(cat, agency, batch, hcat.BatchState.REFUSED, refused=reason, at=_now())
    return BatchOutcome(agency, batch, "refused", message=reason, exit_code=code)


def read_list(transport: Transport, agency: str, batch: str, me: ArchivesIdentity,
              policy: SignaturePolicy) -> tuple[bytes, TransferList | None, str | None, int]:
    """(list bytes, the list, refusal reason, exit code) for the batch's published list."""
    prefix = f"inbound/{agency}/{batch}"
    data = transport.read(f"{prefix}/{LIST_NAME}")
    sig = transport.read(f"{prefix}/{LIST_NAME}{SIGNATURE_SUFFIX}")
    where = transport.where(f"{prefix}/{LIST_NAME}")
    findings = verify_document(data, sig, where, policy, agency)
    if findings:
        f = findings[0]
        return data, None, f"the transfer list's signature is not agency {agency}'s: {f.code} {f.message}", EXIT_SIGNATURE
    try:
        tl = transfer_list_from_xml(data, where)
    except GovarcError as e:
        return data, None, f"the transfer list cannot be read: {e.message}", EXIT_INVALID
    if tl.agency_code != agency or tl.batch_id != batch:
        return data, None, (f"the list is batch {tl.agency_code}/{tl.batch_id}, published as {agency}/{batch}"), EXIT_INVALID
    if tl.archives_code != me.code:
        return data, None, f"the list is addressed to archives {tl.archives_code}, not {me.code}", EXIT_INVALID
    keys = [p.key for p in tl.packages]
    bad = [k for k in keys if "/" in k or not is_valid_key(f"{prefix}/packages/{k}")]
    if bad:
        return data, None, f"the list names an unsafe package key {bad[0][:80]!r}", EXIT_INVALID
    if len(set(keys)) != len(keys):
        return data, None, "the list names a package key twice", EXIT_INVALID
    return data, tl, None, EXIT_OK


def _sequences(tl: TransferList) -> dict[SequenceKey, set[int]]:
    seq: dict[SequenceKey, set[int]] = {}
    for p in tl.packages:
        try:
            code = ArchivalCode.parse(p.archival_code)
        except GovarcError:
            continue
        seq.setdefault(code.sequence, set()).add(code.item)
    return seq


def accept_batch(cat: Catalog, home: Path, transport: Transport, me: ArchivesIdentity, settings: Settings,
                 agency: str, batch: str, *, progress: Progress | None = None) -> BatchOutcome:
    """Check, keep and answer one batch; converges when run again after a crash."""
    data, tl, reason, code = read_list(transport, agency, batch, me, settings.policy)
    list_sha = hashlib.sha256(data).hexdigest()
    row = hcat.get_batch(cat, agency, batch)
    if row is not None and row.state == hcat.BatchState.REFUSED and row.list_sha256 == list_sha:
        return BatchOutcome(agency, batch, "skipped", message=f"refused before: {row.refused}")
    if tl is None:
        assert reason is not None
        if row is not None and row.state == hcat.BatchState.CHECKING and row.list_sha256 != list_sha:
            reason = "the transfer list changed while it was being checked; " + reason
        return _refuse(cat, agency, batch, list_sha, reason, code)
    if row is not None and row.list_sha256 != list_sha and row.state != hcat.BatchState.REFUSED:
        return BatchOutcome(agency, batch, "refused", message="the transfer list changed after it was received",
                            exit_code=EXIT_INVALID)
    if row is not None and row.state == hcat.BatchState.REFUSED:
        hcat.restart_refused(cat, agency, batch, list_sha)  # a new list for a refused batch: start again
    row = hcat.start_batch(cat, agency, batch, list_sha, _now())
    done = hcat.batch_items(cat, agency, batch)
    seqs = _sequences(tl)
    staging = home / "tmp" / "accept" / agency / batch
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise from_os_error(e) from e
    for position, listed in enumerate(tl.packages, 1):
        if position in done:
            continue
        if progress is not None:
            progress(f"{agency}/{batch}: {listed.archival_code}")
        _one(cat, home, transport, me, settings, tl, position, listed, seqs, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return _answer(cat, home, transport, me, tl, list_sha, row.received_at)


def _holdings_view(cat: Catalog, agency: str, batch: str, key: str) -> Holdings:
    def by_sha(sha: str) -> str | None:
        h = hcat.holding_by_sha256(cat, sha)
        if h is None or (h.agency, h.batch_id, h.batch_key) == (agency, batch, key):
            return None  # this very delivery, kept before a crash: not a duplicate of itself
        return h.key

    def by_code(code: str) -> list[str]:
        return [h.sha256 for h in hcat.holdings_by_code(cat, code)]

    return Holdings(by_sha, by_code, lambda code: hcat.held_items(cat, code))


def _one(cat: Catalog, home: Path, transport: Transport, me: ArchivesIdentity, settings: Settings,
         tl: TransferList, position: int, listed: ListedPackage, seqs: dict[SequenceKey, set[int]], staging: Path) -> None:
    agency, batch = tl.agency_code, tl.batch_id
    staged = staging / f"{position:06d}.zip"
    for leftover in (staged, staging / f"{position:06d}.signed.zip"):
        if os.path.lexists(leftover):
            os.unlink(leftover)
    key = f"inbound/{agency}/{batch}/packages/{listed.key}"
    outcome: Outcome
    try:
        info = transport.download(key, staged, max_size=listed.size)
        assert info.sha256 is not None
        outcome = check_package(staged, listed, tl, seqs, _holdings_view(cat, agency, batch, listed.key), settings,
                                sha256=info.sha256, size=info.size)
    except (ObjectNotFoundError, ObjectTooLargeError) as e:
        outcome = _undelivered(f"{listed.key}: {e.message}")
        staged_ok = False
    else:
        staged_ok = True
    holding: dict[str, object] | None = None
    holdings_key = outcome.duplicate_of
    if outcome.failed:
        verdict = Verdict.REJECTED
        reasons = {"batch": batch, "agency": agency, "key": listed.key, "archival_code": listed.archival_code,
                   "sha256": outcome.sha256, "failed": [_check_dict(c) for c in outcome.failed]}
        store.keep_rejected(home / "rejected" / agency / batch, staged if staged_ok else None, listed.key, reasons)
        holdings_key = None
    elif outcome.duplicate_of is not None:
        verdict = Verdict.DUPLICATE
    else:
        verdict = Verdict.ACCEPTED
        sign_package(staged, me.code, me.creds, check=False, replace=True)
        holdings_key, _ = store.keep(home, staged, outcome.sha256)
        code = outcome.archival_code
        assert code is not None
        holding = {"sha256": outcome.sha256, "key": holdings_key, "agency": agency, "archival_code": str(code),
                   "fonds": code.fonds, "category": code.category, "year": code.year, "retention": code.retention.value,
                   "unit": code.unit, "item": code.item, "batch_id": batch, "batch_key": listed.key,
                   "size": outcome.size, "stored_at": _now()}
    item = hcat.ItemRow(position, listed.key, listed.archival_code, outcome.sha256, verdict.value,
                        [_check_dict(c) for c in outcome.checks], holdings_key, outcome.size if staged_ok else None)
    hcat.record_item(cat, agency, batch, item, holding)
    if os.path.lexists(staged):
        os.unlink(staged)


def _undelivered(message: str) -> Outcome:
    checks = []
    for code, info in CHECKS.items():
        result = CheckResult.FAILED if code in ("1-1", "2-1") else CheckResult.NOT_PERFORMED
        checks.append(Check(code, info.name, info.property, result, message[:500]))
    return Outcome(tuple(checks), "0" * 64, 0)


def _check_dict(c: Check) -> dict[str, str]:
    return {"code": c.code, "name": c.name, "property": c.property, "result": c.result.value, "message": c.message}


def build_receipt(cat: Catalog, me: ArchivesIdentity, tl: TransferList, list_sha: str, received_at: str) -> Receipt:
    """The receipt of a batch from the verdicts in the catalog (the same bytes whenever built)."""
    items = hcat.batch_items(cat, tl.agency_code, tl.batch_id)
    verdicts = []
    for position in sorted(items):
        it = items[position]
        checks = tuple(Check(c["code"], c["name"], c["property"], CheckResult(c["result"]), c["message"]) for c in it.checks)
        verdicts.append(PackageVerdict(it.archival_code, it.key, it.sha256, Verdict(it.verdict), checks, it.holdings_key,
                                       it.size))
    return Receipt(batch_id=tl.batch_id, agency_code=tl.agency_code, archives_code=me.code, archives_name=me.name,
                   list_sha256=list_sha, received_at=received_at, verdicts=tuple(verdicts))


def _answer(cat: Catalog, home: Path, transport: Transport, me: ArchivesIdentity, tl: TransferList,
            list_sha: str, received_at: str) -> BatchOutcome:
    agency, batch = tl.agency_code, tl.batch_id
    receipt = build_receipt(cat, me, tl, list_sha, received_at)
    xml = receipt_to_xml(receipt)
    prefix = f"receipts/{agency}/{batch}"
    local = home / "receipts" / agency / batch
    transport.publish(f"{prefix}/{RECEIPT_NAME}", xml)
    sig_key = f"{prefix}/{RECEIPT_NAME}{SIGNATURE_SUFFIX}"
    sig: bytes
    if transport.exists(sig_key):
        sig = transport.read(sig_key)  # published before a crash: that one stands
    else:
        sig = sign_document(xml, me.creds)
        transport.publish(sig_key, sig)
    store.write_file(local / RECEIPT_NAME, xml)
    store.write_file(local / (RECEIPT_NAME + SIGNATURE_SUFFIX), sig)
    store.write_file(local / FORM_NAME, receipt_html(receipt, tl).encode("utf-8"))
    hcat.finish_batch(cat, agency, batch, hcat.BatchState.ANSWERED, receipt_sha256=hashlib.sha256(xml).hexdigest(),
                      at=_now())
    return BatchOutcome(agency, batch, "answered", receipt.accepted, receipt.rejected, receipt.duplicate,
                        receipt_key=sig_key)




def accept_workspace(ws: Workspace, prompter: Prompter, *, url: str | None = None,
                     progress: Progress | None = None) -> AcceptReport:
    """``govarc accept``: answer the batches at ``url`` (default ``[holdings] inbox``) in archives workspace ``ws``.

    Holds the workspace lock (a second run exits 7). ConfigError when ``ws`` is not an archives
    workspace, has no inbox or no key of its own.
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.lock import run_lock
    from govarc.sign.agency import load_agency_key, workspace_policy
    from govarc.transport import open_transport

    h = ws.holdings
    source = url or h.inbox
    if not source:
        raise ConfigError("no inbox: give --from URL, or set `inbox` in [holdings]", str(ws.home / CONFIG_NAME))
    with run_lock(ws.lock_path):
        creds = load_agency_key(ws, h.code, prompter)
        if creds is None:
            raise ConfigError(f"archives {h.code} has no key: run `govarc pki issue {h.code}` or `govarc pki import {h.code}`",
                              str(ws.keys_dir(h.code)))
        me = ArchivesIdentity(h.code, h.name, creds)
        settings = Settings(policy=workspace_policy(ws), accepted_formats=h.accepted_formats, virus_scan=h.virus_scan)
        with open_transport(source, base=ws.home, options=h.transport_options()) as transport, \
                open_workspace_catalog(ws) as cat:
            return accept(cat, ws.home, transport, me, settings, progress=progress)
