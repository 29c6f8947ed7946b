"""Fixity audits of whole holdings: verify every package of a store on all cores, resumable.

:func:`audit` verifies packages with every check of :func:`govarc.package.verify.verify_package`
(structure, manifests and every digest, metadata against the XSD, signatures, chain, revocation,
identity) in a pool of processes. Each worker builds the signature policy (trust anchors, CRLs),
the XSD schema and a chain-validation cache once and verifies a chunk of packages per task; the
results come back in the order the packages were given, while at most a bounded number of chunks
is in flight, so memory stays flat however many packages there are.

A :class:`Journal` records each verified package (path, size, modification time, verdict, when) as
one JSON line, flushed per line and fsynced every :data:`JOURNAL_SYNC_EVERY` lines and at the end.
An audit given the journal of an interrupted one skips what it lists (the same path, size and
modification time; with ``since``, only those found valid at or after that time), so it covers the
rest exactly once. A last line cut short by the interruption is cut off the journal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from govarc.errors import InvalidInputError
from govarc.findings import Finding
from govarc.package.verify import VerifyResult, verify_package
from govarc.sign.validate import ChainCache, SignaturePolicy, make_signature_check

JOURNAL_SYNC_EVERY = 256
MAX_JOURNAL_LINE = 64 * 1024
CHUNK = 32  # packages per task: large enough that pickling and scheduling are noise


@dataclass(frozen=True)
class PolicySpec:
    """A :class:`SignaturePolicy` as bytes, to rebuild it once in each worker process."""

    policy: SignaturePolicy  # without certificates and CRLs
    anchors: tuple[bytes, ...]
    intermediates: tuple[bytes, ...]
    crls: tuple[bytes, ...]

    @staticmethod
    def of(policy: SignaturePolicy) -> PolicySpec:
        from cryptography.hazmat.primitives.serialization import Encoding

        return PolicySpec(
            replace(policy, anchors=(), intermediates=(), crls=()),
            tuple(c.public_bytes(Encoding.DER) for c in policy.anchors),
            tuple(c.public_bytes(Encoding.DER) for c in policy.intermediates),
            tuple(c.public_bytes(Encoding.DER) for c in policy.crls),
        )

    def build(self) -> SignaturePolicy:
        from cryptography import x509

        return replace(self.policy, anchors=tuple(x509.load_der_x509_certificate(d) for d in self.anchors),
                       intermediates=tuple(x509.load_der_x509_certificate(d) for d in self.intermediates),
                       crls=tuple(x509.load_der_x509_crl(d) for d in self.crls))


Check = Callable[[Path], VerifyResult]


def make_check(policy: SignaturePolicy) -> Check:
    """Verify one package with ``policy``, caching chain validations for the life of the callable."""
    extra = make_signature_check(policy, ChainCache())

    def check(path: Path) -> VerifyResult:
        return verify_package(path, extra=extra, workers=1)

    return check


# The one per-process state of a pool worker: its check, built by the pool's initializer.
_worker_check: Check | None = None


def _init_worker(spec: PolicySpec) -> None:
    global _worker_check
    _worker_check = make_check(spec.build())


def _verify_chunk(paths: list[str]) -> list[VerifyResult]:
    assert _worker_check is not None
    return [_worker_check(Path(p)) for p in paths]


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _ready(_: int) -> bool:
    return _worker_check is not None


@contextmanager
def worker_pool(policy: SignaturePolicy, jobs: int | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``jobs`` processes (default: every core) ready to verify with ``policy``; None for one job.

    Every worker is started before this returns, forked where the platform can (it then shares
    the modules this process has loaded instead of importing them again): enter it before
    starting threads of your own, such as a progress bar's.
    """
    jobs = jobs or default_jobs()
    if jobs <= 1:
        yield None
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method), initializer=_init_worker,
                             initargs=(PolicySpec.of(policy),)) as pool:
        ready = [pool.submit(_ready, i) for i in range(jobs)]  # one submit per worker starts them all now
        assert all(f.result() for f in ready)
        yield pool


