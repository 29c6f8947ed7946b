"""Resolve and validate the metadata fields of an item into the fields of its record.

Lists written as text are split by :func:`govarc.domain.split_list`, at the separators of each
field (:data:`~govarc.domain.LIST_SEPARATORS` for 责任者, :data:`~govarc.domain.KEYWORD_SEPARATORS`
for 主题词).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from govarc.domain import (
    KEYWORD_SEPARATORS,
    LIST_SEPARATORS,
    Agency,
    Classification,
    Retention,
    is_code_part,
    split_list,
)
from govarc.findings import Finding
from govarc.ingest.inspect import compare
from govarc.package.metadata import LimitExceededError, check_list, parse_date

if TYPE_CHECKING:
    from govarc.ingest.prepare import PreparedFile
    from govarc.ingest.sources import Item

def _field_error(findings: list[Finding], path: str, code: str, message: str) -> None:
    findings.append(Finding(code, path, message))


def resolve_fields(
    item: Item, agency: Agency, files: Sequence[PreparedFile], main_inspection: Any,
) -> tuple[dict[str, Any], list[Finding]]:
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
    out["issuer"] = split_list(f.get("issuer", []), LIST_SEPARATORS)
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
        if not is_code_part(value):
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
        out["keywords"] = split_list(f["keywords"], KEYWORD_SEPARATORS)
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
