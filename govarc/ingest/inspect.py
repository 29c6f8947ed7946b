"""Read what a document says: format, pages, text, metadata, encryption and active content.

:func:`inspect_file` never raises for a bad document: what cannot be read is reported in
:attr:`Inspection.unreadable`, so one broken file never stops a batch. Only the first pages'
text is extracted (pypdf text extraction is the slow part of ingest).

:func:`govarc.ingest.text.find_document_number` and :func:`~govarc.ingest.text.find_date` pick the 发文字号 and the 成文日期 out of that
text (GB/T 9704-2012); :func:`compare` reports where they disagree with the record's metadata.
"""

from __future__ import annotations

import datetime as dt
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from govarc import formats, xmlsafe
from govarc.formats import FormatInfo
from govarc.fsutil import open_input
from govarc.ingest.text import find_date, find_document_number, normalise_document_number

MAX_TEXT_CHARS = 20_000
MAX_INFO_ENTRIES = 64
MAX_INFO_CHARS = 2_000
# Decompressed bytes read from one XML part of an OFD or office file (text is capped anyway).
MAX_PART_BYTES = 16 * 1024 * 1024
# Objects visited when looking for actions: bounds the work on a hostile PDF.
MAX_ACTION_NODES = 100_000
MAX_TIFF_PAGES = 100_000

OFD_NS = formats.OFD_NAMESPACE
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODF_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


@dataclass(frozen=True)
class Inspection:
    """What one file is and says.

    ``pdf_info`` is the document-level metadata as text: the PDF info dictionary (keys without the
    slash, dates as written, e.g. ``D:20070305…``) completed from the XMP packet, or an OFD's
    ``DocInfo``, or an OOXML file's core properties. ``active_content`` lists, sorted, what can act
    on its own: ``JavaScript`` (name tree, additional actions, annotations), ``OpenAction
    JavaScript``, ``Launch``, ``EmbeddedFile`` (PDF embedded files or file attachment annotations,
    OFD attachments, OLE objects in an office file), ``Macro`` (a VBA project). ``unreadable`` is a
    short reason when the file is empty, truncated or does not parse as its format; ``encrypted``
    files are not read further and are not also marked unreadable.
    """

    path: Path
    format: FormatInfo
    extension_ok: bool
    page_count: int | None = None
    text: str = ""
    document_number: str | None = None
    date: dt.date | None = None
    pdf_info: dict[str, str] = field(default_factory=dict, hash=False)
    encrypted: bool = False
    active_content: tuple[str, ...] = ()
    unreadable: str | None = None


@dataclass
class _Found:
    page_count: int | None = None
    text: str = ""
    last_page_text: str = ""
    info: dict[str, str] = field(default_factory=dict)
    encrypted: bool = False
    active: set[str] = field(default_factory=set)
    unreadable: str | None = None
    format: FormatInfo | None = None


def inspect_file(path: str | Path, *, max_pages: int = 2, root: Path | None = None) -> Inspection:
    """Inspect one file: identify it and read its first ``max_pages`` pages.

    The date is looked for in the first pages and, for a longer PDF, on its last page, where the
    成文日期 of a multi-page document is printed (see :func:`find_date`). The file is opened as
    :func:`govarc.fsutil.open_input` does (below ``root`` when given): never a link, never a FIFO
    or device. Raises :class:`OSError` only when the file itself cannot be opened
    (:class:`~govarc.fsutil.UnsafeInputError` when it is not a regular file).
    """
    path = Path(path)
    with open_input(path, root) as f:
        return inspect_stream(f, path, max_pages=max_pages)


