"""Package every catalog record that has no package yet, into its agency's store.

Safe to re-run after a crash at any point: a package is built atomically, and one found at the
destination that the catalog does not know yet (the crash came between the rename and the catalog
update) is verified and adopted, or moved to the store's quarantine if it is not whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import threading
import zipfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.catalog.db import Catalog
from govarc.errors import ConfigError, GovarcError, InvalidInputError
from govarc.ingest.pipeline import object_path
from govarc.package import layout
from govarc.package.build import PackageInfo, Signer, build_package, remove_stale_temps
from govarc.package.hashing import Algorithm, Progress
from govarc.package.manifest import bag_info_get, nfc, parse_manifest
from govarc.package.metadata import Record, record_from_dict
from govarc.package.reader import open_package
from govarc.package.verify import verify_package


NO_KEY = "PACKAGE_NO_KEY"


@dataclass(frozen=True)
class Packaged:
    """One record packaged (or adopted from a crashed run)."""

    archival_code: str
    path: Path
    size: int
    tagmanifest_sha256: str
    signed: bool
    adopted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"archival_code": self.archival_code, "path": str(self.path), "size": self.size,
                "tagmanifest_sha256": self.tagmanifest_sha256, "signed": self.signed, "adopted": self.adopted}


def catalog_record(catalog: Catalog, record_id: int) -> Record:
    """The :class:`Record` of a catalog row (descriptive metadata; files are filled in by the build)."""
    row = catalog.conn.execute("SELECT metadata FROM records WHERE id=?", (record_id,)).fetchone()
    return record_from_dict(json.loads(row[0]))


def _stored_files(catalog: Catalog, objects: Path, record_id: int) -> list[tuple[str, Path]]:
    """The record's files: each name and its stored copy in the object store."""
    rows = catalog.conn.execute(
        "SELECT name, sha256 FROM record_files WHERE record_id=? ORDER BY position", (record_id,)
    ).fetchall()
    out = []
    for name, sha in rows:
        src = object_path(objects, sha)
        if not src.is_file():
            raise InvalidInputError(f"stored copy of {name} is missing from the object store", str(src))
        out.append((name, src))
    return out


def _stage(files: list[tuple[str, Path]], stage: Path) -> None:
    """Lay out the record's files under their names in the empty folder ``stage``, as hard links."""
    for name, src in files:
        try:
            os.link(src, stage / name)
        except OSError:
            shutil.copyfile(src, stage / name)


def _empty(stage: Path) -> None:
    for entry in os.scandir(stage):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def _existing(out: Path, code: str, expected: dict[str, str]) -> tuple[bool, str]:
    """Whether a package already at ``out`` is whole and holds exactly this record's files.

    ``expected`` maps each payload path (``data/<name>``) to its SHA-256. A whole package under
    the same archival code but with other content (say, from a catalog that was replaced) is
    never adopted. Returns the verdict and the package's tag-manifest digest.
    """
    result = verify_package(out)
    if not result.valid or bag_info_get(list(result.bag_info), "External-Identifier") != code:
        return False, ""
    with open_package(out) as r:
        lines, _ = parse_manifest(r.read(layout.REQUIRED_MANIFEST).decode("utf-8"), Algorithm.SHA256)
        if {nfc(line.path): line.digest for line in lines} != expected:
            return False, ""
        return True, hashlib.sha256(r.read(layout.REQUIRED_TAGMANIFEST)).hexdigest()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _signed(path: Path) -> bool:
    with open_package(path) as r:
        return any(layout.is_signature(n) for n in r.entries)


