"""Format identification from a file's bytes: libmagic plus what libmagic misses.

:func:`identify_head` answers from the first bytes alone (what the package builder needs for
格式信息). :func:`identify_file` opens the file and refines that answer where libmagic stops short:

- **ZIP containers** are opened with :mod:`zipfile`, never extracted, reading at most a few
  hundred KiB of any entry: OFD (GB/T 33190: ``OFD.xml`` at the root in the namespace
  ``http://www.ofdspec.org/2016``), OOXML (the main part's type in ``[Content_Types].xml``) and
  ODF (the ``mimetype`` entry). A ZIP that cannot be read keeps libmagic's answer.
- **PDF**: the version from the header (or the catalog's ``/Version`` when later) and the PDF/A
  claim from the XMP metadata (``pdfaid:part``, ``pdfaid:conformance``).
- **TIFF, JPEG**: BigTIFF and the JFIF version.

Naming convention of :class:`FormatInfo` (what goes into the package metadata):

====================  =====================================  ======================  =========
format                mime                                   name                    version
====================  =====================================  ======================  =========
PDF                   ``application/pdf``                    ``PDF``                 ``1.7``
PDF claiming PDF/A    ``application/pdf``                    ``PDF/A``               ``1b``
OFD                   ``application/ofd``                    ``OFD``                 ``1.0``
DOCX                  ``application/vnd.openxmlformats-…``   ``Office Open XML …``   None
JPEG with JFIF        ``image/jpeg``                         ``JPEG``                ``1.01``
====================  =====================================  ======================  =========

For a PDF/A claim the version is the PDF/A part followed by the conformance level in lower case
(``1b``, ``2u``, ``3a``; ``4``, ``4e``, ``4f`` for PDF/A-4), because that is what the archives
judge a file by; the underlying PDF version is not kept. The claim is what the XMP says, not a
validation of conformance.
"""

from __future__ import annotations

import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import magic
from lxml import etree

from govarc import xmlsafe
from govarc.fsutil import open_input

if TYPE_CHECKING:
    from pypdf import PdfReader

HEAD_SIZE = 8192

OFD_NAMESPACE = "http://www.ofdspec.org/2016"
PDFAID_NAMESPACE = "http://www.aiim.org/pdfa/ns/id/"

# Caps on what is read from a container: a genuine OFD.xml, [Content_Types].xml or mimetype
# entry is a few KiB; anything bigger is not worth decompressing (zip bombs).
MAX_SNIFF_BYTES = 256 * 1024
MAX_XMP_BYTES = 1024 * 1024

_local = threading.local()


def _magic() -> magic.Magic:
    # python-magic's handle is not thread-safe: one per thread.
    m = getattr(_local, "magic", None)
    if m is None:
        m = _local.magic = magic.Magic(mime=True)
    return m


@dataclass(frozen=True)
class FormatInfo:
    mime: str
    name: str
    version: str | None = None


OFD_MIME = "application/ofd"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT_MIME = "application/vnd.oasis.opendocument.text"

_NAMES = {
    "application/pdf": "PDF",
    "image/tiff": "TIFF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "text/plain": "Plain text",
    "text/csv": "CSV",
    "text/html": "HTML",
    "text/rtf": "Rich Text Format",
    "text/xml": "XML",
    "application/xml": "XML",
    "application/zip": "ZIP",
    "application/msword": "Microsoft Word 97-2003",
    "application/vnd.ms-excel": "Microsoft Excel 97-2003",
    "application/vnd.ms-powerpoint": "Microsoft PowerPoint 97-2003",
    DOCX_MIME: "Office Open XML Document (DOCX)",
    XLSX_MIME: "Office Open XML Workbook (XLSX)",
    PPTX_MIME: "Office Open XML Presentation (PPTX)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template": "Office Open XML Document Template (DOTX)",
    "application/vnd.ms-word.document.macroEnabled.12": "Office Open XML Document with macros (DOCM)",
    "application/vnd.ms-excel.sheet.macroEnabled.12": "Office Open XML Workbook with macros (XLSM)",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12": "Office Open XML Presentation with macros (PPTM)",
    ODT_MIME: "OpenDocument Text (ODT)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument Spreadsheet (ODS)",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument Presentation (ODP)",
    OFD_MIME: "OFD",
    "application/json": "JSON",
    "application/x-empty": "Empty file",
    "application/octet-stream": "Unknown binary",
}

#: The content type of an OOXML package's main part, mapped to the package's MIME type.
OOXML_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX_MIME,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "application/vnd.ms-word.document.macroEnabled.12",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX_MIME,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX_MIME,
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml":
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
}

