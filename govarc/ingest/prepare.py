"""Prepare items for the catalog: hash and inspect their files, resolve their fields, on a process pool.

:func:`prepare` never raises for bad input: every problem is a finding on the item. pypdf is pure
Python, so :func:`prepare_all` runs on a pool of processes forked from a fork server that has
imported this module (pypdf, lxml, libmagic) once.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govarc.catalog.records import content_key
from govarc.domain import Agency
from govarc.findings import Finding, Level
from govarc.formats import FormatInfo
from govarc.fsutil import UnsafeInputError, open_input
from govarc.ingest.fields import resolve_fields
from govarc.ingest.inspect import inspect_stream
from govarc.ingest.sources import INPUT_REFUSALS, Item, refusal
from govarc.package.build import name_problem
from govarc.package.hashing import Algorithm, digest_stream
from govarc.package.manifest import nfc

ItemProgress = Callable[[int], None]

FileDigests = dict[str, tuple[int, str]]
"""Size and SHA-256 of files already hashed, by path."""


@dataclass(frozen=True)
class PreparedFile:
    path: Path
    name: str
    role: str
    size: int
    sha256: str
    mime: str
    format_name: str
    format_version: str | None
    page_count: int | None
    root: Path | None = None  # the folder being ingested: the file is opened below it, following no link


@dataclass(frozen=True)
class Prepared:
    """An item after inspection and validation: its files, resolved fields and findings."""

    item: Item
    files: tuple[PreparedFile, ...]
    fields: dict[str, Any] = field(hash=False)
    findings: tuple[Finding, ...]

    @property
    def refused(self) -> bool:
        return any(f.level is Level.ERROR for f in self.findings)

    @property
    def content_key(self) -> str:
        return content_key((f.role, f.name, f.sha256) for f in self.files)


def accepted(fmt: FormatInfo, accepted_formats: Sequence[str]) -> bool:
    """Whether a format is on an agency's list, which names MIME types (``application/pdf``) or
    format names (``PDF/A``, ``OFD``), so that an agency can accept PDF/A but not plain PDF."""
    return fmt.mime in accepted_formats or fmt.name in accepted_formats


# Fields are judged only when there are metadata and a main document to judge them against.
_UNJUDGED = ("INGEST_METADATA_MISSING", "INGEST_METADATA_UNREADABLE", "INGEST_TOO_LARGE", "INGEST_LINK",
             "INGEST_NOT_REGULAR", "INGEST_UNSAFE_PATH")


def prepare(item: Item, agency: Agency, digests: FileDigests | None = None) -> Prepared:
    """Hash and inspect every file of ``item`` and resolve its metadata; never raises for bad input.

    ``digests`` gives the size and SHA-256 of files hashed before (see :func:`hash_item`).
    """
    if item.refused and (not item.document or any(f.code in INPUT_REFUSALS for f in item.findings)):
        # A register standing for its refused rows is no document; a hostile input is not read further.
        return Prepared(item, (), {}, item.findings)
    findings = list(item.findings)
    files: list[PreparedFile] = []
    main_inspection = None
    paths = [(item.main, "main")] + [(a, "attachment") for a in item.attachments]
    names: set[str] = set()
    for path, role in paths:
        known = digests.get(str(path)) if digests else None
        try:
            # One open for the digest and the inspection; never a link, FIFO or device (see open_input).
            with open_input(path, item.root) as fh:
                if known is not None:
                    size, sha256 = known
                else:
                    d = digest_stream(fh, [Algorithm.SHA256])
                    size, sha256 = d.size, d.hexdigests[Algorithm.SHA256]
                    fh.seek(0)
                ins = inspect_stream(fh, path)
        except UnsafeInputError as e:
            if not any(f.code == refusal(e).code and f.path == e.path for f in findings):
                findings.append(refusal(e))  # else discovery has said it already
            continue
        except FileNotFoundError:
            if role == "attachment":
                findings.append(Finding("INGEST_ATTACHMENT_MISSING", str(path), "附件 is not there any more"))
            elif not item.refused:
                findings.append(Finding("INGEST_UNREADABLE", str(path), "the file is not there any more"))
            continue
        except OSError as e:
            findings.append(Finding("INGEST_UNREADABLE", str(path), f"cannot read: {e.strerror or e}"))
            continue
        if role == "main":
            main_inspection = ins
        if ins.unreadable:
            findings.append(Finding("INGEST_UNREADABLE", str(path), ins.unreadable))
        if ins.encrypted:
            findings.append(Finding("INGEST_ENCRYPTED", str(path), "encrypted or password-protected"))
        if ins.active_content:
            findings.append(Finding("INGEST_ACTIVE_CONTENT", str(path), "carries " + ", ".join(ins.active_content)))
        if not ins.extension_ok:
            findings.append(Finding("INGEST_EXTENSION_MISMATCH", str(path),
                                    f"extension {path.suffix or '(none)'} but the content is {ins.format.name} ({ins.format.mime})"))
        if not accepted(ins.format, agency.accepted_formats):
            findings.append(Finding("INGEST_FORMAT_NOT_ACCEPTED", str(path),
                                    f"{ins.format.name} ({ins.format.mime}) is not in {agency.code}'s accepted formats"))
        name = nfc(path.name)
        problem = name_problem(name)
        if problem:
            findings.append(Finding("INGEST_FIELD_INVALID", str(path), f"file name cannot be packaged: {problem}"))
        if name in names:
            findings.append(Finding("INGEST_FIELD_INVALID", str(path), f"two files of this record are named {name}"))
        names.add(name)
        files.append(PreparedFile(path, name, role, size, sha256,
                                  ins.format.mime, ins.format.name, ins.format.version, ins.page_count, item.root))
    fields: dict[str, Any] = {}
    has_main = any(pf.role == "main" for pf in files)
    if has_main and not any(f.code in _UNJUDGED for f in item.findings):
        fields, more = resolve_fields(item, agency, files, main_inspection)
        findings.extend(more)
    return Prepared(item, tuple(files), fields, tuple(findings))


def hash_item(item: Item) -> FileDigests | None:
    """Size and SHA-256 of every file of ``item``; None when one is missing or unreadable."""
    out: FileDigests = {}
    for path in (item.main, *item.attachments):
        try:
            with open_input(path, item.root) as fh:
                d = digest_stream(fh, [Algorithm.SHA256])
        except OSError:
            return None
        out[str(path)] = (d.size, d.hexdigests[Algorithm.SHA256])
    return out


def item_key(item: Item, digests: FileDigests) -> str:
    """The :func:`~govarc.catalog.records.content_key` of an item whose files :func:`hash_item` hashed."""
    roles = [(item.main, "main")] + [(a, "attachment") for a in item.attachments]
    return content_key((role, nfc(path.name), digests[str(path)][1]) for path, role in roles)


def _exit_with(owner: int) -> None:
    """Pool initializer: end this worker when the process that owns the pool is gone (kill -9)."""
    import time

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


_forkserver_lock = threading.Lock()


def _pool_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the ingest pool: a fork server that preloads this module.

    forkserver, not fork: a forked worker would inherit the run lock's descriptor and keep the
    lock held after a kill -9 of this process, and would share the catalog's SQLite handle.
    Workers fork from a server that has imported pypdf, lxml and libmagic once, instead of each
    importing them (about half a second of CPU per worker, and a pool per agency).

    The server is started as ``python -c``, which puts the current folder first on its sys.path
    (Python 3.11 ignores the sys.path it is handed), so a folder named ``govarc`` (or ``lxml``)
    in the current folder would be preloaded instead of the real one, and run. It is started
    with PYTHONSAFEPATH, which keeps the current folder off sys.path. When this interpreter
    ignores the environment (``-E``) and so would the server, nothing is preloaded: each worker
    then imports after taking this process's sys.path, which holds no current folder.
    """
    ctx = multiprocessing.get_context("forkserver")
    with _forkserver_lock:
        if sys.flags.ignore_environment and not sys.flags.isolated:
            ctx.set_forkserver_preload([])
            return ctx
        ctx.set_forkserver_preload([__name__])
        saved = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            multiprocessing.forkserver.ensure_running()  # a server running already is kept
        finally:
            if saved is None:
                del os.environ["PYTHONSAFEPATH"]
            else:
                os.environ["PYTHONSAFEPATH"] = saved
    return ctx