class _Counting:
    """Wraps a signer and remembers whether it produced a signature."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.signed = False

    def __call__(self, tagmanifest: bytes) -> dict[str, bytes]:
        signatures = self.signer(tagmanifest)
        self.signed = bool(signatures)
        return signatures


# Packages are recorded in the catalog in batches, one transaction each: with synchronous=FULL
# every commit is an fsync, which cost more than building a one-page package. A crash before a
# batch is recorded loses nothing: the next run finds those packages at their destinations,
# verifies them and adopts them (see _existing).
RECORD_EVERY = 64
RECORD_SECONDS = 2.0
# Packages built at once. A small package's build is mostly file creation, fsync and signing,
# which release the GIL; measured on 2 cores, two builds at a time beat one by about a third.
BUILD_THREADS = 2
_STAGE = re.compile(r"^stage-t?\d+-(\d+)$")


def _remove_stale_stages(tmp: Path) -> None:
    """Remove staging folders left by a process that no longer runs (a crash)."""
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return
    for entry in entries:
        m = _STAGE.match(entry.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # still running
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except PermissionError:
            continue


class _Stages:
    """One staging folder per build thread, emptied after each build and removed at the end.

    Reusing the folder saves a directory creation and removal per package: on ext4 that churns
    inodes are the dearest part of building a small package.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.local = threading.local()
        self.made: list[Path] = []
        self.lock = threading.Lock()

    def get(self) -> Path:
        stage: Path | None = getattr(self.local, "stage", None)
        if stage is None:
            with self.lock:
                stage = self.tmp / f"stage-t{len(self.made)}-{os.getpid()}"
                self.made.append(stage)
            if stage.exists():
                shutil.rmtree(stage)
            stage.mkdir(parents=True)
            self.local.stage = stage
        return stage

    def remove(self) -> None:
        for stage in self.made:
            shutil.rmtree(stage, ignore_errors=True)


def _build(stages: _Stages, files: list[tuple[str, Path]], record: Record, out: Path, code: str, *,
           signer: Signer | None, zip: bool, sm3: bool, progress: Progress | None) -> Packaged:
    """Stage one record's files and build its package (on a build thread)."""
    counting = _Counting(signer) if signer is not None else None
    stage = stages.get()
    try:
        _stage(files, stage)
        info: PackageInfo = build_package(stage, record, out, zip=zip, sm3=sm3, progress=progress, signer=counting,
                                          clean_stale=False)
    finally:
        _empty(stage)
    return Packaged(code, out, info.size, info.tagmanifest_sha256, counting is not None and counting.signed)