def verify_many(paths: Iterable[Path], policy: SignaturePolicy, jobs: int | None = None,
                chunk: int = CHUNK, pool: ProcessPoolExecutor | None = None) -> Iterator[VerifyResult]:
    """Verify ``paths`` with every check, in order, on ``jobs`` processes (default: every core).

    One job verifies in this process; ``pool`` (from :func:`worker_pool`) is used when given.
    Results are yielded in the order of ``paths``; at most ``4 * jobs`` chunks are in flight, so
    neither the paths nor the results pile up.
    """
    if pool is None:
        with worker_pool(policy, jobs) as own:
            if own is None:
                check = make_check(policy)
                for p in paths:
                    yield check(p)
            else:
                yield from verify_many(paths, policy, jobs, chunk, own)
        return
    inflight = 4 * (jobs or default_jobs())
    pending: deque[Future[list[VerifyResult]]] = deque()
    batch: list[str] = []
    for p in paths:
        batch.append(str(p))
        if len(batch) == chunk:
            pending.append(pool.submit(_verify_chunk, batch))
            batch = []
            while len(pending) >= inflight:
                yield from pending.popleft().result()
    if batch:
        pending.append(pool.submit(_verify_chunk, batch))
    while pending:
        yield from pending.popleft().result()


# --- the journal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalEntry:
    """What the journal says of one package."""

    path: str
    size: int
    mtime_ns: int
    valid: bool
    exit_code: int
    verified_at: dt.datetime


def package_key(path: str, size: int, mtime_ns: int) -> bytes:
    """A package's identity for the journal: its path, size and modification time (16 bytes)."""
    return hashlib.blake2b(f"{path}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"), digest_size=16).digest()


def package_stat(path: Path) -> tuple[int, int]:
    """Size and modification time of a package (a .zip, or a folder: its own entry, not followed)."""
    st = os.lstat(path)
    return st.st_size if stat.S_ISREG(st.st_mode) else 0, st.st_mtime_ns