def inspect_stream(f: IO[bytes], path: Path, *, max_pages: int = 2) -> Inspection:
    """:func:`inspect_file` on a file already open (at its start, seekable); ``path`` names it."""
    found = _Found()
    head = f.read(formats.HEAD_SIZE)
    fmt = formats.identify_head(head)
    if not head:
        found.unreadable = "empty file"
    elif fmt.mime == "application/pdf":
        _inspect_pdf(f, head, max_pages, found)
    elif head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        _inspect_zip(f, max_pages, found)
    elif fmt.mime in ("image/jpeg", "image/png", "image/gif", "image/bmp"):
        found.page_count = 1
    elif fmt.mime == "image/tiff":
        found.page_count = _tiff_pages(f, head)
    elif fmt.mime.startswith("text/") and fmt.mime not in ("text/html", "text/xml", "text/rtf"):
        found.text = _decode_text(head + f.read(MAX_TEXT_CHARS * 4 - len(head)))[:MAX_TEXT_CHARS]
    if found.format is None:
        found.format = formats.refine_head(head, fmt)
    fmt = found.format
    text = found.text
    number = find_document_number(text)
    date = find_date(text)
    if date is None and found.last_page_text:
        date = find_date(found.last_page_text)
    return Inspection(
        path=path, format=fmt, extension_ok=formats.extension_matches(path, fmt),
        page_count=found.page_count, text=text, document_number=number, date=date,
        pdf_info=found.info, encrypted=found.encrypted, active_content=tuple(sorted(found.active)),
        unreadable=found.unreadable,
    )


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    msg = msg[:200]
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def _decode_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError as e:
            # A multi-byte character cut at the end of the read is not a decoding failure.
            if e.start >= len(data) - 4:
                return data[: e.start].decode(enc, "replace")
    return data.decode("utf-8", "replace")


# -- PDF ---------------------------------------------------------------------------------------

def _inspect_pdf(f: IO[bytes], head: bytes, max_pages: int, found: _Found) -> None:
    found.format = formats.pdf_format(head)
    f.seek(0, 2)
    size = f.tell()
    f.seek(max(0, size - 1024))
    if b"%%EOF" not in f.read():
        # pypdf (strict=False) would rebuild a cut file from what is left; the archive should not.
        found.unreadable = "truncated: no %%EOF at the end of the PDF"
        return
    f.seek(0)
    try:
        reader = PdfReader(f, strict=False)
        if reader.is_encrypted:
            found.encrypted = True
            found.page_count = _encrypted_page_count(reader)
            return
        xmp, version = formats.pdf_xmp_and_version(reader)
        found.format = formats.pdf_format(head, xmp, version)
        pages = reader.pages
        found.page_count = len(pages)
        found.info = _pdf_info(reader, xmp)
        _pdf_active_content(reader, found.active)
    except Exception as e:  # noqa: BLE001 - pypdf raises many types (KeyError, ValueError, …) on hostile input
        found.unreadable = f"cannot parse the PDF ({_short(e)})"
        return
    texts = []
    for i in range(min(max_pages, found.page_count)):
        try:
            texts.append(pages[i].extract_text() or "")
        except Exception as e:  # noqa: BLE001 - as above
            found.unreadable = f"cannot read the text of page {i + 1} ({_short(e)})"
            return
        if sum(len(t) for t in texts) >= MAX_TEXT_CHARS:
            break
    found.text = "\n".join(texts)[:MAX_TEXT_CHARS]
    if found.page_count > max_pages and find_date(found.text) is None:
        try:
            found.last_page_text = (pages[found.page_count - 1].extract_text() or "")[:MAX_TEXT_CHARS]
        except Exception:  # noqa: BLE001 - the last page only serves the date; its failure is not fatal
            found.last_page_text = ""


def _encrypted_page_count(reader: PdfReader) -> int | None:
    # An empty user password (only an owner password set) still lets the page tree be read.
    try:
        if reader.decrypt(""):
            return len(reader.pages)
    except Exception:  # noqa: BLE001 - unknown handlers, missing crypto backends
        pass
    return None


_INFO_KEYS = ("Title", "Author", "Subject", "Keywords", "Creator", "Producer", "CreationDate", "ModDate")
_XMP_FIELDS = {
    "Title": ("http://purl.org/dc/elements/1.1/", "title"),
    "Author": ("http://purl.org/dc/elements/1.1/", "creator"),
    "Subject": ("http://purl.org/dc/elements/1.1/", "description"),
    "Keywords": ("http://ns.adobe.com/pdf/1.3/", "Keywords"),
    "Creator": ("http://ns.adobe.com/xap/1.0/", "CreatorTool"),
    "Producer": ("http://ns.adobe.com/pdf/1.3/", "Producer"),
    "CreationDate": ("http://ns.adobe.com/xap/1.0/", "CreateDate"),
    "ModDate": ("http://ns.adobe.com/xap/1.0/", "ModifyDate"),
}


