"""Rebuild the catalog from the packages of the store: ``govarc catalog rebuild``.

This module reads and verifies the packages; :mod:`govarc.catalog.recovery` writes the new catalog.

Each package carries its record (``metadata/record.xml``: archival code, description, files with
formats and digests) and its bag-info (agency, bagging date), which is everything the catalog
keeps about a packaged record. The rebuild verifies every package (signatures too, against the
workspace's trust store) and recovers the valid ones as records in state ``packaged``; it reports
every other entry of the store as ``CATALOG_UNRECOVERED`` with the reason. Files missing from the
object store are restored from the packages.

The transfer batches kept in ``transfers/<AGENCY>/<BATCH>/`` are then restored by
:mod:`govarc.transfer.restore` (each whose signed list verifies, with its receipt when that
verifies too), so transferred records stay transferred and a batch id is never handed out twice.

No archival code is ever reused: each sequence continues after the highest 件号 named anywhere in
the store (recovered packages, unrecoverable ones, the quarantine, temporary builds) and, when the
old catalog still reads and is this workspace's, after its own sequences.

The new catalog is built under a temporary name and renamed into place at the end; the old file
is kept as ``catalog.sqlite.broken-<timestamp>`` (with its ``-wal``), never deleted. A crash at any
point before the rename leaves everything as it was (and a temporary file the next rebuild removes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.audit.checkpoint import latest_seq as latest_checkpoint
from govarc.catalog.db import Catalog, checkpoint
from govarc.catalog.identity import (
    ID_FILE,
    check_workspace_catalog,
    id_path,
    inspect_catalog,
    new_id,
    package_code,
    read_id_file,
    write_id_file,
)
from govarc.catalog.records import NewFile, NewRecord, SequenceKey, content_key
from govarc.catalog.recovery import (
    TMP_PREFIX,
    RecoveredRecord,
    carry_events,
    finish_rebuild,
    insert_recovered,
    keep_aside,
    put_in_place,
    read_sequences,
    remove_catalog_files,
    remove_stale_rebuilds,
)
from govarc.catalog.states import RecordState
from govarc.domain import ArchivalCode, sequence_text
from govarc.errors import EXIT_INVALID, EXIT_OK, ConfigError, MetadataError
from govarc.findings import Finding
from govarc.fsutil import fsync_path
from govarc.lock import run_lock
from govarc.package import layout
from govarc.package.manifest import bag_info_get, nfc
from govarc.package.metadata import FileInfo, Record, record_from_xml
from govarc.package.reader import PackageReader, open_package
from govarc.package.verify import VerifyResult, verify_package
from govarc.store.objects import ObjectStore
from govarc.store.packages import PackageStore, hidden_names, package_size
from govarc.transfer.restore import RestoredBatch, SkippedBatch, restore_transfers

if TYPE_CHECKING:
    from govarc.workspace import Workspace

_BATCH = 200

SignatureCheck = Callable[[PackageReader, list[tuple[str, str]]], tuple[list[Finding], list[dict[str, object]]]]


@dataclass(frozen=True)
class Recovered:
    """One package recovered as a record."""

    archival_code: str
    agency: str
    path: str
    signed: bool

    def as_dict(self) -> dict[str, Any]:
        return {"archival_code": self.archival_code, "agency": self.agency, "path": self.path, "signed": self.signed}


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did: the records recovered, what it could not recover, where the old catalog went."""

    catalog: str
    catalog_id: str
    kept_aside: tuple[str, ...]
    recovered: tuple[Recovered, ...]
    unrecovered: tuple[Finding, ...]
    sequences: tuple[tuple[str, int], ...]  # "全宗号-门类·年度-期限-机构" and its last 件号
    objects_restored: int
    objects_unreferenced: int
    batches_restored: tuple[RestoredBatch, ...] = ()
    batches_skipped: tuple[SkippedBatch, ...] = ()

    @property
    def exit_code(self) -> int:
        """3 when any package (or transfer batch) could not be recovered, else 0."""
        return EXIT_INVALID if self.unrecovered else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog, "catalog_id": self.catalog_id, "kept_aside": list(self.kept_aside),
            "recovered": len(self.recovered), "unrecovered": len(self.unrecovered),
            "packages": [r.as_dict() for r in self.recovered],
            "findings": [f.as_dict() for f in self.unrecovered],
            "sequences": dict(self.sequences),
            "objects_restored": self.objects_restored, "objects_unreferenced": self.objects_unreferenced,
            "batches_restored": len(self.batches_restored), "batches": [b.as_dict() for b in self.batches_restored],
            "batches_skipped": [b.as_dict() for b in self.batches_skipped],
        }


