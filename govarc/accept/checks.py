"""The acceptance checks on one delivered package (四性检测, DA/T 70): 真实性, 完整性, 可用性, 安全性.

Every check in :data:`CHECKS` is run on every package and reported as a
:class:`~govarc.accept.docs.Check` (code, name, property, result, message); ``specs/acceptance.md``
lists the same codes (a test keeps the two in step). A package is rejected when any check
FAILED; a WARNING or NOT_PERFORMED does not reject. The checks read the staged package through
:mod:`govarc.package` (bounded, never following links) and never touch the catalog: what the
holdings already hold comes in as a :class:`Holdings` view.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from govarc.accept.docs import Check, CheckResult, ListedPackage, TransferList
from govarc.domain import ArchivalCode, SequenceKey
from govarc.errors import MetadataError
from govarc.findings import Finding, Kind
from govarc.package import layout
from govarc.package.manifest import bag_info_get
from govarc.package.metadata import Record, record_from_xml
from govarc.package.reader import open_package
from govarc.package.verify import VerifyResult, verify_package
from govarc.sign.validate import SignaturePolicy, make_signature_check


@dataclass(frozen=True)
class CheckInfo:
    code: str
    name: str
    property: str


AUTHENTICITY, INTEGRITY, USABILITY, SAFETY = "真实性", "完整性", "可用性", "安全性"

CHECKS: dict[str, CheckInfo] = {c.code: c for c in [
    CheckInfo("1-1", "固定性信息", AUTHENTICITY),
    CheckInfo("1-2", "包内数字摘要", AUTHENTICITY),
    CheckInfo("1-3", "电子签名", AUTHENTICITY),
    CheckInfo("1-4", "档号规范", AUTHENTICITY),
    CheckInfo("1-5", "重复检测", AUTHENTICITY),
    CheckInfo("1-6", "元数据与内容一致", AUTHENTICITY),
    CheckInfo("2-1", "数量与数据量", INTEGRITY),
    CheckInfo("2-2", "必备元数据", INTEGRITY),
    CheckInfo("2-3", "件号连续", INTEGRITY),
    CheckInfo("3-1", "XML可解析", USABILITY),
    CheckInfo("3-2", "长期保存格式", USABILITY),
    CheckInfo("3-3", "无加密", USABILITY),
    CheckInfo("4-1", "活动内容", SAFETY),
    CheckInfo("4-2", "病毒检测", SAFETY),
]}
"""Every acceptance check, by DA/T 70-style item code (mirrored in specs/acceptance.md)."""

# Names that make a PDF act on its own (scripts, launching programs, embedded files, forms with scripts).
_EXECUTABLE_MIMES = frozenset({
    "application/x-executable", "application/x-msdownload", "application/x-dosexec", "application/x-sharedlib",
    "application/x-mach-binary", "application/javascript", "text/javascript", "application/x-sh",
    "text/x-shellscript", "application/x-bat", "text/html", "application/xhtml+xml", "application/java-archive",
    "application/vnd.ms-office.vbaproject", "application/x-elf",
})
_EXECUTABLE_EXTS = frozenset({".exe", ".dll", ".com", ".bat", ".cmd", ".ps1", ".sh", ".js", ".vbs", ".jar", ".html",
                              ".htm", ".hta", ".scr", ".msi", ".docm", ".xlsm", ".pptm"})
_SCAN_BLOCK = 1 << 20
_ZIP_ENCRYPTED = 0x1


@dataclass(frozen=True)
class Holdings:
    """What the archives hold already, as the checks need it (no SQL here).

    ``by_sha256(sha)`` names the holdings key of a package delivered with that digest in an
    earlier batch (None if none); ``by_code(code)`` the digests held under a 档号;
    ``items(code)`` the 件号 held in that 档号's sequence (全宗号, 门类, 年度, 保管期限, 机构).
    """

    by_sha256: Callable[[str], str | None] = lambda sha: None
    by_code: Callable[[str], Iterable[str]] = lambda code: ()
    items: Callable[[ArchivalCode], set[int]] = lambda code: set()


@dataclass(frozen=True)
class Settings:
    """The archives' check policy: trust, what formats they keep, whether to scan for viruses."""

    policy: SignaturePolicy
    accepted_formats: tuple[str, ...]
    virus_scan: bool = True
    clamscan: str | None = None  # the program; None: look for ``clamscan`` on PATH


