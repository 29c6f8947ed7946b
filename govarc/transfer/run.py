"""Transfer an agency's due packages to the archives as one signed batch (``govarc transfer run``).

The flow (``specs/transfer.md``): choose the batch id (one never used: not in the catalog, not a
folder of ``transfers/<CODE>/``, not on the transport, so a lost catalog never reuses one), prepare every object to upload (a package
kept as a folder is zipped into ``transfers/<CODE>/<BATCH>/outgoing/``), write and sign the
transfer list and its renditions into ``transfers/<CODE>/<BATCH>/``, and only then record the
batch and its items in the catalog (state ``open``): that transaction is the commit point. Then
upload each package (a package already on the transport with the same digest is a no-op; an
interrupted one resumes), the list, and last its signature, which makes the batch visible to the
archives; the batch is then ``published``. A run after a crash finds the recorded batch and
finishes it: never a second batch for the same records.

The caller holds the agency's lock (:func:`govarc.lock.agency_lock`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govarc.catalog import batches as cb
from govarc.catalog.db import Catalog
from govarc.catalog.states import BatchState
from govarc.package.wire import file_digest, open_regular, zip_folder_package
from govarc.errors import ConfigError, InvalidInputError, SignatureError
from govarc.fsutil import write_atomic
from govarc.limits import MAX_BATCH_PACKAGES
from govarc.sign.signer import Signer
from govarc.store.packages import PackageStore
from govarc.transport import Transport
from govarc.domain import Agency
from govarc.workspace import ArchivesConfig, Workspace

BLOCK = 1024 * 1024
TRANSFERS_DIR = "transfers"
LIST_NAME = "transfer-list.xml"
SIGNATURE_SUFFIX = ".p7s"
OUTGOING = "outgoing"


def inbound_prefix(agency: str, batch_id: str) -> str:
    """The batch's folder on the transport: ``inbound/<AGENCY>/<BATCH>``."""
    return f"inbound/{agency}/{batch_id}"


def receipt_key(agency: str, batch_id: str) -> str:
    """The receipt's key on the transport: ``receipts/<AGENCY>/<BATCH>/receipt.xml``."""
    return f"receipts/{agency}/{batch_id}/receipt.xml"


def batch_folder(ws: Workspace, agency: str, batch_id: str) -> Path:
    """Where the workspace keeps a batch's list, signature, renditions and receipt."""
    return ws.home / TRANSFERS_DIR / agency / batch_id


def require_archives(ws: Workspace) -> ArchivesConfig:
    if ws.settings.archives is None:
        raise ConfigError("no [archives] in govarc.toml: name the archives (code, url) to transfer to",
                          str(ws.home / "govarc.toml"))
    return ws.settings.archives


@dataclass(frozen=True)
class TransferReport:
    """What ``transfer run`` did (or, with ``dry_run``, would do) for one agency.

    ``batch_id`` is None when nothing was due; ``resumed`` when an earlier run's batch was finished;
    ``uploaded`` counts the packages this run wrote, ``already`` those found on the transport.
    """

    agency: str
    batch_id: str | None
    items: tuple[cb.BatchItem, ...] = ()
    state: str | None = None
    resumed: bool = False
    dry_run: bool = False
    uploaded: int = 0
    already: int = 0
    list_sha256: str | None = None
    planned: tuple[str, ...] = field(default=())  # archival codes a dry run would send

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "batch_id": self.batch_id, "state": self.state, "resumed": self.resumed,
                "dry_run": self.dry_run, "uploaded": self.uploaded, "already": self.already,
                "list_sha256": self.list_sha256, "planned": list(self.planned),
                "items": [i.as_dict() for i in self.items]}


# --- local files --------------------------------------------------------------------------------


def sign_list(signer: Signer, data: bytes) -> bytes:
    """The agency's detached CMS signature over the list bytes, from its package signer."""
    sigs = signer(data)
    if len(sigs) != 1:
        raise SignatureError(f"the agency's signer gave {len(sigs)} signatures for the transfer list, not one")
    return next(iter(sigs.values()))


# --- preparing a batch -------------------------------------------------------------------------


def _object_key(archival_code: str) -> str:
    return f"{archival_code}.zip"


