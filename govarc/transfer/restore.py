"""Restore transfer state into a rebuilt catalog from the workspace's ``transfers/<AGENCY>/<BATCH>/`` folders.

``govarc catalog rebuild`` recovers the records from the store first, then calls
:func:`restore_transfers`. Each batch folder keeps what ``transfer run`` wrote (the list and the
agency's detached signature over it) and what ``transfer receipts`` imported (the receipt and
the archives' signature). A batch whose list verifies (signed by its agency, as the archives
check it) becomes a batch again, its items matched to the recovered records by archival code
and package digest:

- with a receipt that verifies as ``transfer receipts`` verifies it (signed by the archives the
  list names, answering that list): ``receipted``, each record ``transferred`` or ``rejected``;
- without one: ``published`` (its time: the list's), so ``transfer receipts`` imports it later;
- without one, and with ``outgoing/`` still there (a run that stopped before publishing):
  ``open``, so the next ``transfer run`` finishes it; unless its records went in another batch
  since (the files of a run that stopped before recording its batch), when it is skipped, as is
  a folder without a signed list beside ``outgoing/`` (a run that stopped before signing).

What does not verify is one ``CATALOG_UNRECOVERED`` finding and is not restored; a receipt that
does not verify leaves its batch ``published`` (``transfer receipts`` fetches it again).
Batches are restored per agency in id order (ids sort by date), so a later verdict wins.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.catalog import batches as cb
from govarc.catalog.db import Catalog
from govarc.catalog.states import BatchState, RecordState, Verdict
from govarc.errors import GovarcError
from govarc.findings import Finding
from govarc.fsutil import UnsafeInputError, mode_name, read_input
from govarc.limits import MAX_TRANSFER_DOC_BYTES
from govarc.sign.validate import SignaturePolicy
from govarc.transfer.documents import BATCH_ID, CheckResult, Receipt, TransferList, receipt_problems
from govarc.transfer.receipts import MAX_RECEIPT_BYTES, MAX_SIGNATURE_BYTES
from govarc.transfer.run import LIST_NAME, OUTGOING, SIGNATURE_SUFFIX, TRANSFERS_DIR

RECEIPT_NAME = "receipt.xml"
UNRECOVERED = "CATALOG_UNRECOVERED"


@dataclass(frozen=True)
class RestoredBatch:
    """A batch restored: its id, agency, state, and its items' verdicts."""

    id: str
    agency: str
    state: str
    items: int
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "agency": self.agency, "state": self.state, "items": self.items,
                "accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected}


@dataclass(frozen=True)
class SkippedBatch:
    """A batch folder left alone on purpose: nothing of it ever reached the archives."""

    path: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class TransfersRestored:
    """What :func:`restore_transfers` restored, could not restore (findings) and skipped."""

    restored: tuple[RestoredBatch, ...] = ()
    unrecovered: tuple[Finding, ...] = ()
    skipped: tuple[SkippedBatch, ...] = ()


