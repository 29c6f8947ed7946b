"""Read sidecars: the JSON or XML file beside a document that gives its record's fields.

Bounded by :mod:`govarc.limits` before it is read; keys are normalised to the record keys of
:mod:`govarc.package.metadata` (plus ``file`` and ``attachments``). See specs/ingest.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from govarc.fsutil import read_input
from govarc.limits import MAX_SIDECAR_BYTES, MAX_XML_DEPTH
from govarc.package.metadata import NS, check_limits, json_object, normalise_keys
from govarc.xmlsafe import parse_bytes

SIDECAR_SUFFIXES = (".json", ".xml")

# Register and sidecar keys beyond the record keys of govarc.package.metadata.
_EXTRA_ALIASES = {"文件名": "file", "计算机文件名": "file", "附件": "attachments"}


def normalised_keys(row: dict[Any, Any]) -> dict[str, Any]:
    """``row`` with its keys as record keys (``题名`` → ``title``, ``文件名`` → ``file``)."""
    renamed = {_EXTRA_ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in row.items() if k is not None}
    return normalise_keys(renamed)


def read_sidecar(path: Path, root: Path | None = None) -> dict[str, Any]:
    """Fields of a JSON or XML sidecar (a UTF-8 BOM allowed), their keys normalised.

    Raises :class:`~govarc.fsutil.UnsafeInputError` for a link, a special file or one over
    :data:`~govarc.limits.MAX_SIDECAR_BYTES`; :class:`~govarc.package.metadata.LimitExceededError`
    or :class:`~govarc.xmlsafe.XMLTooDeepError` for nesting, a field or a list over its limit;
    ValueError with a short reason when it does not parse.
    """
    data = read_input(path, root, max_bytes=MAX_SIDECAR_BYTES)
    if path.suffix.lower() == ".json":
        fields = normalised_keys(json_object(data))
    else:
        try:
            root_el = parse_bytes(data, max_depth=MAX_XML_DEPTH).getroot()
        except etree.XMLSyntaxError as e:
            raise ValueError(f"not well-formed XML: {e}") from None
        if root_el.tag != f"{{{NS}}}record":
            raise ValueError(f"XML sidecar root must be {{{NS}}}record")
        fields = normalised_keys(_xml_fields(root_el))
    check_limits(fields)
    return fields


def _xml_fields(root: etree._Element) -> dict[str, Any]:
    ns = {"r": NS}

    def text(path: str) -> str | None:
        return root.findtext(path, namespaces=ns)

    out: dict[str, Any] = {
        "title": text("r:title"), "document_number": text("r:documentNumber"), "date": text("r:date"),
        "classification": text("r:classification"), "retention": text("r:retention"),
        "page_count": text("r:pageCount"), "note": text("r:note"),
        "issuer": [e.text for e in root.iterfind("r:issuer", ns) if e.text],
        "keywords": [e.text for e in root.iterfind("r:keywords/r:keyword", ns) if e.text],
        "unit": text("r:archivalCode/r:unit"), "category": text("r:archivalCode/r:category"),
    }
    attachments = [e.findtext("r:name", namespaces=ns) for e in root.iterfind("r:files/r:file[@role='attachment']", ns)]
    if attachments:
        out["attachments"] = [a for a in attachments if a]
    return {k: v for k, v in out.items() if v not in (None, [], "")}
