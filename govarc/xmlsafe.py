"""One hardened lxml parser factory: no entities, no DTD, no network, no huge trees."""

from __future__ import annotations

import io
from pathlib import Path

from lxml import etree


class XMLTooDeepError(ValueError):
    """XML nested deeper than a caller's limit (see :func:`parse_bytes`)."""


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


def check_depth(data: bytes, max_depth: int) -> None:
    """Raise :class:`XMLTooDeepError` when elements nest deeper than ``max_depth`` (the root is 1).

    Streams the elements and stops at the first one too deep, so the check costs no more than
    the document up to there; a document that is not well-formed before that is left to the parser.
    """
    depth = 0
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False)
    try:
        for event, el in events:
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise XMLTooDeepError(f"XML is nested more than {max_depth} levels deep")
            else:
                depth -= 1
                if depth > 1:
                    el.clear()
    except etree.XMLSyntaxError:
        return


def parse_bytes(data: bytes, *, max_depth: int | None = None) -> etree._ElementTree:
    """Parse XML bytes safely; a DOCTYPE is refused outright (no DTD has a place in our files).

    With ``max_depth``, a document nested deeper is :class:`XMLTooDeepError`, found before the tree is built.
    """
    if max_depth is not None:
        check_depth(data, max_depth)
    root = etree.fromstring(data, parser=safe_parser())
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise etree.XMLSyntaxError("DOCTYPE is not allowed", None, 1, 1, "")  # type: ignore[call-arg]
    return tree


def parse_file(path: Path) -> etree._ElementTree:
    """Parse an XML file of govarc's own (a schema) safely (see :func:`parse_bytes`)."""
    return parse_bytes(path.read_bytes())


def load_schema(path: Path) -> etree.XMLSchema:
    """Load an XSD with the same hardened parser."""
    return etree.XMLSchema(parse_file(path))