@dataclass(frozen=True)
class Outcome:
    """The checks on one package, and what the flow needs to keep it."""

    checks: tuple[Check, ...]
    sha256: str
    size: int
    archival_code: ArchivalCode | None = None
    duplicate_of: str | None = None  # the holdings key of the same package delivered earlier

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result is CheckResult.FAILED)


@dataclass
class _Run:
    checks: dict[str, Check] = field(default_factory=dict)

    def put(self, code: str, result: CheckResult, message: str = "") -> None:
        info = CHECKS[code]
        have = self.checks.get(code)
        order = (CheckResult.PASSED, CheckResult.NOT_PERFORMED, CheckResult.WARNING, CheckResult.FAILED)
        if have is not None and order.index(have.result) >= order.index(result):
            return  # the worst result of a check stands
        self.checks[code] = Check(code, info.name, info.property, result, message[:500])

    def fail(self, code: str, message: str) -> None:
        self.put(code, CheckResult.FAILED, message)

    def ok(self, code: str, message: str = "") -> None:
        self.put(code, CheckResult.PASSED, message)

    def done(self) -> tuple[Check, ...]:
        for code in CHECKS:
            if code not in self.checks:
                self.ok(code)
        return tuple(self.checks[c] for c in CHECKS)


def digest_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(_SCAN_BLOCK):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _first(findings: Iterable[Finding]) -> str:
    fs = list(findings)
    if not fs:
        return ""
    more = f" (and {len(fs) - 1} more)" if len(fs) > 1 else ""
    return f"{fs[0].code} {fs[0].path}: {fs[0].message}{more}"


_XML_CODES = {"METADATA_NOT_WELLFORMED", "BAG_INFO_MALFORMED"}
_MANDATORY_CODES = {"METADATA_MISSING", "METADATA_INVALID", "BAG_INFO_FIELD_MISSING"}


def check_package(path: Path, listed: ListedPackage, tl: TransferList, batch_items: dict[SequenceKey, set[int]],
                  holdings: Holdings, settings: Settings, *, sha256: str | None = None, size: int | None = None) -> Outcome:
    """Run every check on the staged package at ``path``, delivered as ``listed`` in ``tl``.

    ``batch_items`` maps each 档号 sequence to the 件号 the list sends in it (for 2-3);
    ``sha256``/``size`` are those measured on download (else computed here).
    """
    run = _Run()
    if sha256 is None or size is None:
        sha256, size = digest_file(path)
    # 1-1 fixity of the package object against the list
    if sha256 != listed.sha256.lower():
        run.fail("1-1", f"SHA-256 of {listed.key} is {sha256}, the list gives {listed.sha256}")
    elif size != listed.size:
        run.fail("1-1", f"{listed.key} has {size} bytes, the list gives {listed.size}")
    else:
        run.ok("1-1", f"SHA-256 {sha256}")
    if not zipfile.is_zipfile(path):
        msg = f"{listed.key} is not a package .zip"
        for code in ("1-2", "1-3", "1-4", "1-6", "2-1", "2-2", "3-1"):
            run.fail(code, msg)
        for code in ("2-3", "3-2", "3-3", "4-1"):
            run.put(code, CheckResult.NOT_PERFORMED, msg)
        run.put("1-5", CheckResult.NOT_PERFORMED, msg)
        _virus(run, path, settings)
        return Outcome(run.done(), sha256, size)
    result = verify_package(path, extra=make_signature_check(settings.policy), workers=1)
    record, tagmanifest_sha = _read_package(path, run)
    archival_code = _authenticity(run, result, record, tagmanifest_sha, listed, tl)
    dup = _duplicates(run, sha256, archival_code, holdings)
    _integrity(run, result, record, listed, archival_code, batch_items, holdings, dup)
    if run.checks["1-2"].result is CheckResult.FAILED:  # a broken package's payload is not read further
        for c in ("3-3", "4-1"):
            run.put(c, CheckResult.NOT_PERFORMED, "the package's integrity failed (1-2)")
    _usability_and_safety(run, path, record, settings, run.checks["1-2"].result is not CheckResult.FAILED)
    _virus(run, path, settings)
    return Outcome(run.done(), sha256, size, archival_code, dup)


