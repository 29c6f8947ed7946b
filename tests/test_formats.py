"""Format identification: libmagic plus OFD, PDF/A, OOXML and ODF, and extension checks."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject

from govarc.formats import (
    DOCX_MIME,
    EXPECTED_EXTENSIONS,
    MAX_SNIFF_BYTES,
    ODT_MIME,
    OFD_MIME,
    PPTX_MIME,
    XLSX_MIME,
    FormatInfo,
    extension_matches,
    identify_file,
    identify_head,
    pdf_format,
    pdfa_claim,
)

OFD_NS = "http://www.ofdspec.org/2016"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _pdf(xmp: str | None = None, catalog_version: str | None = None) -> bytes:
    w = PdfWriter()
    w.add_blank_page(595, 842)
    if xmp is not None:
        s = StreamObject()
        s.set_data(xmp.encode("utf-8"))
        s.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
        w.root_object[NameObject("/Metadata")] = w._add_object(s)
    if catalog_version:
        w.root_object[NameObject("/Version")] = NameObject("/" + catalog_version)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _xmp(description_attrs: str = "", body: str = "") -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" {description_attrs}>'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )


def _zip(entries: dict[str, bytes | str], *, stored_first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if stored_first:
            z.writestr(zipfile.ZipInfo(stored_first), entries[stored_first])
        for name, data in entries.items():
            if name != stored_first:
                z.writestr(name, data)
    return buf.getvalue()


def _ofd_xml(ns: str = OFD_NS, version: str | None = "1.1") -> str:
    v = f' Version="{version}"' if version else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{ns}"{v} DocType="OFD"><ofd:DocBody>'
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")


def _content_types(main: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/main.xml" ContentType="{main}"/></Types>')


def _image(fmt: str, **kw: object) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, format=fmt, **kw)
    return buf.getvalue()


# -- identify_head: what the package builder relies on ---------------------------------------

def test_identify_head_pdf_version_and_empty() -> None:
    assert identify_head(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == FormatInfo("application/pdf", "PDF", "1.7")
    assert identify_head(b"").mime == "application/x-empty"
    assert identify_head("城中区 1200株\n".encode()).mime == "text/plain"


# -- PDF and PDF/A -------------------------------------------------------------------------------

def test_plain_pdf_version_from_header(tmp_path: Path) -> None:
    assert identify_file(_write(tmp_path, "a.pdf", _pdf())) == FormatInfo("application/pdf", "PDF", "1.3")


def test_catalog_version_overrides_an_older_header(tmp_path: Path) -> None:
    assert identify_file(_write(tmp_path, "a.pdf", _pdf(catalog_version="1.7"))).version == "1.7"


@pytest.mark.parametrize(
    ("attrs", "body", "version"),
    [
        ('pdfaid:part="1" pdfaid:conformance="B"', "", "1b"),
        ("", "<pdfaid:part>2</pdfaid:part><pdfaid:conformance>U</pdfaid:conformance>", "2u"),
        ('pdfaid:part="3" pdfaid:conformance="a"', "", "3a"),
        ('pdfaid:part="4"', "", "4"),
    ],
)
def test_pdfa_claim_from_xmp(tmp_path: Path, attrs: str, body: str, version: str) -> None:
    info = identify_file(_write(tmp_path, "a.pdf", _pdf(_xmp(attrs, body))))
    assert info == FormatInfo("application/pdf", "PDF/A", version)


@pytest.mark.parametrize(
    "xmp",
    [
        _xmp(),  # XMP without pdfaid
        _xmp('pdfaid:part="x1"'),  # not a number
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed>",  # malformed
        '<!DOCTYPE x [<!ENTITY e "1">]>' + _xmp('pdfaid:part="1"'),  # DOCTYPE refused
    ],
)
def test_no_pdfa_claim(tmp_path: Path, xmp: str) -> None:
    assert pdfa_claim(xmp.encode()) is None
    assert identify_file(_write(tmp_path, "a.pdf", _pdf(xmp))) == FormatInfo("application/pdf", "PDF", "1.3")


def test_pdf_format_is_pure() -> None:
    head = b"%PDF-1.4\n"
    assert pdf_format(head) == FormatInfo("application/pdf", "PDF", "1.4")
    assert pdf_format(head, None, "1.6") == FormatInfo("application/pdf", "PDF", "1.6")
    assert pdf_format(head, None, "1.2").version == "1.4"  # a catalog cannot lower the version
    assert pdf_format(head, _xmp('pdfaid:part="2" pdfaid:conformance="B"').encode()) == FormatInfo(
        "application/pdf", "PDF/A", "2b")


def test_unparseable_pdf_keeps_header_answer(tmp_path: Path) -> None:
    assert identify_file(_write(tmp_path, "a.pdf", b"%PDF-1.5\ngarbage\n")) == FormatInfo("application/pdf", "PDF", "1.5")


# -- ZIP containers -----------------------------------------------------------------------------

def test_ofd_in_namespace_with_version(tmp_path: Path) -> None:
    p = _write(tmp_path, "a.ofd", _zip({"OFD.xml": _ofd_xml(), "Doc_0/Document.xml": "<x/>"}))
    assert identify_file(p) == FormatInfo(OFD_MIME, "OFD", "1.1")


def test_ofd_without_version_attribute(tmp_path: Path) -> None:
    assert identify_file(_write(tmp_path, "a.ofd", _zip({"OFD.xml": _ofd_xml(version=None)}))) == FormatInfo(
        OFD_MIME, "OFD", None)


@pytest.mark.parametrize(
    "entries",
    [
        {"OFD.xml": _ofd_xml(ns="http://example.com/not-ofd")},  # wrong namespace
        {"OFD.xml": "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'"},  # truncated start tag
        {"Doc_0/OFD.xml": _ofd_xml()},  # not at the root
        {"OFD.xml": '<!DOCTYPE a [<!ENTITY b "c">]>' + _ofd_xml()},  # DOCTYPE refused
        # the root element lies beyond the cap on what is decompressed (a zip bomb stops there)
        {"OFD.xml": "<?xml version='1.0'?><!--" + " " * (MAX_SNIFF_BYTES * 4) + "-->" + _ofd_xml().split("?>", 1)[1]},
    ],
    ids=["namespace", "truncated", "nested", "doctype", "bomb"],
)
def test_not_ofd_is_a_plain_zip(tmp_path: Path, entries: dict[str, bytes | str]) -> None:
    assert identify_file(_write(tmp_path, "a.ofd", _zip(entries))) == FormatInfo("application/zip", "ZIP", None)


def test_docx_and_xlsx_from_real_files(tmp_path: Path) -> None:
    import docx
    import openpyxl

    d = docx.Document()
    d.add_paragraph("正文")
    d.save(tmp_path / "a.docx")
    wb = openpyxl.Workbook()
    wb.active["A1"] = "登记表"
    wb.save(tmp_path / "a.xlsx")
    assert identify_file(tmp_path / "a.docx") == FormatInfo(DOCX_MIME, "Office Open XML Document (DOCX)", None)
    assert identify_file(tmp_path / "a.xlsx") == FormatInfo(XLSX_MIME, "Office Open XML Workbook (XLSX)", None)


@pytest.mark.parametrize(
    ("main", "mime"),
    [
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", PPTX_MIME),
        ("application/vnd.ms-word.document.macroEnabled.main+xml", "application/vnd.ms-word.document.macroEnabled.12"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", XLSX_MIME),
    ],
)
def test_ooxml_from_content_types(tmp_path: Path, main: str, mime: str) -> None:
    p = _write(tmp_path, "a.bin", _zip({"[Content_Types].xml": _content_types(main), "main.xml": "<a/>"}))
    assert identify_file(p).mime == mime


def test_odf_from_mimetype_entry(tmp_path: Path) -> None:
    p = _write(tmp_path, "a.odt", _zip({"mimetype": ODT_MIME, "content.xml": "<a/>"}, stored_first="mimetype"))
    assert identify_file(p) == FormatInfo(ODT_MIME, "OpenDocument Text (ODT)", None)


def test_zip_with_nonsense_mimetype_is_a_zip(tmp_path: Path) -> None:
    p = _write(tmp_path, "a.zip", _zip({"mimetype": "<script>", "a.txt": "x"}, stored_first="mimetype"))
    assert identify_file(p).mime == "application/zip"


def test_malformed_zip_falls_back_to_libmagic(tmp_path: Path) -> None:
    data = _zip({"OFD.xml": _ofd_xml()})[:60]  # local header only, no central directory
    p = _write(tmp_path, "a.ofd", data)
    assert identify_file(p) == identify_head(data)
    assert identify_file(p).mime != OFD_MIME


# -- images ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fmt", "kw", "expected"),
    [
        ("JPEG", {}, FormatInfo("image/jpeg", "JPEG", "1.01")),
        ("TIFF", {}, FormatInfo("image/tiff", "TIFF", None)),
        ("TIFF", {"big_tiff": True}, FormatInfo("image/tiff", "BigTIFF", None)),
        ("PNG", {}, FormatInfo("image/png", "PNG", None)),
    ],
    ids=["jpeg", "tiff", "bigtiff", "png"],
)
def test_images(tmp_path: Path, fmt: str, kw: dict[str, object], expected: FormatInfo) -> None:
    assert identify_file(_write(tmp_path, "img", _image(fmt, **kw))) == expected


def test_identification_is_thread_safe(tmp_path: Path) -> None:
    files = [_write(tmp_path, f"{i}.{ext}", data) for i, (ext, data) in enumerate(
        [("pdf", _pdf()), ("jpg", _image("JPEG")), ("png", _image("PNG")), ("txt", "文本".encode())] * 8)]
    expected = [identify_file(p).mime for p in files]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda p: identify_file(p).mime, files)) == expected
    assert expected[:4] == ["application/pdf", "image/jpeg", "image/png", "text/plain"]


# -- extensions -----------------------------------------------------------------------------------

_JPEG = FormatInfo("image/jpeg", "JPEG")
_TIFF = FormatInfo("image/tiff", "TIFF")
_PDF = FormatInfo("application/pdf", "PDF", "1.4")
_PDFA = FormatInfo("application/pdf", "PDF/A", "1b")
_OFD = FormatInfo(OFD_MIME, "OFD", "1.0")
_ZIP = FormatInfo("application/zip", "ZIP")
_UNKNOWN = FormatInfo("application/octet-stream", "Unknown binary")


@pytest.mark.parametrize(
    ("name", "info", "ok"),
    [
        ("a.jpg", _JPEG, True), ("a.JPEG", _JPEG, True), ("a.pdf", _JPEG, False), ("a", _JPEG, False),
        ("a.tif", _TIFF, True), ("a.TIFF", _TIFF, True), ("a.jpg", _TIFF, False),
        ("a.pdf", _PDF, True), ("a.PDF", _PDFA, True), ("a.ofd", _PDF, False),
        ("a.ofd", _OFD, True), ("a.zip", _OFD, False), ("a.ofd", _ZIP, False), ("a.zip", _ZIP, True),
        ("a.docx", FormatInfo(DOCX_MIME, "DOCX"), True), ("a.doc", FormatInfo(DOCX_MIME, "DOCX"), False),
        ("a.doc", FormatInfo("application/msword", "Word"), True),
        ("a.xlsx", FormatInfo(XLSX_MIME, "XLSX"), True), ("a.odt", FormatInfo(ODT_MIME, "ODT"), True),
        ("a.txt", FormatInfo("text/plain", "Plain text"), True), ("a.xml", FormatInfo("text/xml", "XML"), True),
        ("a.txt", FormatInfo("text/xml", "XML"), False),
        ("city.toml", FormatInfo("text/plain", "Plain text"), True), ("a", FormatInfo("text/plain", "Plain text"), True),
        ("a.pdf", FormatInfo("text/plain", "Plain text"), False), ("a.docx", FormatInfo("text/plain", "Plain text"), False),
        ("柳政发〔2007〕12号.pdf", _PDF, True),
        ("a.pdf", _UNKNOWN, False),  # an unknown binary must not pass for a known format
        ("a.bin", _UNKNOWN, True),  # nothing to contradict
        ("a.pdf", FormatInfo("application/x-empty", "Empty file"), True),  # empty: no format to lie about
    ],
)
def test_extension_matches(name: str, info: FormatInfo, ok: bool) -> None:
    assert extension_matches(name, info) is ok


def test_every_named_mime_has_expected_extensions() -> None:
    for mime in (DOCX_MIME, XLSX_MIME, PPTX_MIME, ODT_MIME, OFD_MIME, "application/pdf", "image/jpeg", "image/tiff"):
        assert EXPECTED_EXTENSIONS[mime], mime
        assert all(e.startswith(".") and e == e.lower() for e in EXPECTED_EXTENSIONS[mime])


def test_real_file_with_lying_extension(tmp_path: Path) -> None:
    p = _write(tmp_path, "scan.pdf", _image("JPEG"))
    info = identify_file(p)
    assert info.mime == "image/jpeg"
    assert not extension_matches(p, info)

