"""Rebuild the catalog from the packages of the store: ``govarc catalog rebuild``.

Each package carries its record (``metadata/record.xml``: archival code, description, files with
formats and digests) and its bag-info (agency, bagging date), which is everything the catalog
keeps about a packaged record. The rebuild verifies every package (signatures too, against the
workspace's trust store) and recovers the valid ones as records in state ``packaged``; it reports
every other entry of the store as ``CATALOG_UNRECOVERED`` with the reason. Files missing from the
object store are restored from the packages.

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
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.catalog.db import Catalog, Connection, DriverError, checkpoint, open_readonly
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
from govarc.catalog.states import RecordState
from govarc.errors import EXIT_INVALID, EXIT_OK, ConfigError, GovarcError
from govarc.findings import Finding
from govarc.fsutil import fsync_path
from govarc.ingest.pipeline import content_key, object_path
from govarc.lock import run_lock
from govarc.package import layout
from govarc.package.hashing import Algorithm, digest_stream
from govarc.package.manifest import bag_info_get, nfc
from govarc.package.metadata import ArchivalCode, FileInfo, MetadataError, Record, record_from_xml
from govarc.package.reader import PackageReader, open_package
from govarc.package.verify import VerifyResult, verify_package
from govarc.store.packages import PackageStore, hidden_names, package_size, store_packages

if TYPE_CHECKING:
    from govarc.workspace import Workspace

_TMP_PREFIX = ".catalog.sqlite.rebuild-"
_CODE_IN_NAME = re.compile(r"[A-Za-z0-9]{1,16}-[A-Za-z0-9]{1,16}[·.][0-9]{4}-(?:Y|D30|D10)-[A-Za-z0-9]{1,16}-[0-9]{1,9}")
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

    @property
    def exit_code(self) -> int:
        """3 when any package could not be recovered, else 0."""
        return EXIT_INVALID if self.unrecovered else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog, "catalog_id": self.catalog_id, "kept_aside": list(self.kept_aside),
            "recovered": len(self.recovered), "unrecovered": len(self.unrecovered),
            "packages": [r.as_dict() for r in self.recovered],
            "findings": [f.as_dict() for f in self.unrecovered],
            "sequences": dict(self.sequences),
            "objects_restored": self.objects_restored, "objects_unreferenced": self.objects_unreferenced,
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


def _sequence_key(code: ArchivalCode) -> tuple[str, str, int, str, str]:
    return (code.fonds, code.category, code.year, code.retention.value, code.unit)


class _Sequences:
    """The highest 件号 seen per fonds/category/year/retention/unit."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str, int, str, str], int] = {}

    def see(self, code: ArchivalCode) -> None:
        key = _sequence_key(code)
        self.last[key] = max(self.last.get(key, 0), code.item)

    def see_text(self, text: str | None) -> None:
        """Every archival code in ``text`` (a name, a bag-info value), if any."""
        for m in _CODE_IN_NAME.finditer(text or ""):
            try:
                self.see(ArchivalCode.parse(m.group(0)))
            except MetadataError:
                continue

    def see_row(self, key: tuple[str, str, int, str, str], last: int) -> None:
        self.last[key] = max(self.last.get(key, 0), last)


def _first_error(result: VerifyResult) -> str:
    errors = result.errors
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"does not verify: {first.code} {first.path}: {first.message}{more}"


def _restore_objects(reader: PackageReader, record: Record, objects: Path) -> int:
    """Copy into the object store every file of ``record`` it lacks (or holds at another size)."""
    stored = {nfc(n): n for n in reader.entries if layout.is_payload(n)}
    restored = 0
    for f in record.files:
        sha = f.digest("sha256")
        if sha is None:
            raise _Unrecovered(f"record.xml gives no sha256 for {f.name}")
        dest = object_path(objects, sha)
        try:
            st = os.lstat(dest)
            if stat.S_ISREG(st.st_mode) and st.st_size == f.size:
                continue
        except FileNotFoundError:
            pass
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}")
        try:
            with reader.open(stored[f"{layout.DATA_DIR}/{nfc(f.name)}"]) as src, open(tmp, "xb", buffering=0) as dst:
                d = digest_stream(src, [Algorithm.SHA256], sink=dst)
                dst.flush()
                os.fsync(dst.fileno())
            if d.hexdigests[Algorithm.SHA256] != sha:
                raise _Unrecovered(f"data/{f.name} does not have the sha256 record.xml gives")
            os.replace(tmp, dest)
            fsync_path(dest.parent)
        finally:
            tmp.unlink(missing_ok=True)
        restored += 1
    return restored


