"""Ingest: inspect, validate and register records in the catalog, with archival codes.

Each item is prepared (hashed, inspected, its metadata resolved and validated) on a process pool,
since pypdf is pure Python; the catalog is then written in batches, one transaction each. An item
with any error-level finding is refused whole: nothing of it reaches the catalog or the object
store. Input files are only read. Re-running is safe: a record is keyed by its content digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govarc.catalog.db import Catalog
from govarc.errors import InvalidInputError
from govarc.findings import Finding, Level
from govarc.formats import FormatInfo
from govarc.fsutil import UnsafeInputError, fsync_path, open_input
from govarc.ingest.inspect import compare, inspect_stream
from govarc.ingest.sources import INPUT_REFUSALS, Item, RealPaths, discover, refusal
from govarc.package.build import name_problem
from govarc.package.hashing import Algorithm, digest_stream, parallel_map
from govarc.package.manifest import nfc
from govarc.package.metadata import Classification, LimitExceededError, Retention, check_list, parse_date
from govarc.workspace import Agency

BATCH = 200
_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

ItemProgress = Callable[[int], None]


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


@dataclass(frozen=True)
class Outcome:
    """What happened to one item: registered, duplicate (already in the catalog) or refused."""

    path: str
    status: str
    findings: tuple[Finding, ...]
    archival_code: str | None = None
    record_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "status": self.status, "archival_code": self.archival_code,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class IngestReport:
    agency: str
    outcomes: tuple[Outcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def refused(self) -> bool:
        return self.count("refused") > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "registered": self.count("registered"), "duplicate": self.count("duplicate"),
            "refused": self.count("refused"),
            "items": [o.as_dict() for o in self.outcomes],
        }


def _field_error(findings: list[Finding], path: str, code: str, message: str) -> None:
    findings.append(Finding(code, path, message))


def resolve_fields(item: Item, agency: Agency, files: Sequence[PreparedFile], main_inspection: Any) -> tuple[dict[str, Any], list[Finding]]:
    """The record fields (for :func:`govarc.package.metadata.record_from_dict`, less the 档号) and findings."""
    f = dict(item.fields)
    where = item.origin and str(item.main.parent / item.origin) or str(item.main)
    findings: list[Finding] = []
    out: dict[str, Any] = {
        "agency_code": agency.code, "fonds_name": agency.fonds_name, "creator_name": agency.name,
    }
    for key, label in (("title", "题名"), ("issuer", "责任者"), ("retention", "保管期限"), ("classification", "密级")):
        if key not in f:
            _field_error(findings, where, "INGEST_FIELD_MISSING", f"required field {label} ({key}) is missing")
    out["title"] = str(f.get("title", "")).strip()
    issuers = f.get("issuer", [])
    out["issuer"] = [str(i).strip() for i in issuers] if isinstance(issuers, list) else [
        p.strip() for p in str(issuers).replace("；", ";").replace("、", ";").split(";") if p.strip()
    ]
    _check_list(findings, where, "issuer", out["issuer"])
    if "retention" in f:
        try:
            out["retention"] = Retention.parse(f["retention"]).value
        except Exception as e:
            _field_error(findings, where, "INGEST_FIELD_INVALID", str(e))
    if "classification" in f:
        try:
            cls = Classification.parse(f["classification"])
            out["classification"] = cls.value
            if cls.classified and not agency.allow_classified:
                _field_error(findings, where, "INGEST_CLASSIFIED",
                             f"密级 {cls.value}: agency {agency.code} does not accept classified material")
        except Exception as e:
            _field_error(findings, where, "INGEST_FIELD_INVALID", str(e))
    text_number = getattr(main_inspection, "document_number", None)
    text_date = getattr(main_inspection, "date", None)
    date = None
    if "date" in f:
        try:
            date = parse_date(f["date"])
        except Exception as e:
            _field_error(findings, where, "INGEST_FIELD_INVALID", str(e))
    elif text_date is not None:
        date = text_date
    else:
        _field_error(findings, where, "INGEST_FIELD_MISSING", "日期 (date) is missing and not printed in the document")
    if date is not None:
        if not (1900 <= date.year <= 2999):
            _field_error(findings, where, "INGEST_FIELD_INVALID", f"日期 {date} is out of range")
        out["date"] = date.isoformat()
        out["year"] = date.year
    number = str(f["document_number"]).strip() if "document_number" in f else text_number
    if number:
        out["document_number"] = number
    if main_inspection is not None and ("date" in f or "document_number" in f):
        for message in compare(f.get("document_number"), date if "date" in f else None, main_inspection):
            findings.append(Finding("INGEST_TEXT_DISAGREES", str(item.main), message))
    for key, label in (("unit", "机构问题代码"), ("category", "门类代码")):
        value = str(f.get(key, getattr(agency, key))).strip()
        if not value or not set(value) <= _CODE_CHARS or len(value) > 16:
            _field_error(findings, where, "INGEST_FIELD_INVALID", f"{label} {value!r} must be 1-16 letters or digits")
        out[key] = value
    if "page_count" in f:
        try:
            pages = int(str(f["page_count"]).strip())
            if pages < 0:
                raise ValueError
            out["page_count"] = pages
        except ValueError:
            _field_error(findings, where, "INGEST_FIELD_INVALID", f"页数 {f['page_count']!r} is not a whole number ≥ 0")
    else:
        counted = [pf.page_count for pf in files if pf.page_count is not None]
        if counted:
            out["page_count"] = sum(counted)
    if "keywords" in f:
        kw = f["keywords"]
        out["keywords"] = [str(k).strip() for k in kw] if isinstance(kw, list) else [
            p for p in str(kw).replace("；", ";").replace("、", ";").replace(" ", ";").split(";") if p.strip()
        ]
        _check_list(findings, where, "keywords", out["keywords"])
    if "note" in f:
        out["note"] = str(f["note"]).strip()
    out["main"] = files[0].name if files else item.main.name
    return out, findings


def _check_list(findings: list[Finding], where: str, key: str, items: list[str]) -> None:
    try:
        check_list(key, items)
    except LimitExceededError as e:
        _field_error(findings, where, "INGEST_TOO_LARGE", str(e))


FileDigests = dict[str, tuple[int, str]]
"""Size and SHA-256 of files already hashed, by path."""


def accepted(fmt: FormatInfo, accepted_formats: Sequence[str]) -> bool:
    """Whether a format is on an agency's list, which names MIME types (``application/pdf``) or
    format names (``PDF/A``, ``OFD``), so that an agency can accept PDF/A but not plain PDF."""
    return fmt.mime in accepted_formats or fmt.name in accepted_formats


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
    # Fields are judged only when there are metadata and a main document to judge them against.
    unjudged = ("INGEST_METADATA_MISSING", "INGEST_METADATA_UNREADABLE", "INGEST_TOO_LARGE", "INGEST_LINK",
                "INGEST_NOT_REGULAR", "INGEST_UNSAFE_PATH")
    has_main = any(pf.role == "main" for pf in files)
    if has_main and not any(f.code in unjudged for f in item.findings):
        fields, more = resolve_fields(item, agency, files, main_inspection)
        findings.extend(more)
    return Prepared(item, tuple(files), fields, tuple(findings))


def _prepare_star(args: tuple[Item, Agency, FileDigests | None]) -> Prepared:
    return prepare(*args)


def content_key(files: Iterable[tuple[str, str, str]]) -> str:
    """The identity of a record's content: its files' (role, NFC name, SHA-256), in any order."""
    parts = sorted(f"{role}:{name}:{sha256}" for role, name, sha256 in files)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


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


def _item_key(item: Item, digests: FileDigests) -> str:
    roles = [(item.main, "main")] + [(a, "attachment") for a in item.attachments]
    return content_key((role, nfc(path.name), digests[str(path)][1]) for path, role in roles)


def _exit_with(owner: int) -> None:
    """Pool initializer: end this worker when the process that owns the pool is gone (kill -9)."""
    import threading
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
    """:func:`prepare` every item, on a process pool when there are enough of them.

    ``digests``, when given, holds the files already hashed for each item (or None).
    """
    known: Sequence[FileDigests | None] = digests if digests is not None else [None] * len(items)
    if workers <= 1 or len(items) < 8:
        out = []
        for it, d in zip(items, known):
            out.append(prepare(it, agency, d))
            if progress:
                progress(1)
        return out
    ctx = _pool_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_exit_with, initargs=(os.getpid(),)) as pool:
        out = []
        for p in pool.map(_prepare_star, [(it, agency, d) for it, d in zip(items, known)], chunksize=8):
            out.append(p)
            if progress:
                progress(1)
        return out


def object_path(objects: Path, sha256: str) -> Path:
    return objects / sha256[:2] / sha256


def store_object(objects: Path, pf: PreparedFile) -> None:
    """Copy a file into the content-addressed object store, atomically; verify its digest on the way."""
    tmp = _copy_object(objects, pf)
    temps = {pf.sha256: tmp} if tmp is not None else {}
    try:
        _publish(objects, temps)
    finally:
        for t in temps.values():
            t.unlink(missing_ok=True)


_FSYNC_THREADS = 8  # fsync waits on the disk, not the CPU: several at once share journal commits


def _copy_object(objects: Path, pf: PreparedFile) -> Path | None:
    """Copy ``pf`` to a temporary file beside its object path, verifying its digest; None if stored already."""
    dest = object_path(objects, pf.sha256)
    if dest.exists():
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}")
    try:
        source = open_input(pf.path, pf.root)
    except UnsafeInputError:
        raise
    except OSError as e:
        raise InvalidInputError(f"cannot read: {e.strerror or e}", str(pf.path)) from None
    try:
        with source as src, open(tmp, "xb", buffering=0) as dst:
            d = digest_stream(src, [Algorithm.SHA256], sink=dst)
        if d.hexdigests[Algorithm.SHA256] != pf.sha256:
            raise InvalidInputError("file changed while it was being ingested", str(pf.path))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _publish(objects: Path, temps: dict[str, Path]) -> None:
    """Fsync the temporary copies together, rename each to its object path, fsync the folders.

    An object is only ever renamed to its digest's name once its content is on disk, and the
    renames are on disk when this returns. Removes from ``temps`` what it renamed.
    """
    if not temps:
        return
    for _ in parallel_map(fsync_path, [str(t) for t in temps.values()], _FSYNC_THREADS):
        pass
    folders = set()
    for sha, tmp in list(temps.items()):
        dest = object_path(objects, sha)
        os.replace(tmp, dest)
        del temps[sha]
        folders.add(str(dest.parent))
    for folder in sorted(folders):
        fsync_path(folder)


def _store_batch(objects: Path, batch: Sequence[Prepared]) -> tuple[list[Prepared], list[Outcome]]:
    """Copy the files of a batch of items into the object store; the items stored and those refused.

    An item whose file no longer has its digest is refused and nothing of it is stored.
    """
    temps: dict[str, Path] = {}
    accepted: list[Prepared] = []
    refused: list[Outcome] = []
    try:
        for p in batch:
            mine: dict[str, Path] = {}
            try:
                for pf in p.files:
                    if pf.sha256 not in temps and pf.sha256 not in mine:
                        tmp = _copy_object(objects, pf)
                        if tmp is not None:
                            mine[pf.sha256] = tmp
            except (InvalidInputError, UnsafeInputError) as e:
                for tmp in mine.values():
                    tmp.unlink(missing_ok=True)
                finding = refusal(e) if isinstance(e, UnsafeInputError) else Finding(
                    "INGEST_UNREADABLE", e.path or "", e.message)
                refused.append(Outcome(str(p.item.main), "refused", p.findings + (finding,)))
                continue
            temps.update(mine)
            accepted.append(p)
        _publish(objects, temps)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    return accepted, refused


def _register_batch(catalog: Catalog, agency: Agency, batch: Sequence[Prepared], now: str) -> list[Outcome]:
    """Register a batch in one transaction: duplicates skipped, versions linked, 件号 assigned."""
    outcomes = []
    real = RealPaths()
    with catalog.write() as conn:
        for p in batch:
            key = p.content_key
            row = conn.execute("SELECT id, archival_code FROM records WHERE agency=? AND content_key=?", (agency.code, key)).fetchone()
            if row:
                outcomes.append(Outcome(str(p.item.main), "duplicate", p.findings, row[1], row[0]))
                continue
            findings = list(p.findings)
            source = str(real(p.item.main))
            prev = conn.execute(
                "SELECT id, version, archival_code FROM records WHERE agency=? AND source=? ORDER BY version DESC LIMIT 1",
                (agency.code, source),
            ).fetchone()
            version, supersedes = 1, None
            if prev:
                version, supersedes = prev[1] + 1, prev[0]
                findings.append(Finding("INGEST_NEW_VERSION", str(p.item.main),
                                        f"changed since it was registered as {prev[2]}; registered as version {version}"))
            f = p.fields
            seq = (agency.fonds, f["category"], f["year"], f["retention"], f["unit"])
            conn.execute(
                "INSERT INTO sequences (fonds, category, year, retention, unit, last_item) VALUES (?,?,?,?,?,1) "
                "ON CONFLICT DO UPDATE SET last_item = last_item + 1", seq)
            item_no = conn.execute(
                "SELECT last_item FROM sequences WHERE fonds=? AND category=? AND year=? AND retention=? AND unit=?", seq
            ).fetchone()[0]
            code = f"{agency.fonds}-{f['category']}·{f['year']:04d}-{f['retention']}-{f['unit']}-{item_no:04d}"
            metadata = {k: v for k, v in f.items() if k not in ("year", "category", "unit")}
            metadata["archival_code"] = code
            cur = conn.execute(
                "INSERT INTO records (agency, archival_code, fonds, category, year, retention, unit, item, title, "
                "document_number, date, classification, content_key, source, version, supersedes, metadata, warnings, "
                "state, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'registered',?)",
                (agency.code, code, agency.fonds, f["category"], f["year"], f["retention"], f["unit"], item_no,
                 f["title"], f.get("document_number"), f["date"], f["classification"], key, source, version,
                 supersedes, json.dumps(metadata, ensure_ascii=False),
                 json.dumps([x.as_dict() for x in findings], ensure_ascii=False), now),
            )
            rid = cur.lastrowid
            conn.executemany(
                "INSERT INTO record_files (record_id, position, role, name, size, sha256, mime, format_name, "
                "format_version, source) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(rid, i, pf.role, pf.name, pf.size, pf.sha256, pf.mime, pf.format_name, pf.format_version,
                  str(real(pf.path))) for i, pf in enumerate(p.files)],
            )
            outcomes.append(Outcome(str(p.item.main), "registered", tuple(findings), code, rid))
    return outcomes


def _known(
    catalog: Catalog, agency: Agency, items: Sequence[Item], progress: ItemProgress | None,
) -> tuple[list[Outcome], list[Item], list[FileDigests | None]]:
    """Hash every item and look its content up: outcomes of those registered already, the others.

    A drop folder keeps what it held on earlier nights, so most items of a nightly run are
    already registered: hashing them is cheap, inspecting them (pypdf) is not. An item registered
    already is a duplicate whatever its sidecar says now, as it always was; its outcome carries
    the findings of discovery only (those of its inspection are stored with the record).
    """
    outcomes: list[Outcome] = []
    fresh: list[Item] = []
    digests: list[FileDigests | None] = []
    # An item refused at discovery is not hashed: its file may be a link, a FIFO or a device.
    hashed = iter(parallel_map(hash_item, [it for it in items if not it.refused]))
    for item in items:
        d = None if item.refused else next(hashed)
        if d is not None:
            row = catalog.conn.execute(
                "SELECT id, archival_code FROM records WHERE agency=? AND content_key=?", (agency.code, _item_key(item, d))
            ).fetchone()
            if row:
                outcomes.append(Outcome(str(item.main), "duplicate", item.findings, row[1], row[0]))
                if progress:
                    progress(1)
                continue
        fresh.append(item)
        digests.append(d)
    return outcomes, fresh, digests


def ingest(
    catalog: Catalog,
    objects: Path,
    agency: Agency,
    paths: Iterable[Path],
    *,
    workers: int = 0,
    progress: ItemProgress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest every record found in ``paths`` for ``agency``; report every item's outcome.

    Good items are registered even when others are refused. Nothing of a refused item is kept.
    """
    items = discover(list(paths))
    if on_total:
        on_total(len(items))
    outcomes, fresh, digests = _known(catalog, agency, items, progress)
    prepared = prepare_all(fresh, agency, workers or (os.cpu_count() or 1), progress, digests)
    good: list[Prepared] = []
    for p in prepared:
        if p.refused:
            outcomes.append(Outcome(str(p.item.main), "refused", p.findings))
        else:
            good.append(p)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for start in range(0, len(good), BATCH):
        accepted, refused = _store_batch(objects, good[start:start + BATCH])
        outcomes.extend(refused)
        outcomes.extend(_register_batch(catalog, agency, accepted, now))
    outcomes.sort(key=lambda o: o.path)
    return IngestReport(agency.code, tuple(outcomes))
