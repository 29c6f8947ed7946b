"""What the readers of :mod:`govarc.ingest.inspect` share: what they found, the caps on what they read.

Each reader (one module per format family) fills a :class:`Found` from an open file and never
raises for a bad document: what cannot be read becomes :attr:`Found.unreadable`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from govarc import formats, xmlsafe
from govarc.formats import FormatInfo

MAX_TEXT_CHARS = 20_000
MAX_INFO_ENTRIES = 64
MAX_INFO_CHARS = 2_000
# Decompressed bytes read from one XML part of an OFD or office file (text is capped anyway).
MAX_PART_BYTES = 16 * 1024 * 1024


@dataclass
class Found:
    """What a reader found in one file (see :class:`govarc.ingest.inspect.Inspection`)."""

    page_count: int | None = None
    text: str = ""
    last_page_text: str = ""
    info: dict[str, str] = field(default_factory=dict)
    encrypted: bool = False
    active: set[str] = field(default_factory=set)
    unreadable: str | None = None
    format: FormatInfo | None = None


def short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    msg = msg[:200]
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def clean(value: Any) -> str:
    return str(value).replace("\x00", "").strip()[:MAX_INFO_CHARS]


def parse_part(zf: zipfile.ZipFile, name: str) -> etree._Element:
    data = formats.read_entry(zf, name, MAX_PART_BYTES + 1)
    if len(data) > MAX_PART_BYTES:
        raise ValueError(f"{name} is larger than {MAX_PART_BYTES} bytes")
    return xmlsafe.parse_bytes(data).getroot()


def xml_text(zf: zipfile.ZipFile, name: str, paragraphs: set[str], render: Callable[[etree._Element], str]) -> str:
    """Stream an XML part, one line per paragraph, until :data:`MAX_TEXT_CHARS` characters."""
    if name not in zf.namelist():
        return ""
    out: list[str] = []
    size = 0
    with zf.open(name) as f:
        for _event, el in formats.iter_xml(f, MAX_PART_BYTES, ("end",)):
            if el.tag not in paragraphs:
                continue
            piece = render(el) + "\n"
            el.clear(keep_tail=True)  # free what has been read: documents can be long
            out.append(piece)
            size += len(piece)
            if size >= MAX_TEXT_CHARS:
                break
    return "".join(out)[:MAX_TEXT_CHARS]