def _recover(path: Path, agency: str, extra: SignatureCheck, objects: Path) -> tuple[_Row, int]:
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


def _insert(conn: Connection, row: _Row, home: Path) -> None:
    """Insert one recovered record and its files; _Unrecovered when it collides with one recovered before.

    The record's ``package_path`` and ``source`` are the package's key (relative to ``home``).
    """
    r, code = row.record, row.record.archival_code
    files = _main_first(r.files)
    key = content_key((f.role, nfc(f.name), f.digest("sha256") or "") for f in files)
    clash = conn.execute(
        "SELECT package_path, archival_code = ? FROM records WHERE archival_code=? OR (agency=? AND content_key=?)",
        (str(code), str(code), row.agency, key),
    ).fetchone()
    if clash:
        what = "archival code" if clash[1] else "content"
        raise _Unrecovered(f"has the same {what} as {home / clash[0]}, recovered already")
    (record_id,) = conn.execute(
        "INSERT INTO records (agency, archival_code, fonds, category, year, retention, unit, item, title, "
        "document_number, date, classification, content_key, source, version, supersedes, metadata, warnings, "
        "state, ingested_at, package_path, package_tagmanifest_sha256, package_size, package_signed, packaged_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,NULL,?,'[]',?,?,?,?,?,?,?) RETURNING id",
        (row.agency, str(code), code.fonds, code.category, code.year, code.retention.value, code.unit, code.item,
         r.title, r.document_number, r.date.isoformat(), r.classification.value, key, row.key,
         json.dumps(_metadata(r, files[0].name), ensure_ascii=False), RecordState.PACKAGED.value, row.bagging_date,
         row.key, row.tagmanifest_sha256, row.size, int(row.signed), row.bagging_date),
    ).fetchone()
    conn.executemany(
        "INSERT INTO record_files (record_id, position, role, name, size, sha256, mime, format_name, "
        "format_version, source) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(record_id, i, f.role, nfc(f.name), f.size, f.digest("sha256"), f.mime, f.format_name, f.format_version,
          f"{row.key}/{layout.DATA_DIR}/{f.name}") for i, f in enumerate(files)],
    )


def _old_sequences(path: Path, catalog_id: str) -> list[tuple[tuple[str, str, int, str, str], int]]:
    """The old catalog's sequences when it still reads and is this workspace's (else nothing)."""
    try:
        if inspect_catalog(path).catalog_id != catalog_id:
            return []
        with open_readonly(path) as conn:
            rows = conn.execute("SELECT fonds, category, year, retention, unit, last_item FROM sequences").fetchall()
    except (GovarcError, DriverError, OSError):
        return []
    return [((str(f), str(c), int(y), str(r), str(u)), int(last)) for f, c, y, r, u, last in rows]


def _remove_stale(home: Path) -> None:
    """Temporary catalogs of rebuilds that died (the caller holds the run lock: none is running)."""
    for entry in os.scandir(home):
        if entry.name.startswith(_TMP_PREFIX) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def _unreferenced(objects: Path, referenced: set[str]) -> int:
    count = 0
    try:
        folders = list(os.scandir(objects))
    except OSError:
        return 0
    for folder in folders:
        if not folder.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(folder.path):
            if not entry.name.startswith(".") and entry.name not in referenced:
                count += 1
    return count


def _aside(path: Path, stamp: str) -> Path:
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while os.path.lexists(aside) or os.path.lexists(aside.with_name(aside.name + "-wal")):
        aside = path.with_name(f"{path.name}.broken-{stamp}-{n}")
        n += 1
    return aside


