"""The record: DA/T 46 metadata of one filed item, read from JSON or XML and written as record.xml.

``specs/record.xsd`` is the schema; element names are English with the DA/T 46 label documented
beside each. JSON input accepts the English keys below or their Chinese labels.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lxml import etree

from govarc.domain import METADATA_SEPARATORS, ArchivalCode, Classification, Retention, is_agency_code, split_list
from govarc.errors import MetadataError
from govarc.fsutil import UnsafeInputError, read_input
from govarc.limits import MAX_FIELD_CHARS, MAX_JSON_DEPTH, MAX_LIST_ITEMS, MAX_SIDECAR_BYTES, MAX_XML_DEPTH
from govarc.package.schema import NS, SCHEMA_PATH, record_schema, schema_errors  # noqa: F401 (kept importable from here)
from govarc.xmlsafe import XMLTooDeepError, check_depth, parse_bytes

_Q = "{%s}" % NS


@dataclass(frozen=True)
class FileInfo:
    """电子属性 of one payload file; ``name`` is the path below ``data/``."""

    name: str
    size: int
    mime: str
    format_name: str
    format_version: str | None
    digests: tuple[tuple[str, str], ...]
    role: str = "main"

    def digest(self, algorithm: str) -> str | None:
        return dict(self.digests).get(algorithm)


@dataclass(frozen=True)
class Record:
    """One record's descriptive metadata; ``files`` is filled in by the package builder."""

    archival_code: ArchivalCode
    title: str
    agency_code: str
    fonds_name: str
    creator_name: str
    issuers: tuple[str, ...]
    date: dt.date
    classification: Classification
    document_number: str | None = None
    item_count: int = 1
    page_count: int | None = None
    keywords: tuple[str, ...] = ()
    note: str | None = None
    main_file: str | None = None
    aggregation_level: str = "件"
    files: tuple[FileInfo, ...] = field(default=())

    @property
    def retention(self) -> Retention:
        return self.archival_code.retention

    def with_files(self, files: tuple[FileInfo, ...]) -> Record:
        return replace(self, files=files)


# English key -> Chinese aliases accepted in JSON sidecars and registers.
KEY_ALIASES: dict[str, tuple[str, ...]] = {
    "archival_code": ("档号",),
    "fonds": ("全宗号",),
    "category": ("门类代码", "档案门类代码"),
    "year": ("年度",),
    "retention": ("保管期限",),
    "unit": ("机构问题代码", "机构(问题)代码", "机构代码(问题)", "机构或问题"),
    "item_number": ("件号",),
    "title": ("题名",),
    "document_number": ("文件编号", "发文字号"),
    "issuer": ("责任者", "issuers"),
    "date": ("日期", "成文日期"),
    "classification": ("密级",),
    "item_count": ("件数",),
    "page_count": ("页数",),
    "keywords": ("主题词",),
    "note": ("附注",),
    "agency_code": ("机构标识", "agency", "立档单位代码"),
    "fonds_name": ("全宗名称",),
    "creator_name": ("立档单位名称", "立档单位"),
    "main": ("正文", "main_file"),
}
_ALIAS_TO_KEY = {alias: key for key, aliases in KEY_ALIASES.items() for alias in (key, *aliases)}


def normalise_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Map Chinese or English keys onto the English ones; unknown keys are kept as they are."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = _ALIAS_TO_KEY.get(str(k).strip(), str(k).strip())
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        out[key] = v
    return out


class LimitExceededError(ValueError):
    """Metadata over a limit of :mod:`govarc.limits` (a field's length, a list's items, JSON depth).

    Ingest refuses it as ``INGEST_TOO_LARGE``; :func:`record_from_dict` and :func:`load_metadata`
    raise it as a :class:`~govarc.errors.MetadataError`. The message names the field and the limit.
    """


LIST_KEYS = ("issuer", "keywords", "attachments")
"""Keys whose value is a list (or one string of items separated by ``;``): at most ``MAX_LIST_ITEMS`` items."""