class _Unrecovered(Exception):
    """A package that cannot become a record; the message says why, ``named`` what its bag-info names."""

    def __init__(self, message: str, named: str | None = None) -> None:
        super().__init__(message)
        self.named = named


@dataclass(frozen=True)
class _Row:
    """A recovered package, ready to insert."""

    agency: str
    record: Record
    path: Path
    key: str  # the package's location relative to the workspace home
    tagmanifest_sha256: str
    size: int
    signed: bool
    bagging_date: str


def catalog_is_healthy(ws: Workspace) -> bool:
    """Whether the workspace's catalog exists, reads, and is the workspace's own (or adoptable)."""
    try:
        check_workspace_catalog(ws)
        state = inspect_catalog(ws.catalog_path)
    except ConfigError:
        return False
    return state.exists and state.blank is None


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class _Sequences:
    """The highest 件号 seen per fonds/category/year/retention/unit."""

    def __init__(self) -> None:
        self.last: dict[SequenceKey, int] = {}

    def see(self, code: ArchivalCode) -> None:
        self.see_row(SequenceKey(*code.sequence), code.item)

    def see_text(self, text: str | None) -> None:
        """Every archival code in ``text`` (a name, a bag-info value), if any."""
        for code in ArchivalCode.find_all(text):
            self.see(code)

    def see_row(self, key: SequenceKey, last: int) -> None:
        self.last[key] = max(self.last.get(key, 0), last)

    def rows(self) -> list[tuple[SequenceKey, int]]:
        return sorted(self.last.items(), key=lambda kv: kv[0].values())


def _first_error(result: VerifyResult) -> str:
    errors = result.errors
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"does not verify: {first.code} {first.path}: {first.message}{more}"


def _restore_objects(reader: PackageReader, record: Record, objects: ObjectStore) -> int:
    """Copy into the object store every file of ``record`` it lacks (or holds at another size).

    All of them or, when one does not have the digest record.xml gives, none.
    """
    stored = {nfc(n): n for n in reader.entries if layout.is_payload(n)}
    restored = 0
    with objects.staging() as staging:
        for f in record.files:
            sha = f.digest("sha256")
            if sha is None:
                raise _Unrecovered(f"record.xml gives no sha256 for {f.name}")
            try:
                st = os.lstat(objects.path(sha))
                if stat.S_ISREG(st.st_mode) and st.st_size == f.size:
                    continue
            except FileNotFoundError:
                pass
            with reader.open(stored[f"{layout.DATA_DIR}/{nfc(f.name)}"]) as src:
                if not staging.add(sha, src):
                    raise _Unrecovered(f"data/{f.name} does not have the sha256 record.xml gives")
            restored += 1
        staging.publish()
    return restored


