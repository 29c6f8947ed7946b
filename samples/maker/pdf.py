"""PDF (reportlab), and PDF/A claimed through pypdf: XMP with pdfaid, an sRGB OutputIntent.

Ordinary PDFs use reportlab's CID font STSong-Light (not embedded); the PDF/A ones embed a subset
of the CJK TrueType font registered as ``EMBEDDED_FONT`` (see ``fonts.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct

from .corpus import Attachment, Doc
from .layout import (BLACK, FIXED_TIME, PAGE_H, RED, Op, Rule, Seal, Text, creation_time, layout, layout_attachment,
                     seal_chars, star)

CID_FONT = "STSong-Light"
EMBEDDED_FONT = "CJK"


def _mm(v: float) -> float:
    return v * 72 / 25.4


class PdfRenderer:
    """Draws laid-out pages with reportlab."""

    def __init__(self, font: str) -> None:
        self.font = font

    def render(self, pages: list[list[Op]], *, title: str, author: str, subject: str, keywords: str,
               creator: str, created: dt.datetime, pdf_version: tuple[int, int] | None = None) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.utils import TimeStamp
        from reportlab.pdfgen import canvas

        buf = io.BytesIO()
        kwargs = {"pdfVersion": pdf_version} if pdf_version else {}
        # the initial font too: otherwise every page references a non-embedded Helvetica
        c = canvas.Canvas(buf, pagesize=A4, invariant=1, initialFontName=self.font, **kwargs)
        ts = TimeStamp(1)
        ts.t = created.timestamp()
        ts.lt = created.timetuple()
        ts.YMDhms = tuple(created.timetuple())[:6]
        ts.dhh, ts.dmm, ts.tzname = 8, 0, "CST"
        c._doc._timeStamp = ts  # fixed creation date: the document's date
        c.setTitle(title)
        c.setAuthor(author)
        c.setSubject(subject)
        c.setKeywords(keywords)
        c.setCreator(creator)
        for ops in pages:
            for op in ops:
                self._draw(c, op)
            c.showPage()
        c.save()
        return buf.getvalue()

    def _draw(self, c: object, op: Op) -> None:
        from reportlab.pdfgen.canvas import Canvas

        assert isinstance(c, Canvas)
        if isinstance(op, Text):
            c.setFillColorRGB(*op.color)
            c.setFont(self.font, op.pt)
            if op.angle or op.centre:
                c.saveState()
                c.translate(_mm(op.x), _mm(PAGE_H - op.y))
                c.rotate(op.angle)
                c.drawCentredString(0, -op.pt * 0.36, op.text)
                c.restoreState()
            else:
                c.drawString(_mm(op.x), _mm(PAGE_H - op.y), op.text)
        elif isinstance(op, Rule):
            c.setStrokeColorRGB(*op.color)
            c.setLineWidth(_mm(op.width))
            c.line(_mm(op.x1), _mm(PAGE_H - op.y1), _mm(op.x2), _mm(PAGE_H - op.y2))
        elif isinstance(op, Seal):
            c.setStrokeColorRGB(*RED)
            c.setFillColorRGB(*RED)
            c.setLineWidth(_mm(1.0))
            c.circle(_mm(op.cx), _mm(PAGE_H - op.cy), _mm(op.r), stroke=1, fill=0)
            path = c.beginPath()
            pts = star(op.cx, op.cy, 5.5)
            path.moveTo(_mm(pts[0][0]), _mm(PAGE_H - pts[0][1]))
            for x, y in pts[1:]:
                path.lineTo(_mm(x), _mm(PAGE_H - y))
            path.close()
            c.drawPath(path, stroke=0, fill=1)
            for x, y, angle, ch in seal_chars(op):
                self._draw(c, Text(x, y, ch, 12, RED, centre=True, angle=angle))


def make_pdf(doc: Doc, font: str = CID_FONT, pdf_version: tuple[int, int] | None = None) -> bytes:
    return PdfRenderer(font).render(
        layout(doc), title=doc.title, author=doc.issuer, subject=doc.number, keywords="；".join(doc.keywords),
        creator=doc.creator, created=creation_time(doc), pdf_version=pdf_version,
    )


def make_attachment_pdf(doc: Doc, index: int, att: Attachment) -> bytes:
    return PdfRenderer(CID_FONT).render(
        layout_attachment(doc, index, att), title=att.title, author=doc.issuer, subject=f"{doc.number} 附件",
        keywords="", creator=doc.creator, created=creation_time(doc),
    )


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", *FIXED_TIME)  # the profile's creation date: fixed
    return bytes(icc)


def _pdf_date(t: dt.datetime) -> str:
    return t.strftime("D:%Y%m%d%H%M%S+08'00'")


def make_pdfa(doc: Doc, part: int) -> bytes:
    """A PDF that claims PDF/A-``part``b: embedded font, XMP with pdfaid, sRGB OutputIntent."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, ByteStringObject, DecodedStreamObject, DictionaryObject, NameObject,
                               NumberObject, TextStringObject)

    version = (1, 4) if part == 1 else (1, 7)
    raw = make_pdf(doc, font=EMBEDDED_FONT, pdf_version=version)
    reader = PdfReader(io.BytesIO(raw))
    writer = PdfWriter(clone_from=reader)
    created = creation_time(doc)
    producer = "ReportLab PDF Library; pypdf"
    creator = doc.creator
    keywords = "；".join(doc.keywords)
    writer.add_metadata({
        "/Title": doc.title, "/Author": doc.issuer, "/Subject": doc.number, "/Keywords": keywords,
        "/Creator": creator, "/Producer": producer,
        "/CreationDate": _pdf_date(created), "/ModDate": _pdf_date(created),
    })
    iso = created.isoformat()
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    xmp = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>{part}</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{esc(doc.title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{esc(doc.issuer)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{esc(doc.number)}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreateDate>{iso}</xmp:CreateDate>
   <xmp:ModifyDate>{iso}</xmp:ModifyDate>
   <xmp:MetadataDate>{iso}</xmp:MetadataDate>
   <xmp:CreatorTool>{creator}</xmp:CreatorTool>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{producer}</pdf:Producer>
   <pdf:Keywords>{esc(keywords)}</pdf:Keywords>
   <pdf:Trapped>False</pdf:Trapped>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    meta = DecodedStreamObject()
    meta.set_data(xmp.encode("utf-8"))
    meta[NameObject("/Type")] = NameObject("/Metadata")
    meta[NameObject("/Subtype")] = NameObject("/XML")
    icc = DecodedStreamObject()
    icc.set_data(_srgb_profile())
    icc[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
        NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/DestOutputProfile"): writer._add_object(icc),
    })
    root = writer._root_object
    root[NameObject("/Metadata")] = writer._add_object(meta)
    root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    writer.pdf_header = "%PDF-1.4" if part == 1 else "%PDF-1.7"
    file_id = ByteStringObject(hashlib.md5(doc.number.encode()).digest())
    writer._ID = ArrayObject([file_id, file_id])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