# A list given as one string ("a;b;c") may hold MAX_LIST_ITEMS items of MAX_FIELD_CHARS each.
_MAX_LIST_STRING = MAX_LIST_ITEMS * (MAX_FIELD_CHARS + 1)


def field_label(key: str) -> str:
    """``题名 (title)``: how a message names a field."""
    label = "附件" if key == "attachments" else "文件名" if key == "file" else KEY_ALIASES.get(key, ("",))[0]
    return f"{label} ({key})" if label else key


def check_limits(data: dict[str, Any]) -> None:
    """Raise :class:`LimitExceededError` for the first field of ``data`` (normalised keys) over a limit.

    Every value of a known key (a record key, ``file`` or ``attachments``) is at most
    :data:`~govarc.limits.MAX_FIELD_CHARS` characters; a list has at most
    :data:`~govarc.limits.MAX_LIST_ITEMS` items of that length. Unknown keys are ignored, as
    their values are. Measures without copying, so a hostile value costs no more memory than it has.
    """
    for key, value in data.items():
        if key not in KEY_ALIASES and key not in ("file", "attachments"):
            continue
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_LIST_ITEMS:
                raise LimitExceededError(
                    f"{field_label(key)} has {len(value):,} items, over the limit of {MAX_LIST_ITEMS:,}")
            for v in value:
                _check_chars(key, v, MAX_FIELD_CHARS)
        else:
            _check_chars(key, value, _MAX_LIST_STRING if key in LIST_KEYS else MAX_FIELD_CHARS)


def _check_chars(key: str, value: Any, limit: int) -> None:
    n = len(value) if isinstance(value, str) else len(str(value)) if not isinstance(value, (int, float)) else 0
    if n > limit:
        raise LimitExceededError(f"{field_label(key)} has {n:,} characters, over the limit of {limit:,}")


def check_list(key: str, items: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`LimitExceededError` when a list field, once split, is over its limits."""
    if len(items) > MAX_LIST_ITEMS:
        raise LimitExceededError(f"{field_label(key)} has {len(items):,} items, over the limit of {MAX_LIST_ITEMS:,}")
    for item in items:
        _check_chars(key, item, MAX_FIELD_CHARS)


def parse_date(value: Any) -> dt.date:
    """A date from ISO ``2007-03-05``, ``2007/3/5``, ``20070305`` or ``2007年3月5日``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if not m:
        raise MetadataError(f"date {value!r} is not a date like 2007-03-05")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise MetadataError(f"date {value!r} is not a real date") from None


def _int(value: Any, name: str, minimum: int) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise MetadataError(f"{name} {value!r} is not a whole number") from None
    if n < minimum:
        raise MetadataError(f"{name} {value!r} is below {minimum}")
    return n


def _required(d: dict[str, Any], key: str) -> str:
    if key not in d:
        label = KEY_ALIASES.get(key, ("",))[0]
        raise MetadataError(f"required field {key} ({label}) is missing")
    return str(d[key]).strip()


def record_from_dict(data: dict[str, Any]) -> Record:
    """Build a :class:`Record` from a mapping with English or Chinese keys.

    Every field is bounded (:func:`check_limits`): what is over a limit is a MetadataError, so
    an oversized record is never packaged and signed.
    """
    d = normalise_keys(data)
    try:
        check_limits(d)
        record = _record_from_dict(d)
        check_list("issuer", record.issuers)
        check_list("keywords", record.keywords)
    except LimitExceededError as e:
        raise MetadataError(str(e)) from None
    return record


def _record_from_dict(d: dict[str, Any]) -> Record:
    if "archival_code" in d:
        code = ArchivalCode.parse(d["archival_code"])
    else:
        for part in ("fonds", "category", "year", "retention", "unit", "item_number"):
            _required(d, part)
        code = ArchivalCode.parse(
            f"{d['fonds']}-{d['category']}·{d['year']}-{Retention.parse(d['retention']).value}-{d['unit']}-{d['item_number']}"
        )
    if "retention" in d and Retention.parse(d["retention"]) != code.retention:
        raise MetadataError(f"retention {d['retention']!r} disagrees with archival code {code}")
    issuers = tuple(split_list(_required(d, "issuer") if not isinstance(d.get("issuer"), list) else d["issuer"],
                              METADATA_SEPARATORS))
    if not issuers:
        raise MetadataError("required field issuer (责任者) is empty")
    agency = _required(d, "agency_code")
    if not is_agency_code(agency):
        raise MetadataError(f"agency code {agency!r} must be 1-32 letters, digits or hyphens")
    return Record(
        archival_code=code,
        title=_required(d, "title"),
        agency_code=agency,
        fonds_name=_required(d, "fonds_name"),
        creator_name=_required(d, "creator_name"),
        issuers=issuers,
        date=parse_date(_required(d, "date")),
        classification=Classification.parse(_required(d, "classification")),
        document_number=str(d["document_number"]).strip() if "document_number" in d else None,
        item_count=_int(d.get("item_count", 1), "item count (件数)", 1),
        page_count=_int(d["page_count"], "page count (页数)", 0) if "page_count" in d else None,
        keywords=tuple(split_list(d["keywords"], METADATA_SEPARATORS)) if "keywords" in d else (),
        note=str(d["note"]).strip() if "note" in d else None,
        main_file=str(d["main"]).strip() if "main" in d else None,
    )


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _Q + tag, **attrs)
    if text is not None:
        el.text = text
    return el