def _read_package(path: Path, run: _Run) -> tuple[Record | None, str | None]:
    record = None
    tm_sha = None
    try:
        with open_package(path) as reader:
            if reader.has_file(layout.REQUIRED_TAGMANIFEST):
                tm_sha = hashlib.sha256(reader.read(layout.REQUIRED_TAGMANIFEST)).hexdigest()
            if reader.has_file(layout.RECORD_XML):
                try:
                    record = record_from_xml(reader.read(layout.RECORD_XML))
                    run.ok("3-1", f"{layout.RECORD_XML} parses and is valid")
                except MetadataError as e:
                    run.fail("3-1", f"{layout.RECORD_XML}: {e.message}")
                    run.fail("2-2", f"{layout.RECORD_XML}: {e.message}")
            else:
                run.fail("3-1", f"no {layout.RECORD_XML}")
                run.fail("2-2", f"no {layout.RECORD_XML}")
    except (OSError, zipfile.BadZipFile) as e:
        run.fail("3-1", f"the package cannot be read: {e}")
    return record, tm_sha


def _authenticity(run: _Run, result: VerifyResult, record: Record | None, tm_sha: str | None,
                  listed: ListedPackage, tl: TransferList) -> ArchivalCode | None:
    errors = result.errors
    integrity = [f for f in errors if f.kind is Kind.INTEGRITY and f.code not in ("METADATA_MISMATCH",)]
    if integrity:
        run.fail("1-2", _first(integrity))
    elif tm_sha != listed.tagmanifest_sha256.lower():
        run.fail("1-2", f"the tag manifest's SHA-256 is {tm_sha}, the list gives {listed.tagmanifest_sha256}")
    else:
        run.ok("1-2", "every manifest digest verifies")
    sig = [f for f in errors if f.kind is Kind.SIGNATURE]
    agency = bag_info_get(list(result.bag_info), "Source-Organization-Identifier")
    signers = [s for s in result.signers if s.get("role") == "agency" and s.get("valid")]
    if sig:
        run.fail("1-3", _first(sig))
    elif agency != tl.agency_code:
        run.fail("1-3", f"the package names agency {agency!r}, the batch comes from {tl.agency_code!r}")
    elif not signers:
        run.fail("1-3", f"agency {tl.agency_code} has not signed the package")
    else:
        run.ok("1-3", f"signed by {signers[0].get('subject')}")
    # 1-4 the 档号
    text = bag_info_get(list(result.bag_info), "External-Identifier")
    code: ArchivalCode | None = None
    try:
        code = ArchivalCode.parse(text or "")
    except MetadataError:
        run.fail("1-4", f"External-Identifier {text!r} is not a 档号 (全宗号-门类代码·年度-保管期限-机构代码-件号)")
    if code is not None:
        if str(code) != listed.archival_code:
            run.fail("1-4", f"the package is {code}, the list gives {listed.archival_code}")
        elif code.fonds != tl.fonds:
            run.fail("1-4", f"{code} is not in the agency's fonds {tl.fonds}")
        elif code.year != listed.year or code.retention.value != listed.retention:
            run.fail("1-4", f"{code}: year or retention differ from the list ({listed.year}, {listed.retention})")
        elif record is not None and str(record.archival_code) != str(code):
            run.fail("1-4", f"record.xml gives {record.archival_code}, bag-info {code}")
        else:
            run.ok("1-4", str(code))
    # 1-6 metadata agrees with the content and the list
    mismatch = [f for f in errors if f.code == "METADATA_MISMATCH"]
    if mismatch:
        run.fail("1-6", _first(mismatch))
    elif record is not None and record.title != listed.title:
        run.fail("1-6", f"record.xml's 题名 {record.title!r} differs from the list's {listed.title!r}")
    elif record is not None and record.agency_code != tl.agency_code:
        run.fail("1-6", f"record.xml names agency {record.agency_code!r}, not {tl.agency_code!r}")
    return code