def batch_id_taken(ws: Workspace, agency: str, batch_id: str, transport: Transport | None) -> bool:
    """Whether ``batch_id`` was ever used outside the catalog: a ``transfers/<AGENCY>/<BATCH>`` entry of the
    workspace (even one a crashed run left), or anything under ``inbound/<AGENCY>/<BATCH>/`` or
    ``receipts/<AGENCY>/<BATCH>/`` on ``transport``. A catalog that was lost or rebuilt then never hands
    out an id the archives have seen (and perhaps answered) again."""
    if os.path.lexists(batch_folder(ws, agency, batch_id)):
        return True
    if transport is None:
        return False
    return bool(transport.list(inbound_prefix(agency, batch_id))) or bool(
        transport.list(receipt_key(agency, batch_id).rsplit("/", 1)[0]))


def _prepare(ws: Workspace, catalog: Catalog, agency: Agency, archives: ArchivesConfig, signer: Signer,
             due: list[cb.DueRecord], now: dt.datetime, transport: Transport) -> cb.Batch:
    """Write the batch's local files, then record it (the commit point); returns the batch."""
    from govarc.transfer.documents import ListedPackage, TransferList, transfer_list_to_xml
    from govarc.transfer.render import transfer_list_csv, transfer_list_html

    code = agency.code
    batch_id = cb.next_batch_id(catalog, code, now.strftime("%Y%m%d"), lambda b: batch_id_taken(ws, code, b, transport))
    folder = batch_folder(ws, code, batch_id)
    outgoing = folder / OUTGOING
    folder.mkdir(parents=True)  # never there: an id whose folder exists is taken
    outgoing.mkdir()
    store = PackageStore(ws.home, code)
    items: list[cb.BatchItem] = []
    listed = []
    for r in due:
        path = store.resolve(r.package_key)
        if path is None or not os.path.lexists(path):
            raise InvalidInputError(f"the package of {r.archival_code} is not in the store", r.package_key)
        key = _object_key(r.archival_code)
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            zip_folder_package(path, outgoing / key)
            sha, size = file_digest(outgoing / key)
        else:
            sha, size = file_digest(path)
        items.append(cb.BatchItem(r.record_id, r.archival_code, key, sha, size, r.tagmanifest_sha256))
        listed.append(ListedPackage(archival_code=r.archival_code, title=r.title, key=key, file_count=r.file_count,
                                    size=size, sha256=sha, tagmanifest_sha256=r.tagmanifest_sha256,
                                    year=r.year, retention=r.retention))
    created_at = now.astimezone().isoformat(timespec="seconds")
    tl = TransferList(batch_id=batch_id, agency_code=code, agency_name=agency.name, fonds=agency.fonds,
                      archives_code=archives.code, archives_name=archives.name, created_at=created_at,
                      packages=tuple(listed))
    xml = transfer_list_to_xml(tl)
    write_atomic(folder / LIST_NAME, xml)
    write_atomic(folder / (LIST_NAME + SIGNATURE_SUFFIX), sign_list(signer, xml))
    write_atomic(folder / "transfer-list.csv", transfer_list_csv(tl))
    write_atomic(folder / "transfer-list.html", transfer_list_html(tl).encode("utf-8"))
    batch = cb.Batch(batch_id, code, archives.code, created_at, BatchState.OPEN, hashlib.sha256(xml).hexdigest())
    cb.create_batch(catalog, batch, items)
    return batch


def _local_list(ws: Workspace, batch: cb.Batch) -> tuple[bytes, bytes]:
    """The recorded batch's list and signature, checked against the digest the catalog recorded."""
    folder = batch_folder(ws, batch.agency, batch.id)
    try:
        with os.fdopen(open_regular(folder / LIST_NAME, "a transfer list"), "rb") as f:
            xml = f.read()
        with os.fdopen(open_regular(folder / (LIST_NAME + SIGNATURE_SUFFIX), "a transfer list signature"), "rb") as f:
            sig = f.read()
    except FileNotFoundError as e:
        raise InvalidInputError(f"batch {batch.id}: its transfer list is missing from the workspace", e.filename) from None
    if hashlib.sha256(xml).hexdigest() != batch.list_sha256:
        raise InvalidInputError(f"batch {batch.id}: the transfer list changed since the batch was recorded",
                                str(folder / LIST_NAME))
    return xml, sig


# --- uploading ---------------------------------------------------------------------------------