def _clean(value: Any) -> str:
    return str(value).replace("\x00", "").strip()[:MAX_INFO_CHARS]


def _pdf_info(reader: PdfReader, xmp: bytes | None) -> dict[str, str]:
    info: dict[str, str] = {}
    raw: Any
    try:
        raw = reader.trailer.get("/Info")
        raw = raw.get_object() if raw is not None else None
    except Exception:  # noqa: BLE001 - a broken /Info is ignored, not fatal
        raw = None
    if isinstance(raw, DictionaryObject):
        for key in list(raw.keys())[:MAX_INFO_ENTRIES]:
            value: Any
            try:
                value = raw[key]
                value = value.get_object() if hasattr(value, "get_object") else value
            except Exception:  # noqa: BLE001 - as above
                continue
            if isinstance(value, (DictionaryObject, ArrayObject)):
                continue
            text = _clean(value)
            if text:
                info[str(key).lstrip("/")] = text
    if xmp and len(xmp) <= formats.MAX_XMP_BYTES:
        try:
            root = xmlsafe.parse_bytes(xmp.strip(b"\x00 \t\r\n")).getroot()
        except (etree.XMLSyntaxError, ValueError):
            root = None
        if root is not None:
            for key, (ns, local) in _XMP_FIELDS.items():
                if key not in info:
                    xmp_value = _xmp_text(root, ns, local)
                    if xmp_value:
                        info[key] = xmp_value
    return info


def _xmp_text(root: etree._Element, ns: str, local: str) -> str | None:
    # dc:title and dc:creator hold rdf:Alt/rdf:Seq lists: the first item is the value.
    found = formats.find_xmp(root, ns, local)
    if found is None:
        return None
    if isinstance(found, str):
        return _clean(found) or None
    items = list(found.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"))
    return _clean("".join(items[0].itertext()) if items else "".join(found.itertext())) or None


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_ACTION_NODES

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _resolve(obj: Any) -> Any:
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _actions(action: Any, budget: _Budget, seen: set[int]) -> list[str]:
    """The types (``/S``) of an action and of the actions chained after it by ``/Next``."""
    out: list[str] = []
    stack = [action]
    while stack and budget.spend():
        node = _resolve(stack.pop())
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, DictionaryObject):
            kind = node.get("/S")
            if kind is not None:
                out.append(str(_resolve(kind)))
            nxt = node.get("/Next")
            if nxt is not None:
                stack.append(nxt)
    return out


def _note(kinds: list[str], active: set[str], js_label: str = "JavaScript") -> None:
    for k in kinds:
        if k == "/JavaScript":
            active.add(js_label)
        elif k == "/Launch":
            active.add("Launch")


def _name_tree_has_entries(node: Any, budget: _Budget, seen: set[int]) -> bool:
    stack = [node]
    while stack and budget.spend():
        n = _resolve(stack.pop())
        if id(n) in seen or not isinstance(n, DictionaryObject):
            continue
        seen.add(id(n))
        names = _resolve(n.get("/Names"))
        if isinstance(names, ArrayObject) and len(names) > 0:
            return True
        kids = _resolve(n.get("/Kids"))
        if isinstance(kids, ArrayObject):
            stack.extend(kids)
    return False


