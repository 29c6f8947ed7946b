"""The transfer list (移交清单) and the receipt (接收回执) as XML documents, and their detached signatures.

``specs/transfer-list.md`` describes both documents; ``specs/transfer-list.xsd`` and
``specs/receipt.xsd`` are their schemas (namespace ``urn:govarc:transfer:1``). Writing and reading
apply the same checks: what :func:`transfer_list_to_xml` writes, :func:`transfer_list_from_xml`
reads back, and a document that is malformed, invalid against its schema, over a limit
(``govarc/limits.py``) or inconsistent (a key that escapes, a duplicate, totals or a digest that
lie) is refused with one :class:`~govarc.errors.InvalidInputError` naming ``where``.

Signatures are detached DER CMS over the exact document bytes (``<document>.p7s``), made and
checked with :mod:`govarc.sign.documents`; they verify with ``openssl cms -verify -binary``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache
from pathlib import Path

from lxml import etree

from govarc.domain import ArchivalCode
from govarc.domain import Verdict as Verdict  # defined once, with the other terms of the domain
from govarc.errors import InvalidInputError, MetadataError
from govarc.limits import (
    MAX_BATCH_PACKAGES,
    MAX_CHECKS_PER_PACKAGE,
    MAX_PACKAGE_FILES,
    MAX_TRANSFER_DOC_BYTES,
)
from govarc.transport import InvalidKeyError, validate_key
from govarc.xmldoc import MAX_SIZE, XmlDoc, checked, timestamp_field
from govarc.xmldoc import Bad as _Bad
from govarc.xmldoc import count_field as _count
from govarc.xmldoc import match_field as _match
from govarc.xmldoc import text_field as _text
from govarc.xmlsafe import load_schema

NS = "urn:govarc:transfer:1"
VERSION = "1"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
LIST_SCHEMA_PATH = SCHEMA_DIR / "transfer-list.xsd"
RECEIPT_SCHEMA_PATH = SCHEMA_DIR / "receipt.xsd"

DIGEST_ALGORITHM = "SHA-256"
CARRIER_ONLINE = "在线"
BYTES_PER_GB = 1024**3
"""数据量 is reported in GB of 2^30 bytes (what file managers show), to three decimals."""

BATCH_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
AGENCY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
FONDS = re.compile(r"[A-Za-z0-9]{1,16}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CHECK_CODE = re.compile(r"[1-4](-[0-9]{1,3}){1,3}")


class CheckResult(str, Enum):
    """The result of one acceptance check; a check that was not run is never reported as passed."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_PERFORMED = "not-performed"
    WARNING = "warning"


_DOC = XmlDoc(NS, "t", MAX_TRANSFER_DOC_BYTES, "MAX_TRANSFER_DOC_BYTES")
_sub, _get, _opt, _parse = _DOC.sub, _DOC.get, _DOC.opt, _DOC.parse


def _timestamp(value: object, what: str) -> str:
    timestamp_field(value, what)
    return str(value)


def _serialize(root: etree._Element, schema: etree.XMLSchema, what: str) -> bytes:
    return _DOC.serialize(root, schema, what, hint="; send fewer packages per batch")


PROPERTIES = {"1": "真实性", "2": "完整性", "3": "可用性", "4": "安全性"}
"""DA/T 70 properties by the first digit of an item code (1-x 真实性 … 4-x 安全性)."""

PROPERTY_ENGLISH = {"真实性": "authenticity", "完整性": "integrity", "可用性": "usability", "安全性": "security"}


# --- the transfer list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedPackage:
    """One row of the transfer list: one package (one 件)."""

    archival_code: str  # 档号
    title: str  # 题名
    key: str  # object key below the batch's packages/ folder
    file_count: int  # 文件数 (payload files)
    size: int  # bytes of the package object as uploaded
    sha256: str  # SHA-256 of the package object as uploaded
    tagmanifest_sha256: str  # 标签清单摘要
    year: int
    retention: str


