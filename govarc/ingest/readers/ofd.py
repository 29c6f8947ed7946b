"""The OFD reader (GB/T 33190): pages, the text of the first pages, DocInfo, attachments."""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath

from lxml import etree

from govarc import formats
from govarc.ingest.readers.base import MAX_INFO_ENTRIES, MAX_TEXT_CHARS, Found, clean, parse_part

OFD_NS = formats.OFD_NAMESPACE


def package_path(base: PurePosixPath, loc: str) -> str:
    """A package path from an OFD ``ST_Loc``: absolute from the package root, or relative to ``base``."""
    p = PurePosixPath(loc.strip().replace("\\", "/"))
    parts = list(p.parts[1:] if p.is_absolute() else (base / p).parts)
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        elif part not in (".", ""):
            out.append(part)
    return "/".join(out)


def _q(local: str) -> str:
    return f"{{{OFD_NS}}}{local}"


def inspect_ofd(zf: zipfile.ZipFile, max_pages: int, found: Found) -> None:
    ofd = parse_part(zf, "OFD.xml")
    body = ofd.find(_q("DocBody"))
    if body is None:
        found.unreadable = "OFD.xml has no DocBody"
        return
    info = body.find(_q("DocInfo"))
    if info is not None:
        for child in info:
            if isinstance(child.tag, str) and len(found.info) < MAX_INFO_ENTRIES:
                text = clean("".join(child.itertext()))
                if text:
                    found.info[etree.QName(child).localname] = text
    doc_root = body.findtext(_q("DocRoot"))
    if not doc_root:
        found.unreadable = "OFD.xml names no DocRoot"
        return
    doc_name = package_path(PurePosixPath(), doc_root)
    doc = parse_part(zf, doc_name)
    base = PurePosixPath(doc_name).parent
    pages = doc.findall(f"{_q('Pages')}/{_q('Page')}")
    found.page_count = len(pages)
    texts = []
    for page in pages[:max_pages]:
        loc = page.get("BaseLoc")
        if loc:
            texts.append(_ofd_page_text(parse_part(zf, package_path(base, loc))))
    found.text = "\n".join(texts)[:MAX_TEXT_CHARS]
    attachments = doc.findtext(_q("Attachments"))
    if attachments:
        name = package_path(base, attachments)
        if name in zf.namelist() and parse_part(zf, name).find(f".//{_q('Attachment')}") is not None:
            found.active.add("EmbeddedFile")


def _ofd_page_text(content: etree._Element) -> str:
    """The text of one OFD page: TextCode in document order, a new line where the baseline moves."""
    lines: list[str] = []
    current: list[str] = []
    last_y: float | None = None
    for obj in content.iter(_q("TextObject")):
        y = _boundary_y(obj.get("Boundary"))
        if current and (y is None or last_y is None or abs(y - last_y) > 1.0):
            lines.append("".join(current))
            current = []
        last_y = y
        for code in obj.iter(_q("TextCode")):
            current.append(code.text or "")
    if current:
        lines.append("".join(current))
    return "\n".join(lines)


def _boundary_y(boundary: str | None) -> float | None:
    try:
        return float((boundary or "").split()[1])
    except (IndexError, ValueError):
        return None