def _pdf_active_content(reader: PdfReader, active: set[str]) -> None:
    budget = _Budget()
    seen: set[int] = set()
    root = _resolve(reader.trailer["/Root"])
    names = _resolve(root.get("/Names"))
    if isinstance(names, DictionaryObject):
        if "/JavaScript" in names and _name_tree_has_entries(names["/JavaScript"], budget, seen):
            active.add("JavaScript")
        if "/EmbeddedFiles" in names and _name_tree_has_entries(names["/EmbeddedFiles"], budget, seen):
            active.add("EmbeddedFile")
    open_action = root.get("/OpenAction")
    if open_action is not None:
        _note(_actions(open_action, budget, seen), active, "OpenAction JavaScript")
    _additional_actions(root.get("/AA"), active, budget, seen)
    for page in reader.pages:
        if not budget.spend():
            break
        _additional_actions(page.get("/AA"), active, budget, seen)
        annots = _resolve(page.get("/Annots"))
        if not isinstance(annots, ArrayObject):
            continue
        for a in annots:
            annot = _resolve(a)
            if not isinstance(annot, DictionaryObject) or not budget.spend():
                continue
            if annot.get("/Subtype") == "/FileAttachment":
                active.add("EmbeddedFile")
            if "/A" in annot:
                _note(_actions(annot["/A"], budget, seen), active)
            _additional_actions(annot.get("/AA"), active, budget, seen)


def _additional_actions(aa: Any, active: set[str], budget: _Budget, seen: set[int]) -> None:
    aa = _resolve(aa)
    if isinstance(aa, DictionaryObject):
        for trigger in list(aa.values()):
            _note(_actions(trigger, budget, seen), active)


# -- ZIP containers: OFD, OOXML, ODF ----------------------------------------------------------

def _inspect_zip(f: IO[bytes], max_pages: int, found: _Found) -> None:
    f.seek(0)
    try:
        with zipfile.ZipFile(f) as zf:
            fmt = formats.identify_open_zip(zf)
            found.format = fmt
            if fmt.mime == formats.OFD_MIME:
                _inspect_ofd(zf, max_pages, found)
            elif fmt.mime in formats.OOXML_MAIN_PARTS.values():
                _inspect_ooxml(zf, fmt, found)
            elif fmt.mime.startswith("application/vnd.oasis.opendocument."):
                found.text = _xml_text(zf, "content.xml", {f"{{{ODF_TEXT_NS}}}p", f"{{{ODF_TEXT_NS}}}h"}, _odf_paragraph)
    except formats.ZIP_ERRORS + (etree.XMLSyntaxError,) as e:
        found.unreadable = f"cannot read the container ({_short(e)})"


def _part(base: PurePosixPath, loc: str) -> str:
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


def _parse_part(zf: zipfile.ZipFile, name: str) -> etree._Element:
    data = formats.read_entry(zf, name, MAX_PART_BYTES + 1)
    if len(data) > MAX_PART_BYTES:
        raise ValueError(f"{name} is larger than {MAX_PART_BYTES} bytes")
    return xmlsafe.parse_bytes(data).getroot()


def _q(local: str) -> str:
    return f"{{{OFD_NS}}}{local}"


def _inspect_ofd(zf: zipfile.ZipFile, max_pages: int, found: _Found) -> None:
    ofd = _parse_part(zf, "OFD.xml")
    body = ofd.find(_q("DocBody"))
    if body is None:
        found.unreadable = "OFD.xml has no DocBody"
        return
    info = body.find(_q("DocInfo"))
    if info is not None:
        for child in info:
            if isinstance(child.tag, str) and len(found.info) < MAX_INFO_ENTRIES:
                text = _clean("".join(child.itertext()))
                if text:
                    found.info[etree.QName(child).localname] = text
    doc_root = body.findtext(_q("DocRoot"))
    if not doc_root:
        found.unreadable = "OFD.xml names no DocRoot"
        return
    doc_name = _part(PurePosixPath(), doc_root)
    doc = _parse_part(zf, doc_name)
    base = PurePosixPath(doc_name).parent
    pages = doc.findall(f"{_q('Pages')}/{_q('Page')}")
    found.page_count = len(pages)
    texts = []
    for page in pages[:max_pages]:
        loc = page.get("BaseLoc")
        if loc:
            texts.append(_ofd_page_text(_parse_part(zf, _part(base, loc))))
    found.text = "\n".join(texts)[:MAX_TEXT_CHARS]
    attachments = doc.findtext(_q("Attachments"))
    if attachments:
        name = _part(base, attachments)
        if name in zf.namelist() and _parse_part(zf, name).find(f".//{_q('Attachment')}") is not None:
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