@dataclass(frozen=True)
class TransferList:
    """移交清单: what an agency hands over in one batch, with the totals of the 登记表."""

    batch_id: str
    agency_code: str
    agency_name: str
    fonds: str  # 全宗号: every 档号 of the list is in this fonds
    archives_code: str
    archives_name: str | None
    created_at: str  # ISO 8601 with its offset
    packages: tuple[ListedPackage, ...]

    @property
    def item_count(self) -> int:
        return len(self.packages)

    @property
    def file_count(self) -> int:
        return sum(p.file_count for p in self.packages)

    @property
    def total_bytes(self) -> int:
        return sum(p.size for p in self.packages)

    @property
    def data_gb(self) -> str:
        """数据量: total bytes in GB (2^30 bytes), three decimals, rounded half up."""
        return str((Decimal(self.total_bytes) / BYTES_PER_GB).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))

    @property
    def digest_algorithm(self) -> str:
        return DIGEST_ALGORITHM

    @property
    def batch_digest(self) -> str:
        """数字摘要: SHA-256 over the sorted lines ``<sha256>  <key>\\n`` of every package."""
        return batch_digest((p.sha256, p.key) for p in self.packages)

    @property
    def work_name(self) -> str:
        """交接工作名称."""
        return f"{self.agency_name}电子档案移交（批次 {self.batch_id}）"

    @property
    def description(self) -> str:
        """内容描述: fonds, years, retention periods and count."""
        years = sorted({p.year for p in self.packages})
        span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}" if years else "—"
        order = {"Y": 0, "D30": 1, "D10": 2}
        kept = "、".join(sorted({p.retention for p in self.packages}, key=lambda r: order.get(r, 9)))
        return (f"全宗 {self.fonds} {self.agency_name} 文书类电子档案 {self.item_count} 件，"
                f"年度 {span}，保管期限 {kept or '—'}")


def batch_digest(rows: Iterable[tuple[str, str]]) -> str:
    """SHA-256 hex over the sorted ``"<sha256>  <key>\\n"`` lines of ``(sha256, key)`` rows."""
    lines = sorted(f"{sha}  {key}\n" for sha, key in rows)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


# --- the receipt --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One acceptance check on one package (DA/T 70): ``code`` like ``1-1``; ``property`` 真实性 … 安全性."""

    code: str
    name: str
    property: str
    result: CheckResult
    message: str = ""


@dataclass(frozen=True)
class PackageVerdict:
    """The archives' verdict on one package of a list, with every check it ran."""

    archival_code: str
    key: str
    sha256: str
    verdict: Verdict
    checks: tuple[Check, ...]
    holdings_key: str | None = None  # where the archives keep it (accepted/duplicate)
    size: int | None = None  # bytes as received (counted in the receipt's accepted bytes)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed (the reasons of a rejection)."""
        return tuple(c for c in self.checks if c.result is CheckResult.FAILED)


@dataclass(frozen=True)
class Receipt:
    """接收回执: the archives' signed answer to one transfer list."""

    batch_id: str
    agency_code: str
    archives_code: str
    archives_name: str
    list_sha256: str  # SHA-256 of the transfer list XML bytes it answers
    received_at: str  # ISO 8601 with its offset
    verdicts: tuple[PackageVerdict, ...]

    def _count(self, verdict: Verdict) -> int:
        return sum(1 for v in self.verdicts if v.verdict is verdict)

    @property
    def accepted(self) -> int:
        return self._count(Verdict.ACCEPTED)

    @property
    def rejected(self) -> int:
        return self._count(Verdict.REJECTED)

    @property
    def duplicate(self) -> int:
        return self._count(Verdict.DUPLICATE)

    @property
    def accepted_bytes(self) -> int:
        """Bytes of the accepted packages (those whose size the archives reported)."""
        return sum(v.size or 0 for v in self.verdicts if v.verdict is Verdict.ACCEPTED)


# --- shared checks ------------------------------------------------------------------------------