def prepare_all(
    items: Sequence[Item], agency: Agency, workers: int, progress: ItemProgress | None = None,
    digests: Sequence[FileDigests | None] | None = None,
) -> list[Prepared]:
    """:func:`prepare` every item, on a process pool when there are enough of them (see :func:`prepare_iter`)."""
    return list(prepare_iter(items, agency, workers, progress, digests))


def prepare_iter(
    items: Iterable[Item], agency: Agency, workers: int, progress: ItemProgress | None = None,
    digests: Sequence[FileDigests | None] | None = None,
) -> Generator[Prepared, None, None]:
    """:func:`prepare` every item, yielding each in the order of ``items`` as soon as it is ready.

    ``items`` may be an iterator: it is taken from only as the pool needs more work.

    On a pool of ``workers`` processes when there are enough items, so that the caller can register
    what is ready while the pool goes on with the rest, and need not hold every item at once.
    ``digests``, when given, holds the files already hashed for each item (or None). Closing the
    iterator early cancels the items not started.
    """
    pairs: Iterator[tuple[Item, FileDigests | None]] = (
        zip(items, digests) if digests is not None else ((it, None) for it in items))
    head = list(itertools.islice(pairs, 8))
    if workers <= 1 or len(head) < 8:
        for it, d in itertools.chain(head, pairs):
            p = prepare(it, agency, d)
            if progress:
                progress(1)
            yield p
        return
    ctx = _pool_context()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_exit_with, initargs=(os.getpid(),))
    # Chunks are submitted a window at a time, not all at once (as Executor.map does): items the
    # pool has prepared wait for the caller in memory, and a caller slower than the pool (the
    # registration of 100,000 items) would otherwise hold all of them.
    chunks = _chunks(itertools.chain(head, pairs), CHUNK)
    inflight: deque[Future[list[Prepared]]] = deque()
    try:
        for chunk in itertools.islice(chunks, WINDOW * workers):
            inflight.append(pool.submit(_prepare_chunk, chunk, agency))
        while inflight:
            done = inflight.popleft().result()
            for chunk in itertools.islice(chunks, 1):
                inflight.append(pool.submit(_prepare_chunk, chunk, agency))
            for p in done:
                if progress:
                    progress(1)
                yield p
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


CHUNK = 8
"""Items a worker prepares per task."""
WINDOW = 32
"""Tasks per worker submitted ahead of what the caller has taken: 512 items on two workers, more
than the batch the caller stores and registers at once (``pipeline.BATCH``), so that the workers go
on while it does."""


def _chunks(pairs: Iterator[tuple[Item, FileDigests | None]], size: int) -> Iterator[list[tuple[Item, FileDigests | None]]]:
    while True:
        chunk = list(itertools.islice(pairs, size))
        if not chunk:
            return
        yield chunk


def _prepare_chunk(chunk: list[tuple[Item, FileDigests | None]], agency: Agency) -> list[Prepared]:
    return [prepare(item, agency, digests) for item, digests in chunk]
