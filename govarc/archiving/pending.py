"""Package every catalog record that has no package yet, into its agency's store.

Safe to re-run after a crash at any point: a package is built atomically, and one found at the
destination that the catalog does not know yet (the crash came between the rename and the catalog
update) is verified and adopted, or moved to the store's quarantine if it is not whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import shutil
import signal
import stat
import struct
import sys
import zipfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.catalog.db import Catalog
from govarc.catalog.packages import (
    PackagedRow,
    agency_totals,
    iter_registered_records,
    mark_packaged,
    mark_signed,
    packages,
    record_file_formats,
    record_files,
    record_metadata,
    registered_span,
)
from govarc.errors import ConfigError, GovarcError, InvalidInputError
from govarc.fsutil import FilesystemSync, fsync_path
from govarc.package import layout
from govarc.package.build import PackageInfo, build_package
from govarc.package.hashing import Algorithm, Progress
from govarc.package.manifest import bag_info_get, nfc, parse_manifest
from govarc.package.metadata import Record, record_from_dict
from govarc.package.reader import open_package
from govarc.package.verify import verify_package
from govarc.sign.signer import Signer
from govarc.store.objects import ObjectStore
from govarc.store.packages import PackageStore, Staging, package_size

if TYPE_CHECKING:
    from govarc.formats import FormatInfo


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
    return record_from_dict(record_metadata(catalog, record_id))


def _stored_files(
    catalog: Catalog, objects: ObjectStore, record_id: int,
) -> tuple[list[tuple[str, Path]], dict[str, tuple[str, FormatInfo]]]:
    """The record's files: each name and its stored copy in the object store; and the formats
    ingest identified, by name below data/ (see ``known_formats`` of :func:`build_package`)."""
    from govarc.formats import FormatInfo  # libmagic, which only a build needs

    out = []
    known: dict[str, tuple[str, FormatInfo]] = {}
    for name, sha, mime, format_name, version in record_file_formats(catalog, record_id):
        src = objects.path(sha)
        if not src.is_file():
            raise InvalidInputError(f"stored copy of {name} is missing from the object store", str(src))
        out.append((name, src))
        known[nfc(name)] = (sha, FormatInfo(mime, format_name, version))
    return out, known


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
#
# The same holds for making them durable. Each package is built and renamed into place without
# its own sync (a syncfs per one-page package was a third of the nightly's packaging time, more
# when other programs write to the same filesystem), and a batch is made durable at once, by one
# syncfs (or an fsync of each of its files and folders) and an fsync of the store folder, before
# the catalog records it. So the catalog names only packages that are on disk, and a package that
# a power loss left at its destination half written is one the catalog does not name: the next
# run verifies it, finds it not whole, moves it to the quarantine and builds it again.
RECORD_EVERY = 64
RECORD_SECONDS = 2.0
# Packages built at once. A small package's build is mostly file creation and signing, which
# release the GIL in part; measured on 2 cores, two builds at a time beat one by about a third.
BUILD_THREADS = 2


class _BatchSync:
    """Makes the packages built since the last call durable, all at once (see RECORD_EVERY).

    The store folder's descriptor is opened before the first build, as syncfs(2) reports only the
    write-back errors that came after it was opened; without syncfs (not Linux, or a kernel older
    than 5.8), every file and folder of each package is fsynced.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fs = FilesystemSync(root)

    def __call__(self, paths: list[Path]) -> None:
        if not paths:
            return
        if self.fs.available:
            self.fs.sync()
        else:
            for path in paths:
                if path.is_dir():
                    for folder, _dirs, names in os.walk(path):
                        for name in names:
                            fsync_path(os.path.join(folder, name))
                        fsync_path(folder)
                else:
                    fsync_path(path)
        fsync_path(self.root)

    def close(self) -> None:
        self.fs.close()