def record_to_xml(record: Record) -> bytes:
    """record.xml bytes (UTF-8, pretty-printed) for ``record``; valid against record.xsd."""
    root = etree.Element(_Q + "record", nsmap={None: NS}, profileVersion="1")
    _sub(root, "aggregationLevel", record.aggregation_level)
    prov = _sub(root, "provenance")
    _sub(prov, "fondsName", record.fonds_name)
    _sub(prov, "creatorName", record.creator_name)
    _sub(prov, "agencyCode", record.agency_code)
    c = record.archival_code
    ac = _sub(root, "archivalCode", value=str(c))
    _sub(ac, "fonds", c.fonds)
    _sub(ac, "category", c.category)
    _sub(ac, "year", f"{c.year:04d}")
    _sub(ac, "retention", c.retention.value)
    _sub(ac, "unit", c.unit)
    _sub(ac, "itemNumber", str(c.item))
    _sub(root, "title", record.title)
    if record.document_number:
        _sub(root, "documentNumber", record.document_number)
    for issuer in record.issuers:
        _sub(root, "issuer", issuer)
    _sub(root, "date", record.date.isoformat())
    _sub(root, "classification", record.classification.value)
    _sub(root, "retention", record.retention.value)
    _sub(root, "itemCount", str(record.item_count))
    if record.page_count is not None:
        _sub(root, "pageCount", str(record.page_count))
    if record.keywords:
        kw = _sub(root, "keywords")
        for k in record.keywords:
            _sub(kw, "keyword", k)
    if record.note:
        _sub(root, "note", record.note)
    # <files> needs at least one <file>; a record not yet packaged has none, so it has no <files>.
    files = _sub(root, "files") if record.files else root
    for f in record.files:
        fe = _sub(files, "file", role=f.role)
        _sub(fe, "name", f.name)
        _sub(fe, "size", str(f.size))
        fmt = _sub(fe, "format")
        _sub(fmt, "mime", f.mime)
        _sub(fmt, "name", f.format_name)
        if f.format_version:
            _sub(fmt, "version", f.format_version)
        for alg, hexd in f.digests:
            _sub(fe, "digest", hexd, algorithm=alg)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path, namespaces={"r": NS})
    return found.text if found is not None else None


