"""What the signed XML documents govarc exchanges share: field checks, writing, hardened reading.

The transfer list and receipt (``govarc/transfer/documents.py``) and the exchange envelope and
receipt (``govarc/exchange/documents.py``) are each read and written the same way: semantic checks
on the values (:class:`Bad` for the first problem), the XSD on what is written and read, a size cap,
the hardened parser with a depth limit (``govarc/xmlsafe.py``). :class:`XmlDoc` holds one document
family's namespace, prefix and size limit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from lxml import etree

from govarc.errors import InvalidInputError
from govarc.limits import MAX_FIELD_CHARS, MAX_XML_DEPTH
from govarc.xmlsafe import XMLTooDeepError, parse_bytes

MAX_SIZE = 2**63 - 1
"""The largest byte count or size a document may state."""


class Bad(Exception):
    """One problem with a document's values; the caller turns it into an InvalidInputError naming the document."""


_T = TypeVar("_T")


def checked(check: Callable[[_T], None], value: _T, where: str) -> None:
    """Run the semantic ``check`` on a document about to be written; its :class:`Bad` becomes an
    InvalidInputError naming ``where``."""
    try:
        check(value)
    except Bad as bad:
        raise InvalidInputError(str(bad), where) from None


def text_field(value: object, what: str, *, empty: bool = False) -> str:
    """``value`` as a metadata text: at most MAX_FIELD_CHARS, no control characters, no surrounding blanks."""
    if not isinstance(value, str):
        raise Bad(f"{what} is not text")
    if len(value) > MAX_FIELD_CHARS:
        raise Bad(f"{what} is longer than {MAX_FIELD_CHARS} characters")
    if not empty and not value.strip():
        raise Bad(f"{what} is empty")
    if value != value.strip() and value.strip():
        raise Bad(f"{what} has leading or trailing white space")
    for ch in value:
        if (ord(ch) < 0x20 and ch not in "\t\n\r") or ch in "\ufffe\uffff" or 0xD800 <= ord(ch) <= 0xDFFF:
            raise Bad(f"{what} contains the control character U+{ord(ch):04X}")
    return value


def match_field(pattern: re.Pattern[str], value: object, what: str) -> str:
    """``value`` when it matches ``pattern`` whole."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise Bad(f"{what} {str(value)[:80]!r} is not valid (expected {pattern.pattern})")
    return value


def count_field(value: object, what: str, maximum: int = MAX_SIZE) -> int:
    """``value`` when it is a whole number from 0 to ``maximum`` (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > maximum:
        raise Bad(f"{what} {value!r} is not a whole number from 0 to {maximum}")
    return value


def timestamp_field(value: object, what: str) -> dt.datetime:
    """``value`` parsed as an ISO 8601 date and time that carries its offset."""
    if not isinstance(value, str) or len(value) > 64:
        raise Bad(f"{what} is not an ISO 8601 date and time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Bad(f"{what} {value!r} is not an ISO 8601 date and time") from None
    if parsed.tzinfo is None or "T" not in value:
        raise Bad(f"{what} {value!r} must be a date and time with its offset, e.g. 2026-11-30T02:00:00+08:00")
    return parsed


def schema_errors(tree: etree._ElementTree, schema: etree.XMLSchema) -> list[str]:
    """The schema's complaints about ``tree``, each with its line; empty when valid."""
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class XmlDoc:
    """One family of documents: its namespace, the prefix used in paths, and its size limit by name."""

    ns: str
    prefix: str
    max_bytes: int
    limit_name: str

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def root(self, name: str, **attrs: str) -> etree._Element:
        """A new document element ``name``, the family's namespace its default one."""
        return etree.Element(self.q(name), nsmap={None: self.ns}, attrib=attrs)  # type: ignore[dict-item]

    def sub(self, parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        el = etree.SubElement(parent, self.q(name), attrib=attrs or None)  # type: ignore[arg-type]
        if text is not None:
            el.text = text
        return el

    def serialize(self, root: etree._Element, schema: etree.XMLSchema, what: str, hint: str = "") -> bytes:
        """``root`` as UTF-8 XML; InvalidInputError when it is not valid or over the size limit."""
        errors = schema_errors(root.getroottree(), schema)
        if errors:  # the semantic checks passed, so this is a bug in the writer, not in the caller's data
            raise InvalidInputError(f"the {what} written is not valid against its schema: {errors[0]}")
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        if len(data) > self.max_bytes:
            raise InvalidInputError(f"the {what} would be {len(data)} bytes, more than {self.limit_name} "
                                    f"({self.max_bytes}){hint}")
        return data

    def parse(self, data: bytes, where: str, root_name: str, schema: etree.XMLSchema, what: str) -> etree._Element:
        """Read a document: size cap, hardened parser with a depth limit, root element, schema."""
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidInputError(f"the {what} is not bytes", where)
        if len(data) > self.max_bytes:
            raise InvalidInputError(f"the {what} is {len(data)} bytes, more than {self.limit_name} "
                                    f"({self.max_bytes})", where)
        try:
            tree = parse_bytes(bytes(data), max_depth=MAX_XML_DEPTH)
        except XMLTooDeepError as e:
            raise InvalidInputError(f"the {what} is not acceptable: {e}", where) from None
        except (etree.XMLSyntaxError, ValueError) as e:
            raise InvalidInputError(f"the {what} is not well-formed XML: {str(e)[:200]}", where) from None
        root = tree.getroot()
        if root.tag != self.q(root_name):
            article = "an" if what[:1] in "aeiou" else "a"
            raise InvalidInputError(f"not {article} {what}: the root element is {str(root.tag)[:100]}, "
                                    f"not {{{self.ns}}}{root_name}", where)
        errors = schema_errors(tree, schema)
        if errors:
            raise InvalidInputError(f"the {what} is not valid against its schema: {errors[0][:300]}", where)
        return root

    def get(self, el: etree._Element, path: str) -> str:
        """The text at ``path`` (written with this family's prefix), or "" when absent."""
        found = el.find(path, namespaces={self.prefix: self.ns})
        return (found.text or "") if found is not None else ""

    def opt(self, el: etree._Element, path: str) -> str | None:
        """The text at ``path``, or None when the element is absent."""
        found = el.find(path, namespaces={self.prefix: self.ns})
        return (found.text or "") if found is not None else None