def _build(stages: Staging, files: list[tuple[str, Path]], record: Record, out: Path, code: str, *,
           signer: Signer | None, zip: bool, sm3: bool, progress: Progress | None,
           known_formats: dict[str, tuple[str, FormatInfo]] | None = None) -> Packaged:
    """Stage one record's files and build its package (on a build thread)."""
    counting = _Counting(signer) if signer is not None else None
    stage = stages.get()
    try:
        stages.lay_out(files, stage)
        info: PackageInfo = build_package(stage, record, out, zip=zip, sm3=sm3, progress=progress, signer=counting,
                                          clean_stale=False, durable=False,  # made durable by batch: _BatchSync
                                          known_formats=known_formats)
    finally:
        stages.empty(stage)
    return Packaged(code, out, info.size, info.tagmanifest_sha256, counting is not None and counting.signed)


# -- builds on a pool of forked processes ----------------------------------------------------------
#
# A one-record build is mostly Python (manifests, bag-info, the CMS signature), so threads in one
# process use about one core. With ``workers`` of 2 or more, builds run on processes forked from
# this one after the signer was loaded: each worker inherits the signer (and the private key it
# holds) in memory through fork, so the key is never pickled, sent through a pipe or written
# anywhere. Workers get the catalog's facts of one record (names, stored copies, metadata) and
# return a small :class:`Packaged`; the catalog and the batch's syncfs stay in this process.

_WORKER: dict[str, Any] = {}
"""A pool worker's own state (its signer and staging folder), set by :func:`_worker_init` in the
worker only; the parent never sets it."""


class _WorkerPids:
    """The process ids of a pool's workers, as each worker reports its own when it starts.

    A pipe made before the pool: every forked worker inherits its write end and writes its pid
    there in one 8-byte ``write`` (atomic on a pipe: no lock that a killed worker could hold);
    the parent reads them once the pool is shut down. Both ends are closed on ``exec``.
    """

    _PID = struct.Struct("=q")

    def __init__(self) -> None:
        self._read, self.write_fd = os.pipe()

    @staticmethod
    def report(write_fd: int) -> None:
        """In a worker: tell the parent this process's id."""
        os.write(write_fd, _WorkerPids._PID.pack(os.getpid()))

    def collect(self) -> list[int]:
        """In the parent, after the pool's shutdown: the pids the workers reported; closes the pipe."""
        os.close(self.write_fd)
        data = b""
        try:
            os.set_blocking(self._read, False)  # another fork may still hold the write end: never wait
            while True:
                try:
                    chunk = os.read(self._read, 1 << 16)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(self._read)
        size = self._PID.size
        return [self._PID.unpack_from(data, i)[0] for i in range(0, len(data) - len(data) % size, size)]


def _worker_init(owner: int, signer: Signer | None, tmp: Path, pids_fd: int) -> None:
    """Pool initializer (runs in each forked worker): report its pid, die with the parent, inherit the signer."""
    _WorkerPids.report(pids_fd)  # first: its staging folder, named by its pid, is to be found even if all else fails
    # SIGTERM and Ctrl-C are for the parent, which stops the pool: a worker must not run the
    # parent's handlers (they would print the parent's message a second time).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        # A worker must not outlive a kill -9 of the parent: it holds copies of the parent's
        # descriptors, among them the run lock's, which the kernel frees only when all are closed.
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watch below still ends it
            pass
    if os.getppid() != owner:  # the parent died before prctl took effect
        os._exit(1)
    _watch_owner(owner)
    _WORKER["signer"] = signer
    _WORKER["stages"] = Staging(tmp)


def _watch_owner(owner: int) -> None:
    import threading

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != owner:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _build_in_worker(files: list[tuple[str, Path]], record: Record, out: Path, code: str, zip: bool, sm3: bool,
                     known_formats: dict[str, tuple[str, FormatInfo]]) -> tuple[Packaged, Path]:
    """:func:`_build` in a pool worker, with the signer it inherited; also returns its staging folder."""
    stages: Staging = _WORKER["stages"]
    packaged = _build(stages, files, record, out, code, signer=_WORKER["signer"], zip=zip, sm3=sm3, progress=None,
                      known_formats=known_formats)
    return packaged, stages.get()


