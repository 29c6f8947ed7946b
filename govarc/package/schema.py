"""record.xml's namespace and its XSD (``specs/record.xsd``), for those that check a record.

Apart from :mod:`govarc.package.metadata` (reading and writing records) so that verifying a
package loads only this (``govarc verify``'s start-up).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from govarc.xmlsafe import load_schema

NS = "urn:govarc:record:1"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "record.xsd"


@lru_cache(maxsize=1)
def record_schema() -> etree.XMLSchema:
    return load_schema(SCHEMA_PATH)


def schema_errors(tree: etree._ElementTree) -> list[str]:
    """Every XSD violation in ``tree`` as ``line N: message``; empty when valid."""
    schema = record_schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]
