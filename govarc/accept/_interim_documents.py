"""Interim stand-in for ``govarc.transfer.documents`` / ``render`` (issue #9 contract, api9).

Used only while the documents module is not in this tree: the same names and fields, a minimal
XML form without the XSD. :mod:`govarc.accept.docs` prefers the real module; delete this file
once ``govarc/transfer/documents.py`` is merged.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from enum import Enum

from lxml import etree

from govarc.errors import InvalidInputError
from govarc.findings import Finding
from govarc.sign.cms import sign_bytes
from govarc.sign.pki import Credentials
from govarc.sign.validate import SignaturePolicy, check_signature
from govarc.xmlsafe import parse_bytes

NS = "urn:govarc:transfer:1"
_Q = "{%s}" % NS


class Verdict(str, Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class CheckResult(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_PERFORMED = "not-performed"
    WARNING = "warning"


@dataclass(frozen=True)
class ListedPackage:
    archival_code: str
    title: str
    key: str
    file_count: int
    size: int
    sha256: str
    tagmanifest_sha256: str
    year: int
    retention: str


@dataclass(frozen=True)
class TransferList:
    batch_id: str
    agency_code: str
    agency_name: str
    fonds: str
    archives_code: str
    archives_name: str | None
    created_at: str
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


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    property: str
    result: CheckResult
    message: str = ""


@dataclass(frozen=True)
class PackageVerdict:
    archival_code: str
    key: str
    sha256: str
    verdict: Verdict
    checks: tuple[Check, ...]
    holdings_key: str | None = None


@dataclass(frozen=True)
class Receipt:
    batch_id: str
    agency_code: str
    archives_code: str
    archives_name: str
    list_sha256: str
    received_at: str
    verdicts: tuple[PackageVerdict, ...]

    def count(self, v: Verdict) -> int:
        return sum(1 for p in self.verdicts if p.verdict is v)


def _sub(parent: etree._Element, tag: str, text: object = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _Q + tag, **attrs)
    if text is not None:
        el.text = str(text)
    return el


_PKG_FIELDS = ("archival_code", "title", "key", "file_count", "size", "sha256", "tagmanifest_sha256", "year", "retention")
_LIST_FIELDS = ("batch_id", "agency_code", "agency_name", "fonds", "archives_code", "archives_name", "created_at")


def transfer_list_to_xml(tl: TransferList) -> bytes:
    root = etree.Element(_Q + "transferList", nsmap={None: NS})
    for f in _LIST_FIELDS:
        if getattr(tl, f) is not None:
            _sub(root, f, getattr(tl, f))
    pk = _sub(root, "packages")
    for p in tl.packages:
        el = _sub(pk, "package")
        for f in _PKG_FIELDS:
            _sub(el, f, getattr(p, f))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def transfer_list_from_xml(data: bytes, where: str) -> TransferList:
    try:
        root = parse_bytes(data).getroot()
        if root.tag != _Q + "transferList":
            raise ValueError("not a transfer list")

        def text(el: etree._Element, f: str, need: bool = True) -> str | None:
            v = el.findtext(_Q + f)
            if v is None and need:
                raise ValueError(f"no {f}")
            return v

        pkgs = []
        for el in root.iterfind(f"{_Q}packages/{_Q}package"):
            v = {f: text(el, f) for f in _PKG_FIELDS}
            pkgs.append(ListedPackage(
                archival_code=str(v["archival_code"]), title=str(v["title"]), key=str(v["key"]),
                file_count=int(str(v["file_count"])), size=int(str(v["size"])), sha256=str(v["sha256"]),
                tagmanifest_sha256=str(v["tagmanifest_sha256"]), year=int(str(v["year"])), retention=str(v["retention"])))
        return TransferList(
            batch_id=str(text(root, "batch_id")), agency_code=str(text(root, "agency_code")),
            agency_name=str(text(root, "agency_name")), fonds=str(text(root, "fonds")),
            archives_code=str(text(root, "archives_code")), archives_name=text(root, "archives_name", False),
            created_at=str(text(root, "created_at")), packages=tuple(pkgs))
    except (etree.XMLSyntaxError, ValueError) as e:
        raise InvalidInputError(f"not a valid transfer list: {e}", where) from None


def receipt_to_xml(r: Receipt) -> bytes:
    root = etree.Element(_Q + "receipt", nsmap={None: NS})
    for f in ("batch_id", "agency_code", "archives_code", "archives_name", "list_sha256", "received_at"):
        _sub(root, f, getattr(r, f))
    vs = _sub(root, "verdicts")
    for v in r.verdicts:
        el = _sub(vs, "package", archival_code=v.archival_code, key=v.key, sha256=v.sha256, verdict=v.verdict.value)
        if v.holdings_key:
            el.set("holdings_key", v.holdings_key)
        for c in v.checks:
            _sub(el, "check", c.message or None, code=c.code, name=c.name, property=c.property, result=c.result.value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def receipt_from_xml(data: bytes, where: str) -> Receipt:
    try:
        root = parse_bytes(data).getroot()
        verdicts = []
        for el in root.iterfind(f"{_Q}verdicts/{_Q}package"):
            checks = tuple(Check(c.get("code", ""), c.get("name", ""), c.get("property", ""), CheckResult(c.get("result")),
                                 c.text or "") for c in el.iterfind(_Q + "check"))
            verdicts.append(PackageVerdict(el.get("archival_code", ""), el.get("key", ""), el.get("sha256", ""),
                                           Verdict(el.get("verdict")), checks, el.get("holdings_key")))
        t = {f: str(root.findtext(_Q + f)) for f in ("batch_id", "agency_code", "archives_code", "archives_name",
                                                     "list_sha256", "received_at")}
        return Receipt(t["batch_id"], t["agency_code"], t["archives_code"], t["archives_name"], t["list_sha256"],
                       t["received_at"], tuple(verdicts))
    except (etree.XMLSyntaxError, ValueError) as e:
        raise InvalidInputError(f"not a valid receipt: {e}", where) from None


def sign_document(data: bytes, creds: Credentials) -> bytes:
    return sign_bytes(data, creds.key, creds.cert, creds.chain)


def verify_document(data: bytes, sig: bytes, where: str, policy: SignaturePolicy, expected_code: str) -> list[Finding]:
    report = check_signature(where, sig, data, policy)
    findings = list(report.findings)
    if report.subject is not None and report.identity != expected_code:
        findings.append(Finding("SIGNER_WRONG_AGENCY", where, f"{report.subject}: signed by {report.identity!r}, "
                                f"not {expected_code!r}"))
    return findings


def receipt_html(r: Receipt, tl: TransferList) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(v.archival_code)}</td><td>{e(v.key)}</td><td>{e(v.verdict.value)}</td>"
                   f"<td>{e('; '.join(c.code for c in v.checks if c.result is CheckResult.FAILED))}</td></tr>"
                   for v in r.verdicts)
    digest = hashlib.sha256(receipt_to_xml(r)).hexdigest()
    return (f"<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>电子档案移交与接收登记表</title>"
            f"<h1>电子档案移交与接收登记表</h1><table><tr><th>移交单位</th><td>{e(tl.agency_name)}</td>"
            f"<th>接收单位</th><td>{e(r.archives_name)}</td></tr></table>"
            f"<table><tr><th>档号</th><th>对象</th><th>结论</th><th>未通过项</th></tr>{rows}</table>"
            f"<p>回执摘要 SHA-256 {digest}</p></html>")
