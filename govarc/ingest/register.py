"""Register prepared items: their files into the object store, then their records into the catalog.

Both are done a batch at a time: the batch's copies are fsynced and published together, then its
records are written in one transaction, duplicates skipped, new versions linked to the old and
件号 assigned (see :mod:`govarc.catalog.records`). Only items whose every file was stored are
registered; an object store holding objects no record names is harmless, the reverse is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from govarc.audit.chain import NewEvent
from govarc.catalog import audit, records
from govarc.catalog.db import Catalog
from govarc.domain import Agency, Retention
from govarc.errors import InvalidInputError
from govarc.findings import Finding
from govarc.fsutil import UnsafeInputError, open_input
from govarc.ingest.prepare import ItemProgress, FileDigests, Prepared, PreparedFile, hash_item, item_key
from govarc.ingest.report import Outcome
from govarc.ingest.sources import Item, RealPaths, refusal
from govarc.package.hashing import parallel_map
from govarc.store.objects import ObjectStore, Staging


def _open(pf: PreparedFile) -> BinaryIO:
    try:
        return open_input(pf.path, pf.root)
    except UnsafeInputError:
        raise
    except OSError as e:
        raise InvalidInputError(f"cannot read: {e.strerror or e}", str(pf.path)) from None


def _stage_item(staging: Staging, p: Prepared) -> None:
    """Stage the files of one item the store lacks: all of them, or none (and raise)."""
    added: list[str] = []
    try:
        for pf in p.files:
            if staging.needs(pf.sha256):
                with _open(pf) as src:
                    if not staging.add(pf.sha256, src):
                        raise InvalidInputError("file changed while it was being ingested", str(pf.path))
                added.append(pf.sha256)
    except BaseException:
        staging.discard(added)
        raise


def store_batch(store: ObjectStore, batch: Sequence[Prepared]) -> tuple[list[Prepared], list[Outcome]]:
    """Copy the files of a batch of items into the object store; the items stored and those refused.

    An item whose file no longer has its digest, or can no longer be read, is refused and
    nothing of it is stored.
    """
    accepted, refused = store_batch_pairs(store, batch)
    return accepted, [o for _, o in refused]


def store_batch_pairs(
    store: ObjectStore, batch: Sequence[Prepared],
) -> tuple[list[Prepared], list[tuple[Prepared, Outcome]]]:
    """:func:`store_batch`, each refused item beside its outcome."""
    accepted: list[Prepared] = []
    refused: list[tuple[Prepared, Outcome]] = []
    with store.staging() as staging:
        for p in batch:
            try:
                _stage_item(staging, p)
            except (InvalidInputError, UnsafeInputError) as e:
                finding = refusal(e) if isinstance(e, UnsafeInputError) else Finding(
                    "INGEST_UNREADABLE", e.path or "", e.message)
                refused.append((p, Outcome(str(p.item.main), "refused", p.findings + (finding,))))
                continue
            accepted.append(p)
        staging.publish()
    return accepted, refused


def register_batch(catalog: Catalog, agency: Agency, batch: Sequence[Prepared], now: str) -> list[Outcome]:
    """Register a batch in one transaction: duplicates skipped, versions linked, 件号 assigned."""
    outcomes = []
    real = RealPaths()
    events: list[NewEvent] = []
    with catalog.write() as conn:
        for p in batch:
            key = p.content_key
            found = records.find_by_content(conn, agency.code, key)
            if found:
                outcomes.append(Outcome(str(p.item.main), "duplicate", p.findings, found.archival_code, found.id))
                continue
            findings = list(p.findings)
            source = str(real(p.item.main))
            prev = records.latest_by_source(conn, agency.code, source)
            version, supersedes = 1, None
            if prev:
                version, supersedes = prev.version + 1, prev.id
                findings.append(Finding("INGEST_NEW_VERSION", str(p.item.main),
                                        f"changed since it was registered as {prev.archival_code}; registered as version {version}"))
            f = p.fields
            sequence = records.SequenceKey(agency.fonds, f["category"], f["year"], f["retention"], f["unit"])
            item_no = records.next_item(conn, sequence)
            code = str(agency.archival_code(f["year"], Retention(f["retention"]), item_no,
                                            category=f["category"], unit=f["unit"]))
            metadata = {k: v for k, v in f.items() if k not in ("year", "category", "unit")}
            metadata["archival_code"] = code
            files = tuple(records.NewFile(pf.role, pf.name, pf.size, pf.sha256, pf.mime, pf.format_name,
                                          pf.format_version, str(real(pf.path))) for pf in p.files)
            rid = records.insert_record(conn, records.NewRecord(
                agency=agency.code, archival_code=code, sequence=sequence, item=item_no, title=f["title"],
                document_number=f.get("document_number"), date=f["date"], classification=f["classification"],
                content_key=key, source=source, version=version, supersedes=supersedes, metadata=metadata,
                warnings=[x.as_dict() for x in findings], ingested_at=now, files=files,
            ))
            outcomes.append(Outcome(str(p.item.main), "registered", tuple(findings), code, rid))
            events.append(NewEvent("ingest", code, agency.code, details={"record": rid, "version": version}))
        audit.append(conn, events)
    return outcomes


def known(
    catalog: Catalog, agency: Agency, items: Sequence[Item], progress: ItemProgress | None,
) -> tuple[list[Outcome], list[Item], list[FileDigests | None]]:
    """Hash every item and look its content up: outcomes of those registered already, the others.

    A drop folder keeps what it held on earlier nights, so most items of a nightly run are
    already registered: hashing them is cheap, inspecting them (pypdf) is not. An item registered
    already is a duplicate whatever its sidecar says now, as it always was; its outcome carries
    the findings of discovery only (those of its inspection are stored with the record).
    """
    found = lookup(catalog, agency, items, progress)
    outcomes = [Outcome(str(it.main), "duplicate", it.findings, f[0], f[1]) for it, f in zip(items, found) if f]
    fresh = [it for it, f in zip(items, found) if not f]
    return outcomes, fresh, [None] * len(fresh)


LOOKUP_CHUNK = 1024
"""Items hashed at a time by :func:`lookup` (their digests are not kept past their look-up)."""


def lookup(
    catalog: Catalog, agency: Agency, items: Sequence[Item], progress: ItemProgress | None,
) -> list[tuple[str, int] | None]:
    """:func:`known` item by item: for each item, ``(archival code, record id)`` when its content
    is registered already, else None.

    The digests are not kept: an item that is new is hashed again as it is inspected (a small
    cost next to inspecting it), so that memory does not grow by a digest per item.
    """
    found: list[tuple[str, int] | None] = []
    for start in range(0, len(items), LOOKUP_CHUNK):
        chunk = items[start:start + LOOKUP_CHUNK]
        # An item refused at discovery is not hashed: its file may be a link, a FIFO or a device.
        hashed = iter(parallel_map(hash_item, [it for it in chunk if not it.refused]))
        for item in chunk:
            d = None if item.refused else next(hashed)
            hit = None
            if d is not None:
                row = records.find_by_content(catalog.conn, agency.code, item_key(item, d))
                if row:
                    hit = (row.archival_code, row.id)
                    if progress:
                        progress(1)
            found.append(hit)
    return found