def _inspect_ooxml(zf: zipfile.ZipFile, fmt: FormatInfo, found: _Found) -> None:
    names = zf.namelist()
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        found.active.add("Macro")
    if any("/embeddings/" in n.lower() for n in names):
        found.active.add("EmbeddedFile")
    if "docProps/core.xml" in names:
        core = _parse_part(zf, "docProps/core.xml")
        for key, local in (("Title", "title"), ("Author", "creator"), ("Subject", "subject"),
                           ("Keywords", "keywords"), ("CreationDate", "created"), ("ModDate", "modified")):
            for el in core:
                if isinstance(el.tag, str) and etree.QName(el).localname == local:
                    text = _clean("".join(el.itertext()))
                    if text:
                        found.info[key] = text
    if fmt.mime in (formats.DOCX_MIME, "application/vnd.ms-word.document.macroEnabled.12") and "word/document.xml" in names:
        found.text = _xml_text(zf, "word/document.xml", {f"{{{W_NS}}}p"}, _docx_paragraph)


def _xml_text(zf: zipfile.ZipFile, name: str, paragraphs: set[str], render: Callable[[etree._Element], str]) -> str:
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


def _docx_paragraph(p: etree._Element) -> str:
    out = []
    for el in p.iter(f"{{{W_NS}}}t", f"{{{W_NS}}}tab", f"{{{W_NS}}}br", f"{{{W_NS}}}cr"):
        local = el.tag.rpartition("}")[2]
        if local == "t":
            out.append(el.text or "")
        elif el.getparent() is not None and el.getparent().tag == f"{{{W_NS}}}r":
            # w:tab also defines tab stops in w:pPr/w:tabs; only a run's w:tab is a character.
            out.append("\t" if local == "tab" else "\n")
    return "".join(out)


def _odf_paragraph(p: etree._Element) -> str:
    return "".join(p.itertext())


# -- TIFF --------------------------------------------------------------------------------------

def _tiff_pages(f: IO[bytes], head: bytes) -> int | None:
    """Count the images (IFDs) of a TIFF or BigTIFF; None when the chain is broken."""
    try:
        order = {b"II": "<", b"MM": ">"}[head[:2]]
        big = struct.unpack(order + "H", head[2:4])[0] == 43
        if big:
            offset = struct.unpack(order + "Q", head[8:16])[0]
        else:
            offset = struct.unpack(order + "I", head[4:8])[0]
        seen: set[int] = set()
        while offset and len(seen) < MAX_TIFF_PAGES:
            if offset in seen:
                return None
            seen.add(offset)
            f.seek(offset)
            if big:
                (count,) = struct.unpack(order + "Q", f.read(8))
                f.seek(offset + 8 + count * 20)
                (offset,) = struct.unpack(order + "Q", f.read(8))
            else:
                (count,) = struct.unpack(order + "H", f.read(2))
                f.seek(offset + 2 + count * 12)
                (offset,) = struct.unpack(order + "I", f.read(4))
        return len(seen) or None
    except (KeyError, struct.error, OSError, ValueError):
        return None


# -- document number and date -------------------------------------------------------------------


def compare(meta_number: str | None, meta_date: dt.date | None, inspection: Inspection) -> list[str]:
    """Messages for each way the metadata disagrees with what the document prints (none when either is absent).

    Document numbers are compared after :func:`normalise_document_number`, so ``国办发[2012]1号``
    agrees with ``国办发〔2012〕1号``.
    """
    out = []
    printed = inspection.document_number
    if meta_number and printed and normalise_document_number(meta_number) != normalise_document_number(printed):
        out.append(f"document number {meta_number} in the metadata, {printed} printed in the document")
    if meta_date and inspection.date and meta_date != inspection.date:
        out.append(f"date {meta_date.isoformat()} in the metadata, {inspection.date.isoformat()} printed in the document")
    return out