class _Unrecovered(Exception):
    """A batch folder, list or receipt that does not verify; ``path`` names the file."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


class _Skip(Exception):
    """A batch folder of a run that stopped before anything of it was sent."""


@dataclass(frozen=True)
class _Local:
    """A batch folder whose list verifies; its receipt when that verifies too."""

    folder: Path
    agency: str
    tl: TransferList
    list_sha256: str
    receipt: Receipt | None
    receipt_sha256: str | None
    unfinished: bool  # outgoing/ still there: the run never finished publishing


def _entries(folder: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """The entries of ``folder`` (none when it does not exist), by name, not following links."""
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it)
    except FileNotFoundError:
        return
    for name in names:
        path = folder / name
        try:
            yield path, os.lstat(path)
        except FileNotFoundError:
            continue


def _read(path: Path, limit: int) -> bytes | None:
    """The bytes of the regular file ``path`` (never blocking, no link), None when there is none."""
    try:
        return read_input(path, max_bytes=limit)
    except FileNotFoundError:
        return None
    except UnsafeInputError as e:
        raise _Unrecovered(path, e.message) from None
    except OSError as e:
        raise _Unrecovered(path, f"cannot be read: {e.strerror or e}") from None


def _check_signature(data: bytes, sig: bytes, sig_path: Path, policy: SignaturePolicy, signer: str, what: str) -> None:
    from govarc.sign.documents import verify_document

    errors = verify_document(data, sig, str(sig_path), policy, signer)
    if errors:
        f = errors[0]
        raise _Unrecovered(sig_path, f"{what} is not validly signed by {signer}: {f.code}: {f.message}")


def _read_list(folder: Path, agency: str, policy: SignaturePolicy) -> tuple[TransferList, bytes]:
    """The batch's list and its bytes, when the agency's signature over them verifies."""
    from govarc.transfer.documents import transfer_list_from_xml

    list_path, sig_path = folder / LIST_NAME, folder / (LIST_NAME + SIGNATURE_SUFFIX)
    xml = _read(list_path, MAX_TRANSFER_DOC_BYTES)
    sig = _read(sig_path, MAX_SIGNATURE_BYTES)
    if xml is None or sig is None:
        if os.path.lexists(folder / OUTGOING):
            raise _Skip("a transfer run stopped before it signed its transfer list: nothing of it was sent")
        missing = list_path if xml is None else sig_path
        raise _Unrecovered(missing, "the batch's transfer list or its signature is missing")
    _check_signature(xml, sig, sig_path, policy, agency, f"the transfer list of agency {agency}")
    try:
        tl = transfer_list_from_xml(xml, str(list_path))
    except GovarcError as e:
        raise _Unrecovered(list_path, e.message) from None
    if tl.agency_code != agency or tl.batch_id != folder.name:
        raise _Unrecovered(list_path, f"the list is batch {tl.agency_code}/{tl.batch_id}, kept as {agency}/{folder.name}")
    return tl, xml


def _read_receipt(folder: Path, tl: TransferList, list_xml: bytes, policy: SignaturePolicy) -> tuple[Receipt, str] | None:
    """The batch's receipt and its SHA-256 when one is kept, verifies and answers the list; None when none is kept.

    The checks of ``transfer receipts``: the archives' signature (the archives the list names), the
    schema, and the answer: batch, agency, archives, the list's digest, every package once and no
    other, an acceptance of exactly the content sent.
    """
    from govarc.transfer.documents import receipt_from_xml

    path, sig_path = folder / RECEIPT_NAME, folder / (RECEIPT_NAME + SIGNATURE_SUFFIX)
    xml = _read(path, MAX_RECEIPT_BYTES)
    sig = _read(sig_path, MAX_SIGNATURE_BYTES)
    if xml is None and sig is None:
        return None
    if xml is None or sig is None:
        raise _Unrecovered(path if xml is None else sig_path, "the receipt or its signature is missing")
    _check_signature(xml, sig, sig_path, policy, tl.archives_code, f"the receipt of the archives {tl.archives_code}")
    try:
        receipt = receipt_from_xml(xml, str(path))
    except GovarcError as e:
        raise _Unrecovered(path, e.message) from None
    problems = receipt_problems(receipt, tl, list_xml)
    listed = {p.key: p for p in tl.packages}
    problems += [f"its verdict on {v.key!r} is about other content ({v.sha256})" for v in receipt.verdicts
                 if v.key in listed and v.verdict is not Verdict.REJECTED and v.sha256 != listed[v.key].sha256]
    if problems:
        raise _Unrecovered(path, f"the receipt does not answer batch {tl.batch_id}: {problems[0]}")
    return receipt, hashlib.sha256(xml).hexdigest()


def _read_batch(folder: Path, agency: str, policy: SignaturePolicy, findings: list[Finding]) -> _Local:
    """The batch kept in ``folder``; a receipt that does not verify is a finding and left out."""
    tl, list_xml = _read_list(folder, agency, policy)
    try:
        got = _read_receipt(folder, tl, list_xml, policy)
    except _Unrecovered as e:
        findings.append(Finding(UNRECOVERED, str(e.path), f"{e}; batch {tl.batch_id} is restored without it "
                                                          "(`govarc transfer receipts` imports its receipt again)"))
        got = None
    receipt, receipt_sha256 = got if got else (None, None)
    return _Local(folder, agency, tl, hashlib.sha256(list_xml).hexdigest(), receipt, receipt_sha256,
                  os.path.lexists(folder / OUTGOING))


def _items(local: _Local, packages: dict[str, tuple[int, str]]) -> tuple[list[cb.BatchItem], dict[int, RecordState]]:
    """The batch's items matched to recovered records, and the state the receipt gives each record."""
    verdicts = {v.key: v for v in local.receipt.verdicts} if local.receipt else {}
    items: list[cb.BatchItem] = []
    states: dict[int, RecordState] = {}
    list_path = local.folder / LIST_NAME
    for p in local.tl.packages:
        found = packages.get(p.archival_code)
        if found is None:
            raise _Unrecovered(list_path, f"it lists {p.archival_code}, whose package is not among the recovered records")
        record_id, tagmanifest = found
        v = verdicts.get(p.key)
        verdict = v.verdict if v else None
        if tagmanifest != p.tagmanifest_sha256 and verdict is not Verdict.REJECTED:
            raise _Unrecovered(list_path, f"the package of {p.archival_code} in the store is not the one the batch "
                                          "sent (its tag-manifest digest differs)")
        reasons = tuple({"code": c.code, "name": c.name, "property": c.property, "message": c.message}
                        for c in v.checks if c.result is CheckResult.FAILED) if v else ()
        items.append(cb.BatchItem(record_id, p.archival_code, p.key, p.sha256, p.size, p.tagmanifest_sha256,
                                  verdict.value if verdict else None, reasons))
        if verdict is Verdict.REJECTED:
            if tagmanifest == p.tagmanifest_sha256:  # a rejection of an older package leaves the record as it is
                states[record_id] = RecordState.REJECTED
        elif verdict is not None:
            states[record_id] = RecordState.TRANSFERRED
    return items, states