def package_pending(
    catalog: Catalog,
    objects: Path,
    store: Path,
    tmp: Path,
    agency_code: str,
    *,
    signer: Signer | None = None,
    unsigned: bool = False,
    keys: Path | None = None,
    zip: bool = False,
    sm3: bool = False,
    progress: Progress | None = None,
    on_package: Callable[[Packaged], None] | None = None,
    threads: int = BUILD_THREADS,
) -> list[Packaged]:
    """Build and sign (with ``signer``) a package for every registered record of an agency.

    Without a ``signer`` nothing is built unless ``unsigned`` says unsigned packages are wanted:
    a :class:`ConfigError` starting ``PACKAGE_NO_KEY`` names the agency and ``keys`` (where its
    key would be), so that no agency gets unsigned packages by accident. Builds ``threads``
    packages at a time. ``on_package`` is called for each package once the catalog records it
    (in batches). When a build fails, the packages built before it are recorded and the error is
    raised.
    """
    rows = catalog.conn.execute(
        "SELECT id, archival_code FROM records WHERE agency=? AND state='registered' ORDER BY id", (agency_code,)
    ).fetchall()
    if rows and signer is None and not unsigned:
        where = f" ({keys / 'key.pem'} does not exist)" if keys is not None else ""
        raise ConfigError(
            f"{NO_KEY}: agency {agency_code} has no signing key{where}, so {len(rows)} record(s) wait unpackaged; "
            f"issue or import one (govarc pki issue {agency_code}, or govarc pki import {agency_code}), "
            f"or set `unsigned = true` for the agency in govarc.toml to package without a signature")
    done: list[Packaged] = []
    unrecorded: list[tuple[int, Packaged, str]] = []
    store.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(tmp)
    remove_stale_temps(store)  # once per run, not once per package
    last = time.monotonic()

    def record() -> None:
        with catalog.write() as conn:
            conn.executemany(
                "UPDATE records SET state='packaged', package_path=?, package_tagmanifest_sha256=?, package_size=?, "
                "package_signed=?, packaged_at=? WHERE id=? AND state='registered'",
                [(str(r.path), r.tagmanifest_sha256, r.size, int(r.signed), at, rid) for rid, r, at in unrecorded],
            )
        for _, r, _ in unrecorded:
            done.append(r)
            if on_package:
                on_package(r)
        unrecorded.clear()

    def finished(record_id: int, result: Packaged) -> None:
        nonlocal last
        unrecorded.append((record_id, result, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
        if len(unrecorded) >= RECORD_EVERY or time.monotonic() - last >= RECORD_SECONDS:
            record()
            last = time.monotonic()

    inflight: deque[tuple[int, Future[Packaged]]] = deque()
    pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="govarc-package")
    stages = _Stages(tmp)
    try:
        for record_id, code in rows:
            out = store / (code + (".zip" if zip else ""))
            if os.path.lexists(out):
                expected = {f"{layout.DATA_DIR}/{nfc(name)}": sha for name, sha in catalog.conn.execute(
                    "SELECT name, sha256 FROM record_files WHERE record_id=?", (record_id,))}
                whole, tm = _existing(out, code, expected)
                if whole:
                    finished(record_id, Packaged(code, out, _size(out), tm, _signed(out), adopted=True))
                    continue
                quarantine = store / ".quarantine"
                quarantine.mkdir(exist_ok=True)
                os.replace(out, quarantine / f"{out.name}.{dt.datetime.now():%Y%m%d%H%M%S}")
            # The catalog is read here, on this thread; only the build runs on the pool.
            files = _stored_files(catalog, objects, record_id)
            inflight.append((record_id, pool.submit(
                _build, stages, files, catalog_record(catalog, record_id), out, code,
                signer=signer, zip=zip, sm3=sm3, progress=progress)))
            while len(inflight) > 2 * max(1, threads) or (inflight and inflight[0][1].done()):
                rid, future = inflight.popleft()
                finished(rid, future.result())
        while inflight:
            rid, future = inflight.popleft()
            finished(rid, future.result())
    finally:
        for rid, future in inflight:  # after an error: keep what the other builds finished
            try:
                unrecorded.append((rid, future.result(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
            except BaseException:  # noqa: S110 - the first error is the one raised
                pass
        pool.shutdown(wait=True)
        stages.remove()
        if unrecorded:
            record()
    return done


# -- signatures on disk, and signing the backlog -------------------------------------------------

def has_agency_signature(path: Path, code: str) -> bool:
    """Whether the package at ``path`` (a folder or a .zip) holds ``signatures/<code>.p7s``.

    Looks at the disk, not the catalog, and follows no link: a link at the package, at
    ``signatures/`` or at the signature does not count. Whether the signature is valid is for
    ``govarc verify`` to say.
    """
    rel = f"{layout.SIGNATURES_DIR}/{code}.p7s"
    try:
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            return (stat.S_ISDIR(os.lstat(path / layout.SIGNATURES_DIR).st_mode)
                    and stat.S_ISREG(os.lstat(path / rel).st_mode))
        if stat.S_ISREG(st.st_mode):
            with zipfile.ZipFile(path) as z:
                return any(n.count("/") == 2 and n.split("/", 1)[1] == rel for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return False


def _store_path(store: Path, package_path: str) -> Path | None:
    """The package a catalog row names, found by its name in ``store`` (never outside it)."""
    name = Path(package_path).name
    if not name or name.startswith(".") or name != os.path.basename(package_path):
        return None
    return store / name


@dataclass(frozen=True)
class AgencyCounts:
    """What ``govarc status`` shows for an agency; ``signed`` is counted on disk."""

    records: int
    packages: int
    signed: int
    bytes: int


def agency_counts(catalog: Catalog, store: Path, agency_code: str) -> AgencyCounts:
    """Records and packages of an agency; a package counts as signed when its agency's signature is on disk."""
    records, size = catalog.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(package_size), 0) FROM records WHERE agency=?", (agency_code,)).fetchone()
    paths = [r[0] for r in catalog.conn.execute(
        "SELECT package_path FROM records WHERE agency=? AND package_path IS NOT NULL", (agency_code,))]
    signed = 0
    for package_path in paths:
        path = _store_path(store, package_path)
        if path is not None and has_agency_signature(path, agency_code):
            signed += 1
    return AgencyCounts(records, len(paths), signed, size)


@dataclass(frozen=True)
class SignedPackage:
    """A package of the store signed by :func:`sign_pending` (or found signed and recorded as such)."""

    archival_code: str
    path: Path
    size: int
    tagmanifest_sha256: str
    already: bool = False  # signed on disk before, only the catalog is brought up to date

    def as_dict(self) -> dict[str, Any]:
        return {"archival_code": self.archival_code, "path": str(self.path), "size": self.size,
                "tagmanifest_sha256": self.tagmanifest_sha256, "already_signed": self.already}


@dataclass(frozen=True)
class SignFailure:
    archival_code: str
    path: Path
    message: str
    exit_code: int

    def as_dict(self) -> dict[str, Any]:
        return {"archival_code": self.archival_code, "path": str(self.path), "error": self.message,
                "exit_code": self.exit_code}


def unsigned_packages(catalog: Catalog, store: Path, agency_code: str) -> list[tuple[int, str, Path]]:
    """``(record id, archival code, path)`` of each package of the agency that lacks its signature on disk."""
    out = []
    for rid, code, package_path in catalog.conn.execute(
            "SELECT id, archival_code, package_path FROM records WHERE agency=? AND package_path IS NOT NULL "
            "ORDER BY id", (agency_code,)).fetchall():
        path = _store_path(store, package_path) or Path(package_path)
        if not has_agency_signature(path, agency_code):
            out.append((rid, code, path))
    return out


def _tagmanifest_sha256(path: Path) -> str:
    with open_package(path) as r:
        return hashlib.sha256(r.read(layout.REQUIRED_TAGMANIFEST)).hexdigest()


def sign_pending(
    catalog: Catalog,
    store: Path,
    agency_code: str,
    sign: Callable[[Path], object],
    *,
    on_package: Callable[[SignedPackage], None] | None = None,
) -> tuple[list[SignedPackage], list[SignFailure]]:
    """Sign every package of the agency in ``store`` that lacks ``signatures/<agency_code>.p7s``.

    ``sign(path)`` signs one package atomically (see :func:`govarc.sign.cms.sign_package`, which
    verifies it first). After each, the catalog records it signed with its size and tag-manifest
    digest as now on disk. A package found signed on disk that the catalog calls unsigned (a crash
    between signing and recording) is only recorded. A package that cannot be signed (missing,
    a link, invalid) is reported in the failures and the others go on.
    """
    signed: list[SignedPackage] = []
    failed: list[SignFailure] = []

    def record(rid: int, result: SignedPackage) -> None:
        with catalog.write() as conn:
            conn.execute("UPDATE records SET package_signed=1, package_size=?, package_tagmanifest_sha256=? WHERE id=?",
                         (result.size, result.tagmanifest_sha256, rid))
        signed.append(result)
        if on_package:
            on_package(result)

    for rid, code, package_path, flag in catalog.conn.execute(
            "SELECT id, archival_code, package_path, COALESCE(package_signed, 0) FROM records "
            "WHERE agency=? AND package_path IS NOT NULL ORDER BY id", (agency_code,)).fetchall():
        path = _store_path(store, package_path)
        if path is None:
            failed.append(SignFailure(code, Path(package_path), "the catalog names a package outside the store", 3))
            continue
        try:
            if has_agency_signature(path, agency_code):
                if not flag:
                    record(rid, SignedPackage(code, path, _size(path), _tagmanifest_sha256(path), already=True))
                continue
            if not os.path.lexists(path):
                raise InvalidInputError("the package is missing from the store", str(path))
            sign(path)
            record(rid, SignedPackage(code, path, _size(path), _tagmanifest_sha256(path)))
        except GovarcError as e:
            failed.append(SignFailure(code, path, str(e), e.exit_code))
    return signed, failed