def _process_pool(workers: int, signer: Signer | None, tmp: Path, pids: _WorkerPids) -> ProcessPoolExecutor:
    """``workers`` processes forked from this one (see above), each reporting its pid to ``pids``.
    fork, not forkserver or spawn: the signer is a closure over the private key and must be
    inherited, never pickled; a context that pickles the initializer's arguments fails on it
    rather than sending the key."""
    ctx = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(), signer, tmp, pids.write_fd))


def package_pending(
    catalog: Catalog,
    objects: ObjectStore,
    store: PackageStore,
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
    workers: int = 0,
    keep: bool = True,
) -> list[Packaged]:
    """Build and sign (with ``signer``) a package for every registered record of an agency.

    Without a ``signer`` nothing is built unless ``unsigned`` says unsigned packages are wanted:
    a :class:`ConfigError` starting ``PACKAGE_NO_KEY`` names the agency and ``keys`` (where its
    key would be), so that no agency gets unsigned packages by accident. Builds ``threads``
    packages at a time in this process, or, with ``workers`` of 2 or more, one at a time on each
    of ``workers`` processes forked after the signer was loaded (``progress`` is then not called). ``on_package`` is called for each package once the catalog records it
    (in batches). When a build fails, the packages built before it are recorded and the error is
    raised. With ``keep`` false the list returned is empty: the caller hears of each package
    through ``on_package`` only, and memory does not grow with the number of records.

    ``objects`` is the workspace's object store, ``store`` the agency's :class:`PackageStore`; the
    catalog records each package by its key relative to the home. Staging folders go below ``tmp``.
    """
    waiting, upto = registered_span(catalog, agency_code)
    if waiting and signer is None and not unsigned:
        where = f" ({keys / 'key.pem'} does not exist)" if keys is not None else ""
        raise ConfigError(
            f"{NO_KEY}: agency {agency_code} has no signing key{where}, so {waiting} record(s) wait unpackaged; "
            f"issue or import one (govarc pki issue {agency_code}, or govarc pki import {agency_code}), "
            f"or set `unsigned = true` for the agency in govarc.toml to package without a signature")
    done: list[Packaged] = []
    unrecorded: list[tuple[int, Packaged, str]] = []
    store.root.mkdir(parents=True, exist_ok=True)
    stages = store.staging(tmp)
    store.clean_stale()  # once per run, not once per package
    durable = _BatchSync(store.root)
    last = time.monotonic()

    def record() -> None:
        durable([r.path for _, r, _ in unrecorded])  # adopted ones too: a killed run may have left them unsynced
        mark_packaged(catalog, [PackagedRow(rid, store.key(r.path), r.tagmanifest_sha256, r.size, r.signed, at)
                                for rid, r, at in unrecorded])
        for _, r, _ in unrecorded:
            if keep:
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
    forked = workers >= 2 and bool(waiting)
    worker_stages: set[Path] = set()
    pool: Executor
    worker_pids = _WorkerPids() if forked else None
    if worker_pids is not None:
        pool = _process_pool(workers, signer, tmp, worker_pids)
        ahead = 4 * workers  # a worker's build waits on no thread of ours: keep each busy
    else:
        pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="govarc-package")
        ahead = 2 * max(1, threads)

    def submit(files: list[tuple[str, Path]], record: Record, out: Path, code: str,
               known: dict[str, tuple[str, FormatInfo]]) -> Future[Packaged]:
        if not forked:
            return pool.submit(_build, stages, files, record, out, code, signer=signer, zip=zip, sm3=sm3,
                               progress=progress, known_formats=known)
        done: Future[Packaged] = Future()

        def unwrap(f: Future[tuple[Packaged, Path]]) -> None:
            if f.cancelled():
                done.cancel()
                return
            error = f.exception()
            if error is not None:
                done.set_exception(error)
            else:
                packaged, stage = f.result()
                worker_stages.add(stage)
                done.set_result(packaged)

        pool.submit(_build_in_worker, files, record, out, code, zip, sm3, known).add_done_callback(unwrap)
        return done

    try:
        for record_id, code in iter_registered_records(catalog, agency_code, upto):
            out = store.location(code, zip)
            if os.path.lexists(out):
                expected = {f"{layout.DATA_DIR}/{nfc(name)}": sha for name, sha in record_files(catalog, record_id)}
                whole, tm = _existing(out, code, expected)
                if whole:
                    finished(record_id, Packaged(code, out, package_size(out), tm, _signed(out), adopted=True))
                    continue
                store.quarantine(out)
            # The catalog is read here, on this thread; only the build runs on the pool.
            files, known = _stored_files(catalog, objects, record_id)
            inflight.append((record_id, submit(files, catalog_record(catalog, record_id), out, code, known)))
            while len(inflight) > ahead or (inflight and inflight[0][1].done()):
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
        try:
            pool.shutdown(wait=True)
        finally:
            # A worker whose builds all failed never named its staging folder: find each worker's
            # by the pid it reported (Staging names them stage-t<N>-<pid>).
            pids = worker_pids.collect() if worker_pids is not None else []
        stages.remove()
        for pid in pids:
            worker_stages.update(tmp.glob(f"stage-t*-{int(pid)}"))
        for stage in worker_stages:
            shutil.rmtree(stage, ignore_errors=True)
        try:
            if unrecorded:
                record()
        finally:
            durable.close()
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