def _recover(path: Path, agency: str, extra: SignatureCheck, objects: ObjectStore) -> tuple[_Row, int]:
    """Verify the package at ``path`` and read its record; the row and the objects restored."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise _Unrecovered("a symbolic link, which is never followed")
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise _Unrecovered("neither a package folder nor a .zip (a special file)")
    if stat.S_ISREG(st.st_mode) and not path.name.endswith(".zip"):
        raise _Unrecovered("a file that is not a .zip package")
    try:
        code = ArchivalCode.parse(package_code(path))
    except MetadataError:
        raise _Unrecovered("not named by an archival code (档号)") from None
    result = verify_package(path, extra=extra)
    bag_info = list(result.bag_info)
    if not result.valid:
        raise _Unrecovered(_first_error(result), bag_info_get(bag_info, "External-Identifier"))
    if bag_info_get(bag_info, "External-Identifier") != str(code):
        raise _Unrecovered(f"bag-info names archival code {bag_info_get(bag_info, 'External-Identifier')!r}, "
                           f"the package is named {code}")
    with open_package(path) as reader:
        record = record_from_xml(reader.read(layout.RECORD_XML))
        if record.agency_code != agency:
            raise _Unrecovered(f"the package is from agency {record.agency_code}, but it lies in store/{agency}")
        if str(record.archival_code) != str(code):
            raise _Unrecovered(f"record.xml names archival code {record.archival_code}, the package is named {code}")
        if not record.files:
            raise _Unrecovered("record.xml lists no files")
        tagmanifest = hashlib.sha256(reader.read(layout.REQUIRED_TAGMANIFEST)).hexdigest()
        signed = any(layout.is_signature(n) for n in reader.entries)
        restored = _restore_objects(reader, record, objects)
    bagging = bag_info_get(bag_info, "Bagging-Date") or _now()
    row = _Row(agency, record, path, PackageStore.at(path.parent).key(path), tagmanifest, package_size(path), signed,
               bagging)
    return row, restored


def _main_first(files: tuple[FileInfo, ...]) -> list[FileInfo]:
    return [f for f in files if f.role == "main"] + [f for f in files if f.role != "main"]


def _new_record(row: _Row) -> RecoveredRecord:
    """The catalog's record of a recovered package: state ``packaged``, its sources the package's key."""
    r, code = row.record, row.record.archival_code
    files = _main_first(r.files)
    new = NewRecord(
        agency=row.agency, archival_code=str(code), sequence=SequenceKey(*code.sequence), item=code.item,
        title=r.title, document_number=r.document_number, date=r.date.isoformat(),
        classification=r.classification.value,
        content_key=content_key((f.role, nfc(f.name), f.digest("sha256") or "") for f in files),
        source=row.key, version=1, supersedes=None, metadata=_metadata(r, files[0].name), warnings=[],
        ingested_at=row.bagging_date,
        files=tuple(NewFile(f.role, nfc(f.name), f.size, f.digest("sha256") or "", f.mime, f.format_name,
                            f.format_version, f"{row.key}/{layout.DATA_DIR}/{f.name}") for f in files),
        state=RecordState.PACKAGED)
    return RecoveredRecord(new, row.key, row.tagmanifest_sha256, row.size, row.signed, row.bagging_date)


def _metadata(record: Record, main: str) -> dict[str, Any]:
    """The record's fields as ingest stores them (``records.metadata``), for a later rebuild of its package."""
    meta: dict[str, Any] = {
        "agency_code": record.agency_code, "fonds_name": record.fonds_name, "creator_name": record.creator_name,
        "title": record.title, "issuer": list(record.issuers), "retention": record.retention.value,
        "classification": record.classification.value, "date": record.date.isoformat(),
    }
    if record.document_number:
        meta["document_number"] = record.document_number
    if record.page_count is not None:
        meta["page_count"] = record.page_count
    if record.keywords:
        meta["keywords"] = list(record.keywords)
    if record.note:
        meta["note"] = record.note
    meta["main"] = main
    meta["archival_code"] = str(record.archival_code)
    return meta