def _key(value: object, what: str) -> str:
    try:
        return validate_key(value)  # type: ignore[arg-type]
    except InvalidKeyError as e:
        raise _Bad(f"{what}: {e}") from None


def _archival_code(value: object, what: str) -> ArchivalCode:
    """The archival code ``value``, which must be written as :meth:`ArchivalCode.format` writes it."""
    try:
        code = ArchivalCode.parse(value)  # type: ignore[arg-type]
    except MetadataError as e:
        raise _Bad(f"{what}: {e.message}") from None
    if code.format() != value:
        raise _Bad(f"{what}: archival code {value!r} is not written as {code.format()!r}")
    return code


def _no_duplicates(values: Sequence[str], what: str) -> None:
    seen: dict[str, str] = {}
    for v in values:
        folded = v.casefold()  # two keys that differ only in case collide on many file systems
        if folded in seen:
            raise _Bad(f"{what} {v!r} appears twice" + ("" if seen[folded] == v else f" (as {seen[folded]!r})"))
        seen[folded] = v


def _check_list(tl: TransferList) -> None:
    _match(BATCH_ID, tl.batch_id, "batch id")
    _match(AGENCY_CODE, tl.agency_code, "agency code")
    _text(tl.agency_name, "agency name")
    _match(FONDS, tl.fonds, "fonds (全宗号)")
    _match(AGENCY_CODE, tl.archives_code, "archives code")
    if tl.archives_name is not None:
        _text(tl.archives_name, "archives name")
    _timestamp(tl.created_at, "createdAt")
    if not isinstance(tl.packages, tuple) or not tl.packages:
        raise _Bad("the list names no package")
    if len(tl.packages) > MAX_BATCH_PACKAGES:
        raise _Bad(f"{len(tl.packages)} packages; a batch holds at most {MAX_BATCH_PACKAGES} (MAX_BATCH_PACKAGES)")
    for i, p in enumerate(tl.packages, 1):
        row = f"package {i}"
        code = _archival_code(p.archival_code, row)
        if code.fonds != tl.fonds:
            raise _Bad(f"{row}: archival code {p.archival_code} is not in fonds {tl.fonds}")
        if p.year != code.year or p.retention != code.retention.value:
            raise _Bad(f"{row}: year {p.year!r} and retention {p.retention!r} differ from archival code {p.archival_code}")
        _text(p.title, f"{row}: title")
        _key(p.key, f"{row}: key")
        _count(p.file_count, f"{row}: file count", MAX_PACKAGE_FILES)
        if p.file_count < 1:
            raise _Bad(f"{row}: file count is 0; a package holds at least one file")
        _count(p.size, f"{row}: size")
        _match(SHA256_HEX, p.sha256, f"{row}: sha256")
        _match(SHA256_HEX, p.tagmanifest_sha256, f"{row}: tag-manifest sha256")
    _no_duplicates([p.key for p in tl.packages], "key")
    _no_duplicates([p.archival_code for p in tl.packages], "archival code")
    if tl.total_bytes > MAX_SIZE:
        raise _Bad(f"total bytes {tl.total_bytes} are more than {MAX_SIZE}")


