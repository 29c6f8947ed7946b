"""Import the archives' signed receipts for an agency's published batches (``govarc transfer receipts``).

For every published batch whose receipt (``receipts/<AGENCY>/<BATCH>/receipt.xml`` and, last,
its ``.p7s``) is on the transport: verify the archives' detached signature, its chain and its
identity (``[archives] code``), parse the receipt (hardened, against its schema), and check that
it answers this batch: batch id, agency, archives, the digest of the list this agency published,
and every package of the batch answered once with the digest it was sent with. Only then, in
one transaction, each record becomes ``transferred`` (accepted or duplicate) or ``rejected``
(with the failed checks as reasons) and the batch ``receipted``. A receipt that fails any check
changes nothing; the others are still imported. Nothing local is deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from govarc.catalog import batches as cb
from govarc.catalog.db import Catalog
from govarc.catalog.states import BatchState, Verdict
from govarc.errors import GovarcError, InvalidInputError, SignatureError
from govarc.fsutil import write_atomic
from govarc.sign.validate import SignaturePolicy
from govarc.transfer.run import LIST_NAME, SIGNATURE_SUFFIX, batch_folder, receipt_key, require_archives
from govarc.transport import Transport
from govarc.domain import Agency
from govarc.workspace import Workspace

MAX_RECEIPT_BYTES = 8 * 1024 * 1024
MAX_SIGNATURE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ImportedReceipt:
    """One receipt imported: its batch and the verdicts it gave."""

    batch_id: str
    accepted: int
    duplicate: int
    rejected: int
    rejected_codes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "accepted": self.accepted, "duplicate": self.duplicate,
                "rejected": self.rejected, "rejected_codes": list(self.rejected_codes)}


@dataclass(frozen=True)
class RefusedReceipt:
    """A receipt refused: its batch, the one line saying why, and the exit code it stands for."""

    batch_id: str
    message: str
    exit_code: int

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "message": self.message, "exit_code": self.exit_code}


@dataclass(frozen=True)
class ReceiptsReport:
    """What ``transfer receipts`` found for one agency; ``exit_code`` is the first refusal's (else 0)."""

    agency: str
    imported: tuple[ImportedReceipt, ...] = ()
    waiting: tuple[str, ...] = ()
    refused: tuple[RefusedReceipt, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        return self.refused[0].exit_code if self.refused else 0

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "imported": [r.as_dict() for r in self.imported], "waiting": list(self.waiting),
                "refused": [r.as_dict() for r in self.refused], "exit_code": self.exit_code}