@dataclass(frozen=True)
class AgencyCounts:
    """What ``govarc status`` shows for an agency; ``signed`` is counted on disk."""

    records: int
    packages: int
    signed: int
    bytes: int


def agency_counts(catalog: Catalog, store: PackageStore, agency_code: str) -> AgencyCounts:
    """Records and packages of an agency; a package counts as signed when its agency's signature is on disk."""
    totals = agency_totals(catalog, agency_code)
    signed = 0
    for row in packages(catalog, agency_code):
        path = store.resolve(row.key)
        if path is not None and has_agency_signature(path, agency_code):
            signed += 1
    return AgencyCounts(totals.records, totals.packages, signed, totals.bytes)


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


def unsigned_packages(catalog: Catalog, store: PackageStore, agency_code: str) -> list[tuple[int, str, Path]]:
    """``(record id, archival code, path)`` of each package of the agency that lacks its signature on disk."""
    out = []
    for row in packages(catalog, agency_code):
        path = store.resolve(row.key) or store.home / row.key
        if not has_agency_signature(path, agency_code):
            out.append((row.record_id, row.archival_code, path))
    return out


def _tagmanifest_sha256(path: Path) -> str:
    with open_package(path) as r:
        return hashlib.sha256(r.read(layout.REQUIRED_TAGMANIFEST)).hexdigest()


def sign_pending(
    catalog: Catalog,
    store: PackageStore,
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
        mark_signed(catalog, rid, result.size, result.tagmanifest_sha256)
        signed.append(result)
        if on_package:
            on_package(result)

    for row in packages(catalog, agency_code):
        rid, code, flag = row.record_id, row.archival_code, row.signed
        path = store.resolve(row.key)
        if path is None:
            failed.append(SignFailure(code, store.home / row.key, "the catalog names a package outside the store", 3))
            continue
        try:
            if has_agency_signature(path, agency_code):
                if not flag:
                    record(rid, SignedPackage(code, path, package_size(path), _tagmanifest_sha256(path), already=True))
                continue
            if not os.path.lexists(path):
                raise InvalidInputError("the package is missing from the store", str(path))
            sign(path)
            record(rid, SignedPackage(code, path, package_size(path), _tagmanifest_sha256(path)))
        except GovarcError as e:
            failed.append(SignFailure(code, path, str(e), e.exit_code))
    return signed, failed