def _keep_aside(path: Path, stamp: str) -> list[str]:
    """Keep the old catalog (and its -wal, -shm) under ``catalog.sqlite.broken-<stamp>``.

    The database file stays in place (a hard link is made) until the new one replaces it
    atomically; its -wal (and a rollback journal) must go first, since SQLite would apply them to
    the new database. They are kept beside the old file under the names SQLite pairs them by.
    """
    if not os.path.lexists(path):
        return []
    aside = _aside(path, stamp)
    if stat.S_ISREG(os.lstat(path).st_mode):
        try:
            os.link(path, aside)
        except OSError:
            shutil.copy2(path, aside)
    else:
        os.rename(path, aside)
    kept = [str(aside)]
    for suffix in ("-wal", "-journal", "-shm"):
        side = path.with_name(path.name + suffix)
        if not os.path.lexists(side):
            continue
        if suffix == "-shm" or os.lstat(side).st_size == 0:
            os.unlink(side)  # no data: an empty log, or the WAL's index, which SQLite rebuilds from the WAL
        else:
            os.rename(side, aside.with_name(aside.name + suffix))
            kept.append(str(aside.with_name(aside.name + suffix)))
    fsync_path(path.parent)
    return kept


def _put_in_place(tmp: Path, path: Path) -> None:
    """Rename the new catalog over the old one (atomic) and make the rename durable."""
    os.replace(tmp, path)
    fsync_path(path.parent)


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
        _remove_stale(home)
        tmp = home / f"{_TMP_PREFIX}{os.getpid()}"
        started = _now()
        sequences = _Sequences()
        for key, last in _old_sequences(path, catalog_id):
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
                with cat.write() as conn:
                    for row in pending:
                        try:
                            conn.execute("SAVEPOINT one")
                            _insert(conn, row, home)
                            conn.execute("RELEASE one")
                        except _Unrecovered as e:
                            conn.execute("ROLLBACK TO one")
                            conn.execute("RELEASE one")
                            unrecovered.append(Finding("CATALOG_UNRECOVERED", str(row.path), str(e)))
                            continue
                        recovered.append(Recovered(str(row.record.archival_code), row.agency, str(row.path), row.signed))
                        referenced.update(f.digest("sha256") or "" for f in row.record.files)
                pending.clear()

            for package in store_packages(home):
                sequences.see_text(package.name)
                try:
                    row, n = _recover(package, package.parent.name, extra, ws.objects_dir)
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
            with cat.write() as conn:
                conn.executemany(
                    "INSERT INTO sequences (fonds, category, year, retention, unit, last_item) VALUES (?,?,?,?,?,?)",
                    [(*key, last) for key, last in sorted(sequences.last.items())],
                )
                summary = {"recovered": len(recovered), "unrecovered": len(unrecovered), "objects_restored": restored}
                conn.execute("INSERT INTO runs (kind, started_at, finished_at, status, summary) VALUES (?,?,?,?,?)",
                             ("catalog-rebuild", started, _now(), "partial" if unrecovered else "ok",
                              json.dumps(summary, ensure_ascii=False)))
            cat.checkpoint()
        except BaseException:
            cat.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
            raise
        cat.close()  # the last connection: SQLite removes the empty -wal and -shm
        fsync_path(tmp)
        stamp = _stamp()
        kept = _keep_aside(path, stamp)
        if bad_id_file:
            aside = id_path(home).with_name(f"{ID_FILE}.broken-{stamp}")
            os.rename(id_path(home), aside)
            kept.append(str(aside))
        _put_in_place(tmp, path)
        write_id_file(home, catalog_id)
        return RebuildReport(
            catalog=str(path), catalog_id=catalog_id, kept_aside=tuple(kept),
            recovered=tuple(recovered), unrecovered=tuple(unrecovered),
            sequences=tuple((f"{f}-{c}·{y:04d}-{r}-{u}", last) for (f, c, y, r, u), last in sorted(sequences.last.items())),
            objects_restored=restored, objects_unreferenced=_unreferenced(ws.objects_dir, referenced),
        )