def _duplicates(run: _Run, sha256: str, code: ArchivalCode | None, holdings: Holdings) -> str | None:
    held = holdings.by_sha256(sha256)
    if held is not None:
        run.put("1-5", CheckResult.WARNING, f"the same package is held already as {held}")
        return held
    if code is not None:
        others = [s for s in holdings.by_code(str(code)) if s != sha256]
        if others:
            run.fail("1-5", f"{code} is held already with other content (SHA-256 {others[0]})")
            return None
    run.ok("1-5", "not held before")
    return None


def _integrity(run: _Run, result: VerifyResult, record: Record | None, listed: ListedPackage,
               code: ArchivalCode | None, batch_items: dict[SequenceKey, set[int]], holdings: Holdings,
               duplicate_of: str | None) -> None:
    oxum = bag_info_get(list(result.bag_info), "Payload-Oxum")
    files = len(record.files) if record is not None else None
    if oxum and "." in oxum:
        files = int(oxum.split(".", 1)[1]) if oxum.split(".", 1)[1].isdigit() else files
    if files is None:
        run.fail("2-1", "the package's file count cannot be read")
    elif files != listed.file_count:
        run.fail("2-1", f"the package holds {files} files, the list gives {listed.file_count}")
    else:
        run.ok("2-1", f"{files} files, {listed.size} bytes")
    mandatory = [f for f in result.errors if f.code in _MANDATORY_CODES]
    if mandatory:
        run.fail("2-2", _first(mandatory))
    elif record is not None:
        missing = [n for n, v in (("题名", record.title), ("责任者", record.issuers), ("日期", record.date),
                                  ("密级", record.classification), ("全宗名称", record.fonds_name)) if not v]
        if missing:
            run.fail("2-2", f"missing: {', '.join(missing)}")
    xml = [f for f in result.errors if f.code in _XML_CODES]
    if xml:
        run.fail("3-1", _first(xml))
    if code is None:
        run.put("2-3", CheckResult.NOT_PERFORMED, "no 档号")
        return
    held = holdings.items(code)
    sent = batch_items.get(code.sequence, set())
    if code.item in held and duplicate_of is None:
        run.fail("2-3", f"件号 {code.item} of {code.sequence} is held already")
    elif code.item == 1 or (code.item - 1) in held or (code.item - 1) in sent:
        run.ok("2-3", f"件号 {code.item} follows on")
    else:
        have = max((i for i in held | sent if i < code.item), default=0)
        run.put("2-3", CheckResult.WARNING, f"件号 {code.item} does not follow on: the last one held or sent "
                f"in {'-'.join(map(str, code.sequence))} is {have or 'none'}")


def _accepted(record_mime: str, record_name: str, accepted: tuple[str, ...]) -> bool:
    return record_mime in accepted or record_name in accepted