def _check_receipt(r: Receipt) -> None:
    _match(BATCH_ID, r.batch_id, "batch id")
    _match(AGENCY_CODE, r.agency_code, "agency code")
    _match(AGENCY_CODE, r.archives_code, "archives code")
    _text(r.archives_name, "archives name")
    _match(SHA256_HEX, r.list_sha256, "transfer list digest")
    _timestamp(r.received_at, "receivedAt")
    if not isinstance(r.verdicts, tuple):
        raise _Bad("verdicts are not a tuple")
    if len(r.verdicts) > MAX_BATCH_PACKAGES:
        raise _Bad(f"{len(r.verdicts)} verdicts; a batch holds at most {MAX_BATCH_PACKAGES} (MAX_BATCH_PACKAGES)")
    for i, v in enumerate(r.verdicts, 1):
        row = f"package {i}"
        _archival_code(v.archival_code, row)
        _key(v.key, f"{row}: key")
        _match(SHA256_HEX, v.sha256, f"{row}: sha256")
        if v.size is not None:
            _count(v.size, f"{row}: size")
        if not isinstance(v.verdict, Verdict):
            raise _Bad(f"{row}: verdict {v.verdict!r} is not one of {', '.join(x.value for x in Verdict)}")
        if v.holdings_key is not None:
            _key(v.holdings_key, f"{row}: holdings key")
            if v.verdict is Verdict.REJECTED:
                raise _Bad(f"{row}: a rejected package has no place in the holdings, yet a holdings key is given")
        if not isinstance(v.checks, tuple) or not v.checks:
            raise _Bad(f"{row}: no acceptance check is reported")
        if len(v.checks) > MAX_CHECKS_PER_PACKAGE:
            raise _Bad(f"{row}: {len(v.checks)} checks; at most {MAX_CHECKS_PER_PACKAGE} (MAX_CHECKS_PER_PACKAGE)")
        for c in v.checks:
            what = f"{row}: check {str(c.code)[:20]!r}"
            _match(CHECK_CODE, c.code, f"{row}: check code")
            _text(c.name, f"{what}: name")
            _text(c.message, f"{what}: message", empty=True)
            if not isinstance(c.result, CheckResult):
                raise _Bad(f"{what}: result {c.result!r} is not one of {', '.join(x.value for x in CheckResult)}")
            if c.property != PROPERTIES[c.code[0]]:
                raise _Bad(f"{what}: property {c.property!r} does not fit the code (DA/T 70 {c.code[0]}-x is "
                           f"{PROPERTIES[c.code[0]]})")
        failed = any(c.result is CheckResult.FAILED for c in v.checks)
        if v.verdict is Verdict.REJECTED and not failed:
            raise _Bad(f"{row}: rejected, yet no check failed")
        if v.verdict is not Verdict.REJECTED and failed:
            raise _Bad(f"{row}: {v.verdict.value}, yet a check failed")
    _no_duplicates([v.key for v in r.verdicts], "key")
    _no_duplicates([v.archival_code for v in r.verdicts], "archival code")


# --- XML ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def list_schema() -> etree.XMLSchema:
    return load_schema(LIST_SCHEMA_PATH)


@lru_cache(maxsize=1)
def receipt_schema() -> etree.XMLSchema:
    return load_schema(RECEIPT_SCHEMA_PATH)


def transfer_list_to_xml(tl: TransferList) -> bytes:
    """The transfer list as UTF-8 XML, valid against ``transfer-list.xsd``; InvalidInputError if ``tl`` is not sound."""
    checked(_check_list, tl, f"transfer list {str(tl.batch_id)[:64]}")
    root = _DOC.root("transferList", version=VERSION, batchId=tl.batch_id, createdAt=tl.created_at)
    _sub(root, "workName", tl.work_name)
    tr = _sub(root, "transferor")
    _sub(tr, "code", tl.agency_code)
    _sub(tr, "name", tl.agency_name)
    _sub(tr, "fonds", tl.fonds)
    rc = _sub(root, "receiver")
    _sub(rc, "code", tl.archives_code)
    if tl.archives_name is not None:
        _sub(rc, "name", tl.archives_name)
    _sub(root, "description", tl.description)
    _sub(root, "carrier", CARRIER_ONLINE)
    totals = _sub(root, "totals")
    _sub(totals, "items", str(tl.item_count))
    _sub(totals, "files", str(tl.file_count))
    _sub(totals, "bytes", str(tl.total_bytes))
    _sub(totals, "dataGB", tl.data_gb)
    _sub(root, "digest", tl.batch_digest, algorithm=DIGEST_ALGORITHM)
    pk = _sub(root, "packages")
    for p in tl.packages:
        e = _sub(pk, "package")
        _sub(e, "archivalCode", p.archival_code)
        _sub(e, "title", p.title)
        _sub(e, "year", f"{p.year:04d}")
        _sub(e, "retention", p.retention)
        _sub(e, "key", p.key)
        _sub(e, "fileCount", str(p.file_count))
        _sub(e, "size", str(p.size))
        _sub(e, "sha256", p.sha256)
        _sub(e, "tagmanifestSha256", p.tagmanifest_sha256)
    return _serialize(root, list_schema(), "transfer list")