class Journal:
    """The journal of one audit: read what an earlier run verified, append what this one does."""

    def __init__(self, path: Path, resume: bool, since: dt.datetime | None = None) -> None:
        self.path = path
        self.done: dict[bytes, tuple[bool, int]] = {}  # key -> (valid, exit code)
        self._since = since
        self._unsynced = 0
        self._torn = False
        self._good_end = 0
        exists = os.path.lexists(path)
        if resume and not exists:
            raise InvalidInputError("no such audit journal to resume", str(path))
        if not resume and exists:
            raise InvalidInputError("the audit journal exists; resume it with --resume, or remove it", str(path))
        if exists:
            self._load()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags | os.O_NONBLOCK, 0o644)
        except OSError as e:
            raise InvalidInputError(f"cannot write the audit journal: {e.strerror}", str(path)) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InvalidInputError("the audit journal is not a regular file", str(path))
        os.set_blocking(fd, True)
        self._f: IO[bytes] = os.fdopen(fd, "ab", buffering=0)
        if exists and self._torn:
            os.ftruncate(fd, self._good_end)  # drop the line the interruption cut short

    def _load(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as e:
            raise InvalidInputError(f"cannot read the audit journal: {e.strerror}", str(self.path)) from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise InvalidInputError("the audit journal is not a regular file", str(self.path))
            os.set_blocking(fd, True)
            self._torn = False
            self._good_end = 0
            lineno = 0
            while True:
                line = f.readline(MAX_JOURNAL_LINE + 1)
                if not line:
                    break
                lineno += 1
                if not line.endswith(b"\n"):
                    if len(line) > MAX_JOURNAL_LINE:
                        raise InvalidInputError(f"line {lineno} is longer than {MAX_JOURNAL_LINE} bytes; "
                                                "not an audit journal", str(self.path))
                    self._torn = True  # the last line, cut short by an interruption: not counted
                    break
                self._good_end += len(line)
                entry = self._parse(line, lineno)
                if entry is not None and (self._since is None or (entry.valid and entry.verified_at >= self._since)):
                    self.done[package_key(entry.path, entry.size, entry.mtime_ns)] = (entry.valid, entry.exit_code)

    def _parse(self, line: bytes, lineno: int) -> JournalEntry | None:
        if not line.strip():
            return None
        try:
            d = json.loads(line)
            entry = JournalEntry(str(d["path"]), int(d["size"]), int(d["mtime_ns"]), bool(d["valid"]),
                                 int(d["exit_code"]), dt.datetime.fromisoformat(str(d["verified_at"])))
            if not isinstance(d["valid"], bool) or entry.verified_at.tzinfo is None:
                raise ValueError("bad field")
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InvalidInputError(f"line {lineno} is not an audit journal entry", str(self.path)) from None
        return entry

    def skip(self, path: Path) -> tuple[bool, int] | None:
        """The verdict (valid, exit code) the journal holds for ``path`` as it is now, or None."""
        if not self.done:
            return None
        try:
            size, mtime = package_stat(path)
        except OSError:
            return None
        return self.done.get(package_key(str(path), size, mtime))

    def record(self, result: VerifyResult) -> None:
        try:
            size, mtime = package_stat(Path(result.path))
        except OSError:
            return  # gone: nothing to resume from
        line = json.dumps({"path": result.path, "size": size, "mtime_ns": mtime, "valid": result.valid,
                           "exit_code": result.exit_code,
                           "verified_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
                          ensure_ascii=False)
        self._f.write(line.encode("utf-8", "surrogateescape") + b"\n")
        self._unsynced += 1
        if self._unsynced >= JOURNAL_SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        os.fsync(self._f.fileno())
        self._unsynced = 0

    def close(self) -> None:
        if not self._f.closed:
            self.sync()
            self._f.close()


@dataclass(frozen=True)
class Skipped:
    """A package the journal says was verified already (not verified again)."""

    path: str
    valid: bool
    exit_code: int


def audit(paths: Iterable[Path], policy: SignaturePolicy, jobs: int | None = None,
          journal: Journal | None = None, pool: ProcessPoolExecutor | None = None) -> Iterator[VerifyResult | Skipped]:
    """Verify ``paths`` in order (see :func:`verify_many`), skipping and recording through ``journal``."""
    skipped: deque[Skipped] = deque()
    order: deque[bool] = deque()  # True: the next item is a skipped one

    def todo() -> Iterator[Path]:
        for p in paths:
            seen = journal.skip(p) if journal is not None else None
            if seen is not None:
                skipped.append(Skipped(str(p), seen[0], seen[1]))
                order.append(True)
            else:
                order.append(False)
                yield p

    for result in verify_many(todo(), policy, jobs, pool=pool):
        while order and order[0]:
            order.popleft()
            yield skipped.popleft()
        order.popleft()
        if journal is not None:
            journal.record(result)
        yield result
    while order:
        order.popleft()
        yield skipped.popleft()


def not_found(path: Path) -> VerifyResult:
    return VerifyResult(str(path), (Finding("PKG_NOT_FOUND", str(path), "no package directory or .zip here"),))


@dataclass(frozen=True)
class AuditSummary:
    """Counts of one audit; its exit code is the worst of every package's, skipped ones included."""

    verified: int
    valid: int
    skipped: int
    skipped_invalid: int
    exit_code: int

    @property
    def invalid(self) -> int:
        return self.verified - self.valid

    def as_dict(self) -> dict[str, object]:
        return {"verified": self.verified, "valid": self.valid, "invalid": self.invalid, "skipped": self.skipped,
                "skipped_invalid": self.skipped_invalid, "exit_code": self.exit_code}


def holdings_packages(holdings: Path) -> Iterator[Path]:
    """Every ``holdings/<xx>/<sha256>.zip`` of an archives, in name order; hidden names skipped."""
    try:
        shards = sorted(e.name for e in os.scandir(holdings) if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return
    for shard in shards:
        try:
            names = sorted(e.name for e in os.scandir(holdings / shard) if not e.name.startswith("."))
        except OSError:
            continue
        for name in names:
            yield holdings / shard / name