_OLE = (".doc", ".dot", ".xls", ".ppt", ".wps", ".et", ".dps", ".msg")

#: The file-name extensions (lower case, with the dot) a MIME type is expected to carry.
EXPECTED_EXTENSIONS: dict[str, frozenset[str]] = {
    mime: frozenset(exts)
    for mime, exts in {
        "application/pdf": (".pdf",),
        OFD_MIME: (".ofd",),
        "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
        "image/tiff": (".tif", ".tiff"),
        "image/png": (".png",),
        "image/gif": (".gif",),
        "image/bmp": (".bmp",),
        "text/plain": (".txt", ".text", ".csv", ".log", ".md"),
        "text/csv": (".csv", ".txt"),
        "text/html": (".html", ".htm"),
        "text/rtf": (".rtf",),
        "text/xml": (".xml", ".xsd", ".xsl", ".svg"),
        "application/xml": (".xml", ".xsd", ".xsl", ".svg"),
        "application/json": (".json",),
        "application/zip": (".zip",),
        "application/msword": (".doc", ".dot", ".wps"),
        "application/vnd.ms-excel": (".xls", ".et"),
        "application/vnd.ms-powerpoint": (".ppt", ".dps"),
        "application/x-ole-storage": _OLE,
        "application/CDFV2": _OLE,
        DOCX_MIME: (".docx",),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template": (".dotx",),
        "application/vnd.ms-word.document.macroEnabled.12": (".docm",),
        XLSX_MIME: (".xlsx",),
        "application/vnd.ms-excel.sheet.macroEnabled.12": (".xlsm",),
        PPTX_MIME: (".pptx",),
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12": (".pptm",),
        ODT_MIME: (".odt",),
        "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
        "application/vnd.oasis.opendocument.presentation": (".odp",),
    }.items()
}

_ANY_KNOWN_EXTENSION = frozenset().union(*EXPECTED_EXTENSIONS.values())
# Extensions of formats that are not text: a plain-text file may carry any other (.toml, .ini, .py).
_BINARY_EXTENSIONS = frozenset().union(*(
    exts for mime, exts in EXPECTED_EXTENSIONS.items()
    if not mime.startswith("text/") and mime not in ("application/json", "application/xml")
))


def _info(mime: str, version: str | None = None) -> FormatInfo:
    return FormatInfo(mime, _NAMES.get(mime, mime), version)


def identify_head(head: bytes) -> FormatInfo:
    """Identify a format from the first bytes of a file (at least :data:`HEAD_SIZE` when it has them)."""
    mime = _magic().from_buffer(head) if head else "application/x-empty"
    version = None
    if mime == "application/pdf":
        version = _pdf_header_version(head)
    return _info(mime, version)


def identify_file(path: str | Path) -> FormatInfo:
    """Identify a file's real format from its bytes: libmagic on the head, then the refinements above.

    Safe on hostile input: nothing is extracted, at most :data:`MAX_SNIFF_BYTES` of any ZIP entry
    and :data:`MAX_XMP_BYTES` of XMP are decompressed, and a container or PDF that cannot be read
    keeps libmagic's answer. Raises :class:`OSError` only when the file itself cannot be read, and
    :class:`~govarc.fsutil.UnsafeInputError` when it is a link or not a regular file.
    """
    path = Path(path)
    # Never a link, never a FIFO or device: libmagic would wait on a FIFO forever.
    with open_input(path) as f:
        head = f.read(HEAD_SIZE)
        return _refine(f, head, identify_head(head))


def refine_file(path: str | Path, head: bytes, info: FormatInfo) -> FormatInfo:
    """:func:`identify_file` of a file whose ``head`` (its first :data:`HEAD_SIZE` bytes) libmagic
    already named ``info``: only the refinements are left to do (the package builder's case)."""
    with open_input(Path(path)) as f:
        return _refine(f, head, info)


def _refine(f: IO[bytes], head: bytes, info: FormatInfo) -> FormatInfo:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(f) as zf:
                return identify_open_zip(zf)
        except ZIP_ERRORS:
            return info
    if info.mime == "application/pdf":
        return _identify_pdf_file(f, head)
    return refine_head(head, info)


# -- ZIP containers ---------------------------------------------------------------------------

#: What reading a damaged or hostile ZIP can raise.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
               NotImplementedError, RuntimeError, ValueError, KeyError, struct.error)