def transfer_list_from_xml(data: bytes, where: str) -> TransferList:
    """Read a transfer list: hardened parser, size and depth limits, the XSD, then the semantic checks.

    Raises InvalidInputError (exit 3) naming ``where`` with the first problem.
    """
    root = _parse(data, where, "transferList", list_schema(), "transfer list")
    ns = {"t": NS}
    try:
        packages = tuple(
            ListedPackage(
                archival_code=_get(e, "t:archivalCode"), title=_get(e, "t:title"), key=_get(e, "t:key"),
                file_count=int(_get(e, "t:fileCount")), size=int(_get(e, "t:size")), sha256=_get(e, "t:sha256"),
                tagmanifest_sha256=_get(e, "t:tagmanifestSha256"), year=int(_get(e, "t:year")),
                retention=_get(e, "t:retention"),
            )
            for e in root.iterfind("t:packages/t:package", ns)
        )
        tl = TransferList(
            batch_id=root.get("batchId", ""), agency_code=_get(root, "t:transferor/t:code"),
            agency_name=_get(root, "t:transferor/t:name"), fonds=_get(root, "t:transferor/t:fonds"),
            archives_code=_get(root, "t:receiver/t:code"), archives_name=_opt(root, "t:receiver/t:name"),
            created_at=root.get("createdAt", ""), packages=packages,
        )
        _check_list(tl)
        stated = {
            "items": (int(_get(root, "t:totals/t:items")), tl.item_count),
            "files": (int(_get(root, "t:totals/t:files")), tl.file_count),
            "bytes": (int(_get(root, "t:totals/t:bytes")), tl.total_bytes),
            "dataGB": (_get(root, "t:totals/t:dataGB"), tl.data_gb),
            "digest": (_get(root, "t:digest"), tl.batch_digest),
        }
        for name, (said, actual) in stated.items():
            if said != actual:
                raise _Bad(f"the totals lie: {name} says {said}, the packages listed make {actual}")
    except _Bad as bad:
        raise InvalidInputError(f"transfer list: {bad}", where) from None
    return tl


def receipt_to_xml(r: Receipt) -> bytes:
    """The receipt as UTF-8 XML, valid against ``receipt.xsd``; InvalidInputError if ``r`` is not sound."""
    checked(_check_receipt, r, f"receipt {str(r.batch_id)[:64]}")
    root = _DOC.root("receipt", version=VERSION, batchId=r.batch_id, receivedAt=r.received_at)
    tr = _sub(root, "transferor")
    _sub(tr, "code", r.agency_code)
    rc = _sub(root, "receiver")
    _sub(rc, "code", r.archives_code)
    _sub(rc, "name", r.archives_name)
    _sub(root, "transferListDigest", r.list_sha256, algorithm=DIGEST_ALGORITHM)
    totals = _sub(root, "totals")
    _sub(totals, "items", str(len(r.verdicts)))
    _sub(totals, "accepted", str(r.accepted))
    _sub(totals, "rejected", str(r.rejected))
    _sub(totals, "duplicate", str(r.duplicate))
    _sub(totals, "acceptedBytes", str(r.accepted_bytes))
    pk = _sub(root, "packages")
    for v in r.verdicts:
        e = _sub(pk, "package", verdict=v.verdict.value)
        _sub(e, "archivalCode", v.archival_code)
        _sub(e, "key", v.key)
        _sub(e, "sha256", v.sha256)
        if v.size is not None:
            _sub(e, "size", str(v.size))
        if v.holdings_key is not None:
            _sub(e, "holdingsKey", v.holdings_key)
        checks = _sub(e, "checks")
        for c in v.checks:
            ce = _sub(checks, "check", code=c.code, property=c.property, result=c.result.value)
            _sub(ce, "name", c.name)
            if c.message:
                _sub(ce, "message", c.message)
    return _serialize(root, receipt_schema(), "receipt")