def _usability_and_safety(run: _Run, path: Path, record: Record | None, settings: Settings, read_payload: bool) -> None:
    if record is None:
        for c in ("3-2", "3-3", "4-1"):
            run.put(c, CheckResult.NOT_PERFORMED, "no readable record.xml")
        return
    # 3-2 formats for long-term keeping: the main file must be; an attachment that is not is a warning
    for f in record.files:
        if not _accepted(f.mime, f.format_name, settings.accepted_formats):
            shown = f"{f.format_name} ({f.mime})"
            if f.role == "main":
                run.fail("3-2", f"data/{f.name} is {shown}, not a format kept for the long term "
                         f"({', '.join(settings.accepted_formats)})")
            else:
                run.put("3-2", CheckResult.WARNING, f"attachment data/{f.name} is {shown}")
    if not read_payload:
        return
    # 3-3 encryption and 4-1 active content, read from the payload itself
    encrypted: list[str] = []
    active: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.flag_bits & _ZIP_ENCRYPTED:
                encrypted.append(info.filename)
        tops = {i.filename.split("/", 1)[0] for i in zf.infolist()}
        top = next(iter(tops)) if len(tops) == 1 else ""
        for f in record.files:
            name = f"{top}/data/{f.name}"
            ext = os.path.splitext(f.name)[1].lower()
            if f.mime in _EXECUTABLE_MIMES or ext in _EXECUTABLE_EXTS:
                active.append(f"data/{f.name} is {f.mime}")
                continue
            try:
                info = zf.getinfo(name)
            except KeyError:
                continue
            if f.mime == "application/pdf":
                enc, act = _pdf_scan(zf, info)
                if enc:
                    encrypted.append(f"data/{f.name}")
                if act:
                    active.append(f"data/{f.name} holds {act}")
            elif f.mime == "application/ofd":
                with zf.open(info) as raw:
                    try:
                        with zipfile.ZipFile(raw) as ofd:
                            names = ofd.namelist()
                            if any(i.flag_bits & _ZIP_ENCRYPTED for i in ofd.infolist()) or \
                                    any(n.lower().endswith("encryptions.xml") for n in names):
                                encrypted.append(f"data/{f.name}")
                            if any(n.lower().endswith((".js", ".exe")) for n in names):
                                active.append(f"data/{f.name} holds a script or program")
                    except zipfile.BadZipFile:
                        pass
    if encrypted:
        run.fail("3-3", f"encrypted: {', '.join(encrypted[:5])}")
    if active:
        run.fail("4-1", "; ".join(active[:5]))


def _pdf_scan(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[bool, str | None]:
    """(encrypted, what can act) of a PDF in the package, judged as ingest judges it.

    The PDF's structure is read (pypdf: the catalog's actions, name trees, annotations), not its
    raw bytes: a scan's compressed image data holds ``/JS`` by chance every few megabytes.
    """
    from govarc.ingest.inspect import inspect_stream

    import tempfile

    # pypdf wants a seekable binary file: a zip entry is neither cheaply. Spooled: small PDFs stay
    # in memory, large scans go to a temporary file, never whole into memory.
    with zf.open(info) as src, tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+b") as f:
        shutil.copyfileobj(src, f, 1 << 20)
        f.seek(0)
        ins = inspect_stream(f, Path(info.filename), max_pages=1)  # type: ignore[arg-type]
    active = ", ".join(ins.active_content) if ins.active_content else None
    return bool(ins.encrypted), active


def _virus(run: _Run, path: Path, settings: Settings) -> None:
    if not settings.virus_scan:
        run.put("4-2", CheckResult.NOT_PERFORMED, "virus scanning is switched off ([holdings] virus_scan = false)")
        return
    program = settings.clamscan or shutil.which("clamscan")
    if program is None:
        run.put("4-2", CheckResult.NOT_PERFORMED, "clamscan is not installed")
        return
    try:
        proc = subprocess.run([program, "--no-summary", "--infected", "--scan-archive=yes", os.fspath(path)],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        run.put("4-2", CheckResult.NOT_PERFORMED, f"clamscan did not run: {e}")
        return
    if proc.returncode == 0:
        run.ok("4-2", "clamscan found nothing")
    elif proc.returncode == 1:
        line = proc.stdout.decode("utf-8", "replace").strip().splitlines()
        run.fail("4-2", f"clamscan: {line[0] if line else 'infected'}")
    else:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        run.put("4-2", CheckResult.NOT_PERFORMED, f"clamscan failed: {err[-1] if err else proc.returncode}")

