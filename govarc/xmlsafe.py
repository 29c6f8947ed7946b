"""One hardened lxml parser factory: no entities, no DTD, no network, no huge trees."""

from __future__ import annotations

from pathlib import Path

from lxml import etree


def safe_parser() -> etree.XMLParser:
    """Return a parser that resolves no entities, loads no DTD and never touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_bytes(data: bytes) -> etree._ElementTree:
    """Parse XML bytes safely; a DOCTYPE is refused outright (no DTD has a place in our files)."""
    root = etree.fromstring(data, parser=safe_parser())
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise etree.XMLSyntaxError("DOCTYPE is not allowed", None, 1, 1, "")  # type: ignore[call-arg]
    return tree


def parse_file(path: Path) -> etree._ElementTree:
    """Parse an XML file safely (see :func:`parse_bytes`)."""
    return parse_bytes(path.read_bytes())


def load_schema(path: Path) -> etree.XMLSchema:
    """Load an XSD with the same hardened parser."""
    return etree.XMLSchema(parse_file(path))
