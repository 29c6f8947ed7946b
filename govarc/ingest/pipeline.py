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
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govarc.catalog.db import Catalog
from govarc.errors import InvalidInputError
from govarc.findings import Finding, Level
from govarc.ingest.inspect import compare, inspect_file
from govarc.ingest.sources import Item, discover
from govarc.package.hashing import Algorithm, digest_stream
from govarc.package.manifest import nfc
from govarc.package.metadata import Classification, Retention, parse_date
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
        parts = sorted(f"{f.role}:{f.name}:{f.sha256}" for f in self.files)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


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
    if "note" in f:
        out["note"] = str(f["note"]).strip()
    out["main"] = files[0].name if files else item.main.name
    return out, findings


def prepare(item: Item, agency: Agency) -> Prepared:
    """Hash and inspect every file of ``item`` and resolve its metadata; never raises for bad input."""
    findings = list(item.findings)
    files: list[PreparedFile] = []
    main_inspection = None
    paths = [(item.main, "main")] + [(a, "attachment") for a in item.attachments]
    names: set[str] = set()
    for path, role in paths:
        if not path.is_file():
            continue
        try:
            with open(path, "rb", buffering=0) as fh:
                digests = digest_stream(fh, [Algorithm.SHA256])
        except OSError as e:
            findings.append(Finding("INGEST_UNREADABLE", str(path), f"cannot read: {e.strerror}"))
            continue
        ins = inspect_file(path)
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
        if ins.format.mime not in agency.accepted_formats:
            findings.append(Finding("INGEST_FORMAT_NOT_ACCEPTED", str(path),
                                    f"{ins.format.name} ({ins.format.mime}) is not in {agency.code}'s accepted formats"))
        name = nfc(path.name)
        if name in names:
            findings.append(Finding("INGEST_FIELD_INVALID", str(path), f"two files of this record are named {name}"))
        names.add(name)
        files.append(PreparedFile(path, name, role, digests.size, digests.hexdigests[Algorithm.SHA256],
                                  ins.format.mime, ins.format.name, ins.format.version, ins.page_count))
    fields: dict[str, Any] = {}
    if not any(f.code in ("INGEST_METADATA_MISSING", "INGEST_METADATA_UNREADABLE") for f in findings):
        fields, more = resolve_fields(item, agency, files, main_inspection)
        findings.extend(more)
    return Prepared(item, tuple(files), fields, tuple(findings))


def _prepare_star(args: tuple[Item, Agency]) -> Prepared:
    return prepare(*args)


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


def prepare_all(items: Sequence[Item], agency: Agency, workers: int, progress: ItemProgress | None = None) -> list[Prepared]:
    """:func:`prepare` every item, on a process pool when there are enough of them."""
    if workers <= 1 or len(items) < 8:
        out = []
        for it in items:
            out.append(prepare(it, agency))
            if progress:
                progress(1)
        return out
    # forkserver, not fork: a forked worker would inherit the run lock's descriptor and keep the
    # lock held after a kill -9 of this process, and would share the catalog's SQLite handle.
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_exit_with, initargs=(os.getpid(),)) as pool:
        out = []
        for p in pool.map(_prepare_star, [(it, agency) for it in items], chunksize=8):
            out.append(p)
            if progress:
                progress(1)
        return out


def object_path(objects: Path, sha256: str) -> Path:
    return objects / sha256[:2] / sha256


def store_object(objects: Path, pf: PreparedFile) -> None:
    """Copy a file into the content-addressed object store, atomically; verify its digest on the way."""
    dest = object_path(objects, pf.sha256)
    if dest.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(pf.path, "rb", buffering=0) as src, open(tmp, "xb", buffering=0) as dst:
            d = digest_stream(src, [Algorithm.SHA256], sink=dst)
            os.fsync(dst.fileno())
        if d.hexdigests[Algorithm.SHA256] != pf.sha256:
            raise InvalidInputError("file changed while it was being ingested", str(pf.path))
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _register_batch(catalog: Catalog, agency: Agency, batch: Sequence[Prepared], now: str) -> list[Outcome]:
    """Register a batch in one transaction: duplicates skipped, versions linked, 件号 assigned."""
    outcomes = []
    with catalog.write() as conn:
        for p in batch:
            key = p.content_key
            row = conn.execute("SELECT id, archival_code FROM records WHERE agency=? AND content_key=?", (agency.code, key)).fetchone()
            if row:
                outcomes.append(Outcome(str(p.item.main), "duplicate", p.findings, row[1], row[0]))
                continue
            findings = list(p.findings)
            source = str(p.item.main.resolve())
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
                  str(pf.path.resolve())) for i, pf in enumerate(p.files)],
            )
            outcomes.append(Outcome(str(p.item.main), "registered", tuple(findings), code, rid))
    return outcomes


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
    prepared = prepare_all(items, agency, workers or (os.cpu_count() or 1), progress)
    outcomes: list[Outcome] = []
    good: list[Prepared] = []
    for p in prepared:
        if p.refused:
            outcomes.append(Outcome(str(p.item.main), "refused", p.findings))
        else:
            good.append(p)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for start in range(0, len(good), BATCH):
        batch = good[start:start + BATCH]
        accepted = []
        for p in batch:
            try:
                for pf in p.files:
                    store_object(objects, pf)
                accepted.append(p)
            except InvalidInputError as e:
                outcomes.append(Outcome(str(p.item.main), "refused", p.findings + (Finding("INGEST_UNREADABLE", e.path or "", e.message),)))
        outcomes.extend(_register_batch(catalog, agency, accepted, now))
    outcomes.sort(key=lambda o: o.path)
    return IngestReport(agency.code, tuple(outcomes))