def rebuild_catalog(
    ws: Workspace,
    *,
    force: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> RebuildReport:
    """Rebuild the catalog of ``ws`` from its store (see the module's doc); ``progress(path)`` after each entry.

    Holds the run lock. Refuses (ConfigError) a catalog that is healthy and the workspace's own
    unless ``force``.
    """
    with run_lock(ws.lock_path):
        home, path = ws.home, ws.catalog_path
        healthy = catalog_is_healthy(ws)
        if healthy:
            checkpoint(path)  # and, as the last connection, removes the side files the look made
        if healthy and not force:
            raise ConfigError("the catalog is healthy and this workspace's own; nothing to rebuild "
                              "(add --force to rebuild it from the store anyway)", str(path))
        try:
            catalog_id = read_id_file(home) or new_id()
            bad_id_file = False
        except ConfigError:
            catalog_id, bad_id_file = new_id(), True
        from govarc.sign.agency import workspace_policy
        from govarc.sign.validate import make_signature_check

        extra = make_signature_check(workspace_policy(ws, allow_unsigned=True))
        remove_stale_rebuilds(home)
        tmp = home / f"{TMP_PREFIX}{os.getpid()}"
        started = _now()
        sequences = _Sequences()
        for key, last in read_sequences(path, catalog_id):
            sequences.see_row(key, last)
        recovered: list[Recovered] = []
        unrecovered: list[Finding] = []
        referenced: set[str] = set()
        restored = 0
        cat = Catalog(tmp)
        try:
            cat.relax_durability()  # a crash leaves a temporary file only; fsynced at the end
            cat.claim_identity(catalog_id)
            pending: list[_Row] = []

            def flush() -> None:
                for row, clash in zip(pending, insert_recovered(cat, [_new_record(r) for r in pending])):
                    if clash is not None:
                        what = "archival code" if clash.same_code else "content"
                        unrecovered.append(Finding("CATALOG_UNRECOVERED", str(row.path),
                                                   f"has the same {what} as {home / clash.package_key}, recovered already"))
                        continue
                    recovered.append(Recovered(str(row.record.archival_code), row.agency, str(row.path), row.signed))
                    referenced.update(f.digest("sha256") or "" for f in row.record.files)
                pending.clear()

            for package in ws.stored_packages():
                sequences.see_text(package.name)
                try:
                    row, n = _recover(package, package.parent.name, extra, ws.objects)
                except _Unrecovered as e:
                    unrecovered.append(Finding("CATALOG_UNRECOVERED", str(package), str(e)))
                    sequences.see_text(e.named)
                except Exception as e:  # noqa: BLE001 - one unreadable package must not stop the recovery of the rest
                    unrecovered.append(Finding("CATALOG_UNRECOVERED", str(package), f"cannot be read: {type(e).__name__}: {e}"))
                else:
                    sequences.see(row.record.archival_code)
                    restored += n
                    pending.append(row)
                    if len(pending) >= _BATCH:
                        flush()
                if progress:
                    progress(package)
            flush()
            for hidden in hidden_names(home):
                sequences.see_text(hidden)
            # Then the transfer batches kept in transfers/, matched to the records just recovered.
            transfers = restore_transfers(home, cat, workspace_policy(ws), progress)
            unrecovered.extend(transfers.unrecovered)
            summary = {"recovered": len(recovered), "unrecovered": len(unrecovered), "objects_restored": restored,
                       "batches_restored": len(transfers.restored)}
            # The audit trail: carried over when the old catalog reads, else a new chain naming the last checkpoint.
            carried = carry_events(path, catalog_id, cat)
            last = latest_checkpoint(home)
            restart = {"chain_restarted": {"seq": last}} if not carried and last else {}
            finish_rebuild(cat, sequences.rows(), started, _now(), "partial" if unrecovered else "ok",
                           {**summary, "events_carried": carried}, restart)
            cat.checkpoint()
        except BaseException:
            cat.close()
            remove_catalog_files(tmp)
            raise
        cat.close()  # the last connection: SQLite removes the empty -wal and -shm
        fsync_path(tmp)
        stamp = _stamp()
        kept = keep_aside(path, stamp)
        if bad_id_file:
            aside = id_path(home).with_name(f"{ID_FILE}.broken-{stamp}")
            os.rename(id_path(home), aside)
            kept.append(str(aside))
        put_in_place(tmp, path)
        write_id_file(home, catalog_id)
        return RebuildReport(
            catalog=str(path), catalog_id=catalog_id, kept_aside=tuple(kept),
            recovered=tuple(recovered), unrecovered=tuple(unrecovered),
            sequences=tuple((sequence_text(key.values()), last) for key, last in sequences.rows()),
            objects_restored=restored, objects_unreferenced=ws.objects.count_unreferenced(referenced),
            batches_restored=transfers.restored, batches_skipped=transfers.skipped,
        )
