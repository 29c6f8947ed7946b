"""Fixtures that generate small real documents in tmp_path: Chinese PDFs, OFD, DOCX, ODT, images."""

from __future__ import annotations

import io
import zipfile
from types import SimpleNamespace
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, StreamObject

OFFICIAL_LINES = (
    "柳州市人民政府文件",
    "柳政发〔2007〕12号",
    "柳州市人民政府关于做好2007年春季植树造林工作的通知",
    "各县、区人民政府，市直各委、办、局：",
    "本通知自2007年4月1日起施行。",
    "柳州市人民政府",
    "2007年3月5日",
    "抄送：市委办公室。",
    "柳州市人民政府办公室 2007年3月6日印发",
)

PDFA_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
      xmlns:dc="http://purl.org/dc/elements/1.1/" pdfaid:part="1" pdfaid:conformance="B">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">植树造林通知</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def pdf_bytes(pages: Sequence[Sequence[str]] = (OFFICIAL_LINES,)) -> bytes:
    """A PDF with one page per entry, each line drawn in the CID font STSong-Light."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for lines in pages:
        c.setFont("STSong-Light", 14)
        y = 780
        for line in lines:
            c.drawString(60, y, line)
            y -= 28
        c.showPage()
    c.save()
    return buf.getvalue()


def rewrite(data: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    """Copy a PDF through pypdf's writer, applying ``change`` to it."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_xmp(writer: PdfWriter, xmp: str = PDFA_XMP) -> None:
    stream = StreamObject()
    stream.set_data(xmp.encode("utf-8"))
    stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)


def ofd_bytes(lines: Sequence[str] = OFFICIAL_LINES, *, pages: int = 1, version: str = "1.0",
              namespace: str = "http://www.ofdspec.org/2016", attachment: bool = False) -> bytes:
    """A minimal GB/T 33190 OFD package: OFD.xml, Doc_0/Document.xml and one Content.xml per page."""
    ns = namespace
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{ns}" Version="{version}" DocType="OFD">'
            "<ofd:DocBody><ofd:DocInfo><ofd:DocID>0c2b1e</ofd:DocID><ofd:Title>植树造林通知</ofd:Title>"
            "<ofd:Author>柳州市人民政府</ofd:Author><ofd:CreationDate>2007-03-05</ofd:CreationDate></ofd:DocInfo>"
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ))
        page_refs = "".join(f'<ofd:Page ID="{i + 10}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(pages))
        attach = "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attachment else ""
        z.writestr("Doc_0/Document.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{ns}"><ofd:CommonData>'
            '<ofd:MaxUnitID>100</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>'
            f"</ofd:PageArea></ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages>{attach}</ofd:Document>"
        ))
        for i in range(pages):
            objs = []
            for n, line in enumerate(lines if i == 0 else (f"第{i + 1}页",)):
                y = 20 + n * 10
                # The document number is split over two TextObjects on one line, as OFD writers do.
                halves = [line[: len(line) // 2], line[len(line) // 2:]] if n == 1 else [line]
                for k, half in enumerate(halves):
                    objs.append(
                        f'<ofd:TextObject ID="{100 + n * 2 + k}" Boundary="{20 + k * 40} {y} 170 8" Font="1" Size="5">'
                        f'<ofd:TextCode X="0" Y="6">{half}</ofd:TextCode></ofd:TextObject>'
                    )
            z.writestr(f"Doc_0/Pages/Page_{i}/Content.xml", (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{ns}"><ofd:Content>'
                f'<ofd:Layer ID="2">{"".join(objs)}</ofd:Layer></ofd:Content></ofd:Page>'
            ))
        if attachment:
            z.writestr("Doc_0/Attachs/Attachments.xml", (
                f'<ofd:Attachments xmlns:ofd="{ns}"><ofd:Attachment ID="1" Name="a" Format="xls">'
                "<ofd:FileLoc>a.xls</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"
            ))
            z.writestr("Doc_0/Attachs/a.xls", b"\xd0\xcf\x11\xe0")
    return buf.getvalue()


def docx_bytes(lines: Sequence[str] = OFFICIAL_LINES, *, title: str = "植树造林通知") -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = "柳州市人民政府"
    for line in lines:
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def odt_bytes(lines: Sequence[str] = OFFICIAL_LINES) -> bytes:
    """An ODT-like package: a stored ``mimetype`` entry first, then content.xml."""
    tns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    body = "".join(f"<text:p>{line}</text:p>" for line in lines)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            f'xmlns:text="{tns}"><office:body><office:text>{body}</office:text></office:body>'
            "</office:document-content>"
        ), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def image_bytes(fmt: str, frames: int = 1) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    images = [Image.new("RGB", (16, 16), (200, 30 * i, 30)) for i in range(frames)]
    if frames > 1:
        images[0].save(buf, format=fmt, save_all=True, append_images=images[1:])
    else:
        images[0].save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def docs(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Factory: ``docs(name, data)`` writes a document into tmp_path and returns its path."""

    def write(name: str, data: bytes) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    return write


@pytest.fixture(scope="session")
def official_pdf() -> bytes:
    """The bytes of a one-page Chinese official document (GB/T 9704 layout, simplified)."""
    return pdf_bytes()


@pytest.fixture(scope="session")
def gen() -> SimpleNamespace:
    """The document builders of this module, for tests (``gen.pdf_bytes(...)``, ``gen.OFFICIAL_LINES``)."""
    return SimpleNamespace(
        OFFICIAL_LINES=OFFICIAL_LINES, pdf_bytes=pdf_bytes, rewrite=rewrite, add_xmp=add_xmp, ofd_bytes=ofd_bytes,
        docx_bytes=docx_bytes, odt_bytes=odt_bytes, image_bytes=image_bytes,
    )


@pytest.fixture
def ws(tmp_path):
    """A workspace with agency SZF (fonds 0012, unit BGS) and an empty drop folder."""
    from govarc.admin import init_workspace
    from tests.citykit import make_city

    city = make_city(tmp_path, n=0)
    (tmp_path / "drop" / "SZF").mkdir(parents=True, exist_ok=True)
    workspace, _ = init_workspace(tmp_path / "home", city)
    return workspace