def record_from_xml(data: bytes) -> Record:
    """Parse and validate record.xml bytes into a :class:`Record` (files included)."""
    try:
        tree = parse_bytes(data)
    except etree.XMLSyntaxError as e:
        raise MetadataError(f"not well-formed XML: {e}") from None
    errors = schema_errors(tree)
    if errors:
        raise MetadataError(f"not valid against record.xsd: {errors[0]}")
    root = tree.getroot()
    ns = {"r": NS}
    files = []
    for fe in root.iterfind("r:files/r:file", ns):
        files.append(
            FileInfo(
                name=_text(fe, "r:name") or "",
                size=int(_text(fe, "r:size") or 0),
                mime=_text(fe, "r:format/r:mime") or "",
                format_name=_text(fe, "r:format/r:name") or "",
                format_version=_text(fe, "r:format/r:version"),
                digests=tuple((d.get("algorithm"), d.text) for d in fe.iterfind("r:digest", ns)),
                role=fe.get("role", "main"),
            )
        )
    page = _text(root, "r:pageCount")
    return Record(
        archival_code=ArchivalCode.parse(root.find("r:archivalCode", ns).get("value")),  # type: ignore[union-attr]
        title=_text(root, "r:title") or "",
        agency_code=_text(root, "r:provenance/r:agencyCode") or "",
        fonds_name=_text(root, "r:provenance/r:fondsName") or "",
        creator_name=_text(root, "r:provenance/r:creatorName") or "",
        issuers=tuple(e.text for e in root.iterfind("r:issuer", ns)),
        date=dt.date.fromisoformat(_text(root, "r:date") or ""),
        classification=Classification(_text(root, "r:classification")),
        document_number=_text(root, "r:documentNumber"),
        item_count=int(_text(root, "r:itemCount") or 1),
        page_count=int(page) if page is not None else None,
        keywords=tuple(e.text for e in root.iterfind("r:keywords/r:keyword", ns)),
        note=_text(root, "r:note"),
        aggregation_level=_text(root, "r:aggregationLevel") or "件",
        files=tuple(files),
    )


# A JSON string (escapes included): what json_depth skips over. Unrolled, so it never backtracks.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of the arrays and objects of a JSON text, counted up to ``limit + 1``.

    A scan of the brackets outside strings, in constant stack: the depth is known before
    :func:`json.loads` recurses (it raises RecursionError near 1,000 levels).
    """
    depth = deepest = 0
    for m in _JSON_BRACKETS.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def json_object(data: bytes) -> dict[str, Any]:
    """A JSON object from UTF-8 bytes (a BOM allowed); ValueError with a short reason otherwise.

    Nested deeper than :data:`~govarc.limits.MAX_JSON_DEPTH` is :class:`LimitExceededError`.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid JSON: {e}") from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise LimitExceededError(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    import json  # here, not at import: verifying a package reads no JSON

    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError("JSON metadata must be an object")
    return obj


def load_metadata(path: Path) -> Record:
    """Read a metadata file: JSON (English or Chinese keys) or XML in the record schema.

    An XML file given as input may omit nothing the schema requires except that its ``files``
    list is replaced by what the builder finds; so it must still be valid on its own.
    """
    try:
        data = read_input(path, max_bytes=MAX_SIDECAR_BYTES)
    except UnsafeInputError as e:
        raise MetadataError(f"metadata file {e.message}", str(path)) from None
    except OSError as e:
        raise MetadataError(f"cannot read metadata: {e.strerror}", str(path)) from None
    try:
        if data.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"<":
            try:
                check_depth(data, MAX_XML_DEPTH)
            except XMLTooDeepError as e:
                raise MetadataError(str(e)) from None
            return record_from_xml(data)
        try:
            return record_from_dict(json_object(data))
        except ValueError as e:
            raise MetadataError(str(e)) from None
    except MetadataError as e:
        raise MetadataError(e.message, str(path)) from None