def receipt_from_xml(data: bytes, where: str) -> Receipt:
    """Read a receipt: hardened parser, limits, the XSD, then the semantic checks (InvalidInputError naming ``where``)."""
    root = _parse(data, where, "receipt", receipt_schema(), "receipt")
    ns = {"t": NS}
    try:
        verdicts = []
        for e in root.iterfind("t:packages/t:package", ns):
            checks = tuple(
                Check(code=c.get("code", ""), name=_get(c, "t:name"), property=c.get("property", ""),
                      result=CheckResult(c.get("result")), message=_opt(c, "t:message") or "")
                for c in e.iterfind("t:checks/t:check", ns)
            )
            size = _opt(e, "t:size")
            verdicts.append(PackageVerdict(
                archival_code=_get(e, "t:archivalCode"), key=_get(e, "t:key"), sha256=_get(e, "t:sha256"),
                verdict=Verdict(e.get("verdict")), checks=checks, holdings_key=_opt(e, "t:holdingsKey"),
                size=int(size) if size is not None else None,
            ))
        r = Receipt(
            batch_id=root.get("batchId", ""), agency_code=_get(root, "t:transferor/t:code"),
            archives_code=_get(root, "t:receiver/t:code"), archives_name=_opt(root, "t:receiver/t:name") or "",
            list_sha256=_get(root, "t:transferListDigest"), received_at=root.get("receivedAt", ""),
            verdicts=tuple(verdicts),
        )
        _check_receipt(r)
        stated = {
            "items": (int(_get(root, "t:totals/t:items")), len(r.verdicts)),
            "accepted": (int(_get(root, "t:totals/t:accepted")), r.accepted),
            "rejected": (int(_get(root, "t:totals/t:rejected")), r.rejected),
            "duplicate": (int(_get(root, "t:totals/t:duplicate")), r.duplicate),
            "acceptedBytes": (int(_get(root, "t:totals/t:acceptedBytes")), r.accepted_bytes),
        }
        for name, (said, actual) in stated.items():
            if said != actual:
                raise _Bad(f"the totals lie: {name} says {said}, the packages listed make {actual}")
    except _Bad as bad:
        raise InvalidInputError(f"receipt: {bad}", where) from None
    return r


def receipt_problems(r: Receipt, tl: TransferList, list_xml: bytes) -> list[str]:
    """Why ``r`` does not answer the list ``tl`` (whose exact bytes are ``list_xml``); empty when it does.

    The receipt must name the list's batch, agency and archives, carry the SHA-256 of those bytes,
    and answer every listed package (same key, 档号 and digest) and nothing else.
    """
    problems = []
    if r.batch_id != tl.batch_id:
        problems.append(f"the receipt is for batch {r.batch_id}, not {tl.batch_id}")
    if r.agency_code != tl.agency_code:
        problems.append(f"the receipt names agency {r.agency_code}, not {tl.agency_code}")
    if r.archives_code != tl.archives_code:
        problems.append(f"the receipt is from archives {r.archives_code}, not {tl.archives_code}")
    if r.list_sha256 != hashlib.sha256(list_xml).hexdigest():
        problems.append("the receipt answers other transfer-list bytes (its digest differs)")
    listed = {p.key: p for p in tl.packages}
    answered = {v.key: v for v in r.verdicts}
    for key in sorted(listed.keys() - answered.keys()):
        problems.append(f"package {key} is listed but has no verdict")
    for key in sorted(answered.keys() - listed.keys()):
        problems.append(f"package {key} has a verdict but was not listed")
    for key in sorted(listed.keys() & answered.keys()):
        p, v = listed[key], answered[key]
        if p.archival_code != v.archival_code:
            problems.append(f"package {key}: the verdict names {v.archival_code}, the list {p.archival_code}")
    return problems