def _source(ws: Workspace, catalog: Catalog, batch: cb.Batch, item: cb.BatchItem) -> Path:
    zipped = batch_folder(ws, batch.agency, batch.id) / OUTGOING / item.key
    if os.path.lexists(zipped):
        return zipped
    row = catalog.conn.execute("SELECT package_path FROM records WHERE id=?", (item.record_id,)).fetchone()
    path = PackageStore(ws.home, batch.agency).resolve(str(row[0])) if row and row[0] else None
    if path is None:
        raise InvalidInputError(f"the package of {item.archival_code} is not in the store", str(row[0] if row else ""))
    return path


def _upload(ws: Workspace, catalog: Catalog, batch: cb.Batch, transport: Transport, now: dt.datetime,
            on_item: Callable[[cb.BatchItem, bool], None] | None) -> tuple[int, int]:
    xml, sig = _local_list(ws, batch)
    prefix = inbound_prefix(batch.agency, batch.id)
    uploaded = already = 0
    if batch.state is BatchState.OPEN:
        for item in cb.items(catalog, batch.id):
            src = _source(ws, catalog, batch, item)
            with os.fdopen(open_regular(src, "a package to transfer"), "rb") as f:
                result = transport.put(f"{prefix}/packages/{item.key}", f, size=item.size, sha256=item.sha256)
            uploaded += result.written
            already += not result.written
            if on_item:
                on_item(item, result.written)
        cb.set_state(catalog, batch.id, BatchState.UPLOADED)
    transport.publish(f"{prefix}/{LIST_NAME}", xml)
    transport.publish(f"{prefix}/{LIST_NAME}{SIGNATURE_SUFFIX}", sig)  # last: the batch is complete
    cb.set_state(catalog, batch.id, BatchState.PUBLISHED, now.astimezone().isoformat(timespec="seconds"))
    shutil.rmtree(batch_folder(ws, batch.agency, batch.id) / OUTGOING, ignore_errors=True)
    return uploaded, already


def transfer_run(ws: Workspace, catalog: Catalog, agency: Agency, transport: Transport | None, *,
                 signer: Signer | None, dry_run: bool = False, now: dt.datetime | None = None,
                 on_item: Callable[[cb.BatchItem, bool], None] | None = None) -> TransferReport:
    """Send ``agency``'s due packages to the archives as one batch, or finish its unfinished batch.

    With ``dry_run`` nothing is written anywhere and ``transport`` may be None: the report lists the
    batch that would be resumed or the records that would go. ``signer`` signs the transfer list
    (a ConfigError when the agency has no key and a new batch is due). Transport failures are
    :class:`~govarc.transport.TransportError` (exit 5); what was uploaded stays and is reused.
    """
    archives = require_archives(ws)
    now = now or dt.datetime.now(dt.timezone.utc)
    code = agency.code
    batch = cb.unfinished_batch(catalog, code)
    if dry_run:
        if batch is not None:
            its = tuple(cb.items(catalog, batch.id))
            return TransferReport(code, batch.id, its, batch.state.value, resumed=True, dry_run=True,
                                  list_sha256=batch.list_sha256, planned=tuple(i.archival_code for i in its))
        due = cb.due_records(catalog, code, send_unsigned=archives.send_unsigned)[:MAX_BATCH_PACKAGES]
        return TransferReport(code, None, dry_run=True, planned=tuple(r.archival_code for r in due))
    resumed = batch is not None
    if batch is None:
        # a batch holds at most MAX_BATCH_PACKAGES; the rest go in the next run's batch
        due = cb.due_records(catalog, code, send_unsigned=archives.send_unsigned)[:MAX_BATCH_PACKAGES]
        if not due:
            return TransferReport(code, None)
        if signer is None:
            raise ConfigError(f"agency {code} has no key: a transfer list must be signed "
                              f"(`govarc pki issue {code}` or `govarc pki import`)")
        if transport is None:
            raise ConfigError("no transport to upload to")
        batch = _prepare(ws, catalog, agency, archives, signer, due, now, transport)
    if transport is None:
        raise ConfigError("no transport to upload to")
    uploaded, already = _upload(ws, catalog, batch, transport, now, on_item)
    done = cb.get_batch(catalog, batch.id)
    assert done is not None
    return TransferReport(code, batch.id, tuple(cb.items(catalog, batch.id)), done.state.value, resumed=resumed,
                          uploaded=uploaded, already=already, list_sha256=batch.list_sha256)


def open_archives_transport(ws: Workspace) -> Transport:
    """The transport ``[archives] url`` names, with its ``[archives.transport]`` options."""
    from govarc.transport import open_transport

    archives = require_archives(ws)
    return open_transport(archives.url, base=ws.home, options=archives.transport_options())