def identify_open_zip(zf: zipfile.ZipFile) -> FormatInfo:
    """Identify an open ZIP container (OFD, ODF by its ``mimetype``, OOXML, else plain ZIP)."""
    names = set(zf.namelist())
    if "OFD.xml" in names:
        root = read_root_element(zf, "OFD.xml")
        if root is not None and root[0] == OFD_NAMESPACE:
            return _info(OFD_MIME, root[2].get("Version") or None)
    if "mimetype" in names:
        value = read_entry(zf, "mimetype", 256).decode("ascii", "replace").strip()
        if re.fullmatch(r"[a-z]+/[A-Za-z0-9.+-]+", value):
            return _info(value)
    if "[Content_Types].xml" in names:
        mime = _ooxml_mime(zf)
        if mime:
            return _info(mime)
    return _info("application/zip")


def read_entry(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """At most ``limit`` decompressed bytes of one entry (never the whole of a zip bomb)."""
    with zf.open(name) as f:
        return f.read(limit)


class _Capped:
    """A read-only stream that ends (raises) after ``limit`` bytes: a zip bomb stops here."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            raise _TooBig()
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._raw.read(n)
        self._left -= len(data)
        return data


class _TooBig(Exception):
    pass


def iter_xml(stream: IO[bytes], limit: int, events: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, etree._Element]]:
    """Parse XML incrementally with the hardened settings of :mod:`govarc.xmlsafe`.

    Reads at most ``limit`` bytes; stops quietly when the cap is reached (what was seen so far
    has been yielded). A DOCTYPE raises :class:`lxml.etree.XMLSyntaxError`, as in
    :func:`govarc.xmlsafe.parse_bytes`. The caller may stop iterating early; ``end`` elements are
    not cleared, so keep ``limit`` modest.
    """
    parser = etree.iterparse(
        _Capped(stream, limit), events=events, resolve_entities=False, no_network=True,
        load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True, remove_pis=True,
    )
    first = True
    try:
        for event, elem in parser:
            if first:
                first = False
                if elem.getroottree().docinfo.doctype:
                    raise etree.XMLSyntaxError("DOCTYPE is not allowed", None, 1, 1, "")  # type: ignore[call-arg]
            yield event, elem
    except _TooBig:
        return


def read_root_element(zf: zipfile.ZipFile, name: str) -> tuple[str | None, str, dict[str, str]] | None:
    """The root element of an XML entry as (namespace, local name, attributes), reading only its start."""
    try:
        with zf.open(name) as f:
            for _event, elem in iter_xml(f, MAX_SNIFF_BYTES, ("start",)):
                q = etree.QName(elem)
                return q.namespace, q.localname, dict(elem.attrib)
    except (etree.XMLSyntaxError, *ZIP_ERRORS):
        return None
    return None


def _ooxml_mime(zf: zipfile.ZipFile) -> str | None:
    try:
        data = read_entry(zf, "[Content_Types].xml", MAX_SNIFF_BYTES + 1)
        if len(data) > MAX_SNIFF_BYTES:
            return None
        root = xmlsafe.parse_bytes(data).getroot()
    except (etree.XMLSyntaxError, *ZIP_ERRORS):
        return None
    for el in root:
        mime = OOXML_MAIN_PARTS.get((el.get("ContentType") or "").strip())
        if mime:
            return mime
    return None


# -- PDF ---------------------------------------------------------------------------------------

def _pdf_header_version(head: bytes) -> str | None:
    # The header may follow up to 1 KiB of junk (a tolerance readers allow).
    m = re.search(rb"%PDF-(\d\.\d)", head[:1024])
    return m.group(1).decode() if m else None


def pdfa_claim(xmp: bytes | None) -> str | None:
    """The PDF/A part and conformance an XMP packet claims (``"1b"``, ``"2u"``, ``"4"``), or None.

    Both XMP spellings are read: ``pdfaid:part`` as an attribute of ``rdf:Description`` or as a
    child element. Malformed XMP, or a part that is not a number, claims nothing.
    """
    if not xmp or len(xmp) > MAX_XMP_BYTES:
        return None
    try:
        root = xmlsafe.parse_bytes(xmp.strip(b"\x00 \t\r\n")).getroot()
    except (etree.XMLSyntaxError, ValueError):
        return None
    part = _xmp_value(root, PDFAID_NAMESPACE, "part")
    if not part or not re.fullmatch(r"\d{1,2}", part):
        return None
    conformance = _xmp_value(root, PDFAID_NAMESPACE, "conformance") or ""
    if not re.fullmatch(r"[A-Za-z]?", conformance):
        conformance = ""
    return part + conformance.lower()


def find_xmp(root: etree._Element, ns: str, local: str) -> str | etree._Element | None:
    """An XMP property written either way RDF allows: an attribute's value, or the element itself."""
    key = f"{{{ns}}}{local}"
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if key in el.attrib:
            return str(el.attrib[key])
        if el.tag == key:
            return el
    return None


def _xmp_value(root: etree._Element, ns: str, local: str) -> str | None:
    found = find_xmp(root, ns, local)
    if found is None:
        return None
    return (found if isinstance(found, str) else "".join(found.itertext())).strip()


def pdf_format(head: bytes, xmp: bytes | None = None, catalog_version: str | None = None) -> FormatInfo:
    """The :class:`FormatInfo` of a PDF from its head, its XMP packet and the catalog's ``/Version``."""
    claim = pdfa_claim(xmp)
    if claim:
        return FormatInfo("application/pdf", "PDF/A", claim)
    version = _pdf_header_version(head)
    if catalog_version and re.fullmatch(r"\d\.\d", catalog_version) and (version is None or catalog_version > version):
        version = catalog_version
    return FormatInfo("application/pdf", "PDF", version)


def pdf_xmp_and_version(reader: PdfReader) -> tuple[bytes | None, str | None]:
    """The catalog's XMP packet (at most :data:`MAX_XMP_BYTES`) and ``/Version`` of an open pypdf reader.

    Never raises: a damaged catalog gives (None, None).
    """
    try:
        root: Any = reader.trailer["/Root"].get_object()
        version = root.get("/Version")
        version_s = str(version).lstrip("/") if version is not None else None
        xmp = None
        meta: Any = root.get("/Metadata")
        if meta is not None:
            meta = meta.get_object()
            length = meta.get("/Length")
            length_i = int(length.get_object()) if length is not None else 0
            if length_i <= MAX_XMP_BYTES:
                data = meta.get_data()
                xmp = data if len(data) <= MAX_XMP_BYTES else None
        return xmp, version_s
    except Exception:  # noqa: BLE001 - pypdf raises many types on hostile input
        return None, None


def _identify_pdf_file(f: IO[bytes], head: bytes) -> FormatInfo:
    f.seek(0, 2)
    f.seek(max(0, f.tell() - 1024))
    if b"%%EOF" not in f.read():
        return pdf_format(head)  # truncated: not worth a recovery scan by pypdf
    # Imported here: pypdf takes ~0.15 s to import, and a build of files that are not PDFs never needs it.
    from pypdf import PdfReader

    try:
        f.seek(0)
        reader = PdfReader(f, strict=False)
        if reader.is_encrypted:
            return pdf_format(head)
        xmp, version = pdf_xmp_and_version(reader)
    except Exception:  # noqa: BLE001 - a PDF pypdf cannot open keeps the header's answer
        return pdf_format(head)
    return pdf_format(head, xmp, version)


# -- images ------------------------------------------------------------------------------------

def refine_head(head: bytes, info: FormatInfo) -> FormatInfo:
    """Refine libmagic's answer for an image from its head: the JFIF version, BigTIFF."""
    if info.mime == "image/jpeg":
        # JFIF APP0 right after SOI: FF D8 FF E0 len "JFIF\0" major minor
        if head[2:4] == b"\xff\xe0" and head[6:11] == b"JFIF\x00" and len(head) >= 13:
            return FormatInfo(info.mime, info.name, f"{head[11]}.{head[12]:02d}")
    elif info.mime == "image/tiff":
        if head[:4] in (b"II+\x00", b"MM\x00+"):
            return FormatInfo(info.mime, "BigTIFF", None)
    return info


# -- extensions --------------------------------------------------------------------------------

def extension_matches(path: str | Path, info: FormatInfo) -> bool:
    """Whether a file's extension fits its real format (case-insensitive).

    For a MIME type in :data:`EXPECTED_EXTENSIONS` the extension must be one of its own. For any
    other type (libmagic's answer for something unusual) the extension lies only when it claims a
    format the table knows, e.g. ``.pdf`` on an unknown binary. Plain text may carry any extension
    but that of a binary format (``.toml`` is fine, ``.pdf`` is not). An empty file never lies.
    """
    ext = Path(path).suffix.lower()
    if info.mime == "application/x-empty":
        return True
    if info.mime == "text/plain":
        return ext not in _BINARY_EXTENSIONS
    expected = EXPECTED_EXTENSIONS.get(info.mime)
    if expected is not None:
        return ext in expected
    return ext not in _ANY_KNOWN_EXTENSION


def known_formats() -> frozenset[str]:
    """Every MIME type and format name this module can answer, e.g. for checking ``accepted_formats``."""
    return (frozenset(_NAMES) | frozenset(_NAMES.values()) | frozenset(EXPECTED_EXTENSIONS)
            | frozenset(OOXML_MAIN_PARTS.values()) | {"PDF/A", "BigTIFF"})