def _restore(catalog: Catalog, local: _Local, items: list[cb.BatchItem], states: dict[int, RecordState],
             state: BatchState) -> RestoredBatch:
    tl, r = local.tl, local.receipt
    batch = cb.Batch(tl.batch_id, local.agency, tl.archives_code, tl.created_at, state, local.list_sha256,
                     published_at=None if state is BatchState.OPEN else tl.created_at,
                     receipt_at=r.received_at if r else None)
    cb.restore_batch(catalog, batch, items, local.receipt_sha256, states)
    count = {x: sum(1 for i in items if i.verdict == x.value) for x in Verdict}
    return RestoredBatch(tl.batch_id, local.agency, state.value, len(items), count[Verdict.ACCEPTED],
                         count[Verdict.DUPLICATE], count[Verdict.REJECTED])


def restore_transfers(home: Path, catalog: Catalog, policy: SignaturePolicy,
                      progress: Callable[[Path], None] | None = None) -> TransfersRestored:
    """Restore every batch kept in ``home/transfers/`` into ``catalog`` (see the module's doc).

    ``catalog`` already holds the recovered records; ``policy`` checks the lists' and receipts'
    signatures (the workspace's trust store). ``progress(folder)`` after each batch folder.
    """
    restored: list[RestoredBatch] = []
    findings: list[Finding] = []
    skipped: list[SkippedBatch] = []
    for agency_dir, st in _entries(home / TRANSFERS_DIR):
        if not stat.S_ISDIR(st.st_mode):
            findings.append(Finding(UNRECOVERED, str(agency_dir), f"is {mode_name(st.st_mode)}, not an agency's folder "
                                                                  "of transfer batches"))
            continue
        agency = agency_dir.name
        packages = cb.agency_packages(catalog, agency)
        unfinished: list[_Local] = []
        for folder, st in _entries(agency_dir):
            try:
                if not stat.S_ISDIR(st.st_mode):
                    raise _Unrecovered(folder, f"is {mode_name(st.st_mode)}, not a batch folder")
                if not BATCH_ID.fullmatch(folder.name):
                    raise _Unrecovered(folder, "is not named by a batch id")
                local = _read_batch(folder, agency, policy, findings)
                if local.unfinished and local.receipt is None:
                    unfinished.append(local)  # after the others: its records may have gone in a later batch
                else:
                    items, states = _items(local, packages)
                    state = BatchState.RECEIPTED if local.receipt else BatchState.PUBLISHED
                    restored.append(_restore(catalog, local, items, states, state))
            except _Unrecovered as e:
                findings.append(Finding(UNRECOVERED, str(e.path), str(e)))
            except _Skip as e:
                skipped.append(SkippedBatch(str(folder), str(e)))
            if progress:
                progress(folder)
        for local in unfinished:
            try:
                items, states = _items(local, packages)
                sent = {rid: b for rid, (b, verdict) in cb.batched_records(catalog, [i.record_id for i in items]).items()
                        if verdict != Verdict.REJECTED.value}
                if sent:
                    b = next(iter(sent.values()))
                    raise _Skip(f"a transfer run stopped before it recorded this batch: its records went in batch {b}")
                restored.append(_restore(catalog, local, items, states, BatchState.OPEN))
            except _Unrecovered as e:
                findings.append(Finding(UNRECOVERED, str(e.path), str(e)))
            except _Skip as e:
                skipped.append(SkippedBatch(str(local.folder), str(e)))
    return TransfersRestored(tuple(restored), tuple(findings), tuple(skipped))