def _import(ws: Workspace, catalog: Catalog, agency: Agency, batch: cb.Batch, transport: Transport,
            policy: SignaturePolicy, now: dt.datetime) -> ImportedReceipt:
    from govarc.transfer.documents import CheckResult, receipt_from_xml, transfer_list_from_xml
    from govarc.sign.documents import verify_document
    from govarc.transfer.render import receipt_html

    archives = require_archives(ws)
    key = receipt_key(agency.code, batch.id)
    where = transport.where(key)
    sig = transport.read(key + SIGNATURE_SUFFIX, max_size=MAX_SIGNATURE_BYTES)
    xml = transport.read(key, max_size=MAX_RECEIPT_BYTES)
    findings = verify_document(xml, sig, where + SIGNATURE_SUFFIX, policy, archives.code)
    if findings:
        f = findings[0]
        raise SignatureError(f"the receipt is not validly signed by the archives {archives.code}: {f.code}: {f.message}",
                             where)
    receipt = receipt_from_xml(xml, where)

    def bad(problem: str) -> InvalidInputError:
        return InvalidInputError(f"the receipt does not answer batch {batch.id}: {problem}", where)

    if receipt.batch_id != batch.id:
        raise bad(f"it names batch {receipt.batch_id!r}")
    if receipt.agency_code != agency.code:
        raise bad(f"it names agency {receipt.agency_code!r}")
    if receipt.archives_code != archives.code:
        raise bad(f"it names archives {receipt.archives_code!r}, not {archives.code!r}")
    if receipt.list_sha256 != batch.list_sha256:
        raise bad(f"it answers a transfer list with digest {receipt.list_sha256}, not the one sent ({batch.list_sha256})")
    by_key = {i.key: i for i in cb.items(catalog, batch.id)}
    seen: set[str] = set()
    verdicts: list[cb.ItemVerdict] = []
    rejected_codes: list[str] = []
    for v in receipt.verdicts:
        item = by_key.get(v.key)
        if item is None:
            raise bad(f"it gives a verdict on {v.key!r}, which is not in the batch")
        if v.key in seen:
            raise bad(f"it gives two verdicts on {v.key!r}")
        seen.add(v.key)
        verdict = v.verdict
        # a rejection may name the digest of what arrived (a package changed on the way, or missing: 1-1);
        # an acceptance must be of exactly the content sent
        if v.archival_code != item.archival_code or (v.sha256 != item.sha256 and verdict is not Verdict.REJECTED):
            raise bad(f"its verdict on {v.key!r} is about other content ({v.archival_code}, {v.sha256})")
        reasons = tuple({"code": c.code, "name": c.name, "property": c.property, "message": c.message}
                        for c in v.checks if c.result is CheckResult.FAILED)
        if verdict is Verdict.REJECTED:
            rejected_codes.append(item.archival_code)
        verdicts.append(cb.ItemVerdict(item.record_id, verdict, reasons))
    missing = sorted(set(by_key) - seen)
    if missing:
        raise bad(f"it gives no verdict on {missing[0]!r}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    folder = batch_folder(ws, agency.code, batch.id)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "receipt.xml", xml)
    write_atomic(folder / ("receipt.xml" + SIGNATURE_SUFFIX), sig)
    try:
        tl = transfer_list_from_xml((folder / LIST_NAME).read_bytes(), str(folder / LIST_NAME))
        write_atomic(folder / "receipt.html", receipt_html(receipt, tl).encode("utf-8"))
    except (OSError, GovarcError):
        pass  # the rendition is for the clerk; the receipt itself is kept and imported
    cb.record_receipt(catalog, batch.id, verdicts, hashlib.sha256(xml).hexdigest(),
                      now.astimezone().isoformat(timespec="seconds"))
    count = {x: sum(1 for v in verdicts if v.verdict is x) for x in Verdict}
    return ImportedReceipt(batch.id, count[Verdict.ACCEPTED], count[Verdict.DUPLICATE], count[Verdict.REJECTED],
                           tuple(rejected_codes))


def import_receipts(ws: Workspace, catalog: Catalog, agency: Agency, transport: Transport,
                    policy: SignaturePolicy, *, now: dt.datetime | None = None) -> ReceiptsReport:
    """Import every receipt the archives published for ``agency``'s published batches.

    A batch whose receipt is not (completely) there yet is ``waiting``. A receipt refused (bad
    signature or identity: exit 4; content that does not answer the batch: exit 3) changes
    nothing and is reported in ``refused``; a transport failure (exit 5) is raised.
    """
    require_archives(ws)
    now = now or dt.datetime.now(dt.timezone.utc)
    imported: list[ImportedReceipt] = []
    waiting: list[str] = []
    refused: list[RefusedReceipt] = []
    for batch in cb.batches(catalog, agency.code, (BatchState.PUBLISHED,)):
        key = receipt_key(agency.code, batch.id)
        if not transport.exists(key + SIGNATURE_SUFFIX):  # published last: the receipt is complete
            waiting.append(batch.id)
            continue
        try:
            imported.append(_import(ws, catalog, agency, batch, transport, policy, now))
        except (SignatureError, InvalidInputError) as e:
            refused.append(RefusedReceipt(batch.id, str(e), e.exit_code))
    return ReceiptsReport(agency.code, tuple(imported), tuple(waiting), tuple(refused))
