"""ZIP-based formats: DOCX (python-docx) and XLSX (openpyxl), and the fixed-timestamp ZIP writer
that OFD shares, so that the bytes do not change between runs.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from .corpus import Doc, cn_date
from .layout import FIXED_TIME, PAGE_H, PAGE_W, creation_time, em
from .scans import seal_png


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            z.writestr(info, data, compresslevel=9)
    return buf.getvalue()


_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_ooxml(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite a DOCX/XLSX with fixed ZIP timestamps and fixed created/modified properties."""
    stamp = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            blob = z.read(info)
            if info.filename == "docProps/core.xml":
                blob = _CORE_DATE.sub(lambda m: m.group(1) + stamp + m.group(3), blob)
            entries.append((info.filename, blob))
    return zip_bytes(entries)


def make_xlsx(title: str, rows: tuple[tuple[str, ...], ...] | list[list[object]], when: dt.datetime, creator: str,
              sheet: str = "Sheet1", date_columns: tuple[int, ...] = ()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r, row in enumerate(rows):
        ws.append(list(row))
        if r == 0:
            for cell in ws[1]:
                cell.font = Font(bold=True)
    for c, _ in enumerate(rows[0]):
        width = max(em(str(row[c])) if row[c] is not None else 0 for row in rows) * 2 + 2
        ws.column_dimensions[chr(ord("A") + c)].width = min(width, 60)
    for c in date_columns:
        for cell in ws.iter_cols(min_col=c + 1, max_col=c + 1, min_row=2):
            for x in cell:
                if isinstance(x.value, dt.date):
                    x.number_format = "yyyy-mm-dd"
    wb.properties.title = title
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_ooxml(buf.getvalue(), when)



def make_docx(doc: Doc, ttf: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    d = Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Mm(PAGE_W), Mm(PAGE_H)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)

    def para(text: str, pt: float, font: str = "仿宋_GB2312", align: WD_ALIGN_PARAGRAPH | None = None, red: bool = False,
             bold: bool = False, indent: float = 0.0, right: float = 0.0, before: float = 0.0) -> object:
        p = d.add_paragraph()
        if align is not None:
            p.alignment = align
        fmt = p.paragraph_format
        fmt.space_after = Pt(0)
        fmt.space_before = Pt(before)
        fmt.line_spacing = Pt(28)
        if indent:
            fmt.first_line_indent = Pt(pt * indent)
        if right:
            fmt.right_indent = Pt(pt * right)
        run = p.add_run(text)
        run.font.size = Pt(pt)
        run.font.bold = bold
        run.font.name = font
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
        if red:
            run.font.color.rgb = RGBColor(0xD9, 0x14, 0x14)
        return p

    def border(p: object, side: str, color: str = "000000", size: int = 8) -> None:
        ppr = p._p.get_or_add_pPr()  # type: ignore[attr-defined]
        bdr = ppr.find(qn("w:pBdr"))
        if bdr is None:
            bdr = OxmlElement("w:pBdr")
            ppr.append(bdr)
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "1")
        el.set(qn("w:color"), color)
        bdr.append(el)

    C = WD_ALIGN_PARAGRAPH.CENTER
    if doc.urgency:
        para(doc.urgency, 16, font="黑体")
    mark = doc.mark[0] + ("" if doc.is_letter else "文件")
    para(mark, 30, font="方正小标宋简体", align=C, red=True, before=40)
    number = para(doc.number, 16, align=C, before=24)
    border(number, "bottom", "D91414", 18)
    para(doc.title, 22, font="方正小标宋简体", align=C, before=28)
    para(doc.addressee, 16, before=16)
    for text in doc.body:
        para(text, 16, indent=2)
    if doc.attachments:
        para("附件：" + doc.attachments[0].title, 16, indent=2, before=16)
    seal = d.add_paragraph()
    seal.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    seal.paragraph_format.right_indent = Pt(16 * 4)
    seal.add_run().add_picture(io.BytesIO(seal_png(doc.signers[0], ttf)), width=Mm(34))
    para(doc.issuer, 16, align=WD_ALIGN_PARAGRAPH.RIGHT, right=5)
    para(cn_date(doc.date), 16, align=WD_ALIGN_PARAGRAPH.RIGHT, right=4)
    if doc.classification == "公开":
        para("（此件公开发布）", 16, indent=2)
    if doc.cc:
        cc = para("抄送：" + doc.cc, 14, before=40)
        border(cc, "top", size=8)
    printed = para(f"{doc.print_organ}　　　　　　{cn_date(doc.date)}印发", 14, before=0 if doc.cc else 40)
    border(printed, "top", size=4)
    border(printed, "bottom", size=8)

    cp = d.core_properties
    cp.title = doc.title
    cp.subject = doc.number
    cp.author = doc.issuer
    cp.keywords = "；".join(doc.keywords)
    cp.category = "公文"
    cp.comments = ""
    cp.last_modified_by = doc.issuer
    cp.revision = 1
    cp.created = cp.modified = creation_time(doc).replace(tzinfo=None)
    buf = io.BytesIO()
    d.save(buf)
    return normalise_ooxml(buf.getvalue(), creation_time(doc))
