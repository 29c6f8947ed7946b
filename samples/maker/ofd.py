"""OFD (GB/T 33190-2016): a ZIP with OFD.xml, Doc_0/Document.xml, PublicRes.xml and one
Content.xml per page, whose TextObjects carry the text. The seal is drawn as paths; no Signs.
"""

from __future__ import annotations

import hashlib

from lxml import etree

from .corpus import Doc
from .layout import BLACK, PAGE_H, PAGE_W, PT, RED, Rule, Seal, Text, em, layout, star
from .office import zip_bytes

OFD_NS = "http://www.ofdspec.org/2016"


def _ofd_el(parent: etree._Element | None, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    q = f"{{{OFD_NS}}}{tag}"
    el = etree.Element(q, nsmap={"ofd": OFD_NS}) if parent is None else etree.SubElement(parent, q)
    for k, v in attrs.items():
        el.set(k, v)
    if text is not None:
        el.text = text
    return el


def _xml(el: etree._Element) -> bytes:
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _rgb255(color: tuple[float, float, float]) -> str:
    return " ".join(str(round(c * 255)) for c in color)


def make_ofd(doc: Doc, creator_version: str) -> bytes:
    """A small OFD package: OFD.xml, Doc_0/Document.xml, PublicRes.xml, one Content.xml per page."""
    pages = layout(doc)
    ids = iter(range(1, 100000))
    font_id = next(ids)
    files: list[tuple[str, bytes]] = []

    root = _ofd_el(None, "OFD", Version="1.0", DocType="OFD")
    body = _ofd_el(root, "DocBody")
    info = _ofd_el(body, "DocInfo")
    _ofd_el(info, "DocID", hashlib.md5(doc.number.encode()).hexdigest())
    _ofd_el(info, "Title", doc.title)
    _ofd_el(info, "Author", doc.issuer)
    _ofd_el(info, "Subject", doc.number)
    _ofd_el(info, "CreationDate", doc.date.isoformat())
    _ofd_el(info, "ModDate", doc.date.isoformat())
    kws = _ofd_el(info, "Keywords")
    for k in doc.keywords:
        _ofd_el(kws, "Keyword", k)
    _ofd_el(info, "Creator", doc.creator)
    _ofd_el(info, "CreatorVersion", creator_version)
    _ofd_el(body, "DocRoot", "Doc_0/Document.xml")

    res = _ofd_el(None, "Res", BaseLoc="Res")
    fonts = _ofd_el(res, "Fonts")
    _ofd_el(fonts, "Font", ID=str(font_id), FontName="宋体", FamilyName="宋体")

    page_ids = []
    for number, ops in enumerate(pages):
        page = _ofd_el(None, "Page")
        area = _ofd_el(page, "Area")
        _ofd_el(area, "PhysicalBox", f"0 0 {_n(PAGE_W)} {_n(PAGE_H)}")
        content = _ofd_el(page, "Content")
        layer = _ofd_el(content, "Layer", ID=str(next(ids)), Type="Body")
        for op in ops:
            if isinstance(op, Text) and not op.angle:
                size = op.pt * PT
                deltas = [em(ch) * size for ch in op.text]
                width = sum(deltas)
                obj = _ofd_el(layer, "TextObject", ID=str(next(ids)),
                              Boundary=f"{_n(op.x)} {_n(op.y - size)} {_n(width + 1)} {_n(size * 1.3)}",
                              Font=str(font_id), Size=_n(size))
                if op.color != BLACK:
                    _ofd_el(obj, "FillColor", Value=_rgb255(op.color))
                code = _ofd_el(obj, "TextCode", op.text, X="0", Y=_n(size))
                if len(deltas) > 1:
                    code.set("DeltaX", " ".join(_n(d) for d in deltas[:-1]))
            elif isinstance(op, Rule):
                x0, y0 = min(op.x1, op.x2), min(op.y1, op.y2)
                w, h = abs(op.x2 - op.x1), abs(op.y2 - op.y1)
                obj = _ofd_el(layer, "PathObject", ID=str(next(ids)),
                              Boundary=f"{_n(x0)} {_n(y0 - op.width)} {_n(w + op.width)} {_n(h + 2 * op.width)}",
                              LineWidth=_n(op.width))
                _ofd_el(obj, "StrokeColor", Value=_rgb255(op.color))
                _ofd_el(obj, "AbbreviatedData",
                        f"M {_n(op.x1 - x0)} {_n(op.y1 - y0 + op.width)} "
                        f"L {_n(op.x2 - x0)} {_n(op.y2 - y0 + op.width)}")
            elif isinstance(op, Seal):
                r = op.r
                obj = _ofd_el(layer, "PathObject", ID=str(next(ids)),
                              Boundary=f"{_n(op.cx - r - 1)} {_n(op.cy - r - 1)} {_n(2 * r + 2)} {_n(2 * r + 2)}",
                              LineWidth="1")
                _ofd_el(obj, "StrokeColor", Value=_rgb255(RED))
                c = r + 1
                _ofd_el(obj, "AbbreviatedData",
                        f"M {_n(c - r)} {_n(c)} A {_n(r)} {_n(r)} 0 1 1 {_n(c + r)} {_n(c)} "
                        f"A {_n(r)} {_n(r)} 0 1 1 {_n(c - r)} {_n(c)} C")
                points = star(r + 1, r + 1, 5.5)
                obj = _ofd_el(layer, "PathObject", ID=str(next(ids)),
                              Boundary=f"{_n(op.cx - r - 1)} {_n(op.cy - r - 1)} {_n(2 * r + 2)} {_n(2 * r + 2)}",
                              Stroke="false", Fill="true")
                _ofd_el(obj, "FillColor", Value=_rgb255(RED))
                _ofd_el(obj, "AbbreviatedData",
                        "M " + " L ".join(f"{_n(x)} {_n(y)}" for x, y in points) + " C")
        page_id = next(ids)
        page_ids.append(page_id)
        files.append((f"Doc_0/Pages/Page_{number}/Content.xml", _xml(page)))

    document = _ofd_el(None, "Document")
    common = _ofd_el(document, "CommonData")
    _ofd_el(common, "MaxUnitID", str(next(ids) - 1))
    area = _ofd_el(common, "PageArea")
    _ofd_el(area, "PhysicalBox", f"0 0 {_n(PAGE_W)} {_n(PAGE_H)}")
    _ofd_el(common, "PublicRes", "PublicRes.xml")
    pages_el = _ofd_el(document, "Pages")
    for number, page_id in enumerate(page_ids):
        _ofd_el(pages_el, "Page", ID=str(page_id), BaseLoc=f"Pages/Page_{number}/Content.xml")

    entries = [("OFD.xml", _xml(root)), ("Doc_0/Document.xml", _xml(document)),
               ("Doc_0/PublicRes.xml", _xml(res)), *files]
    return zip_bytes(entries)
