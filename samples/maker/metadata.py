"""Metadata beside the documents: JSON and XML sidecars, the agencies' registers, city.toml."""

from __future__ import annotations

import csv
import io
import json

from lxml import etree

from .corpus import Agency, City, Doc, Register, cn_date
from .office import make_xlsx

RECORD_NS = "urn:govarc:record:1"


def json_bytes(obj: object) -> bytes:
    """A sidecar as the city's office system writes it: UTF-8, indented, Chinese as is."""
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _retention(city: City, code: str, chinese: bool) -> str:
    return city.retention_label(code) if chinese else code


def sidecar_json(doc: Doc, i: int, city: City) -> bytes:
    """The JSON sidecar of an agency's ``i``-th document (``i`` varies date and retention forms)."""
    date = doc.meta_date or doc.date
    if doc.english_keys:
        obj: dict[str, object] = {"title": doc.title}
        if "number" not in doc.omit:
            obj["document_number"] = doc.number
        obj["issuer"] = list(doc.signers)
        if "date" not in doc.omit:
            obj["date"] = date.isoformat()
        obj.update(classification=doc.classification, retention=doc.retention, keywords=list(doc.keywords))
        if doc.attachments:
            obj["attachments"] = [a.path for a in doc.attachments]
    else:
        obj = {"题名": doc.title}
        if "number" not in doc.omit:
            obj["文件编号"] = doc.number
        obj["责任者"] = doc.issuer
        if "date" not in doc.omit:
            obj["成文日期"] = cn_date(date) if i % 2 else date.isoformat()
        obj["密级"] = doc.classification
        obj["保管期限"] = _retention(city, doc.retention, chinese=i % 3 == 0)
        obj["主题词"] = "；".join(doc.keywords)
        if doc.attachments:
            obj["附件"] = [a.path for a in doc.attachments]
    return json_bytes(obj)


def sidecar_xml(doc: Doc, agency: Agency) -> bytes:
    """A record element in the record schema, without archivalCode and files (govarc assigns them)."""
    q = "{%s}" % RECORD_NS
    root = etree.Element(q + "record", nsmap={None: RECORD_NS}, profileVersion="1")

    def sub(parent: etree._Element, tag: str, text: str) -> etree._Element:
        el = etree.SubElement(parent, q + tag)
        el.text = text
        return el

    sub(root, "aggregationLevel", "件")
    prov = etree.SubElement(root, q + "provenance")
    sub(prov, "fondsName", agency.fonds_name)
    sub(prov, "creatorName", agency.name)
    sub(prov, "agencyCode", agency.code)
    sub(root, "title", doc.title)
    sub(root, "documentNumber", doc.number)
    for s in doc.signers:
        sub(root, "issuer", s)
    sub(root, "date", (doc.meta_date or doc.date).isoformat())
    sub(root, "classification", doc.classification)
    sub(root, "retention", doc.retention)
    sub(root, "itemCount", str(1 + len(doc.attachments)))
    kw = etree.SubElement(root, q + "keywords")
    for k in doc.keywords:
        sub(kw, "keyword", k)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def register_rows(docs: list[Doc], register: Register, city: City) -> list[list[object]]:
    """The heading row, then one row per document; XLSX registers keep dates as dates."""
    rows: list[list[object]] = [[heading for _, heading in register.columns]]
    for doc in docs:
        date = doc.meta_date or doc.date
        if "date" in doc.omit:
            when: object = ""
        elif doc.meta_date_text:
            when = cn_date(date)
        else:
            when = date.isoformat() if register.iso_dates else date
        values: dict[str, object] = {
            "file": doc.path,
            "title": doc.title,
            "number": "" if "number" in doc.omit else doc.number,
            "issuer": doc.issuer,
            "date": when,
            "classification": doc.classification,
            "retention": _retention(city, doc.retention, register.chinese_retention),
            "unit": doc.unit,
            "attachments": "；".join(a.path for a in doc.attachments),
            "keywords": "、".join(doc.keywords),
        }
        rows.append([values[field] for field, _ in register.columns])
    return rows


def register_file(docs: list[Doc], register: Register, city: City) -> bytes:
    """The register as XLSX (Excel date cells) or CSV (CRLF, in the register's encoding)."""
    rows = register_rows(docs, register, city)
    if register.file.endswith(".xlsx"):
        assert register.created is not None  # corpus.py requires it for XLSX
        date_columns = tuple(c for c, (field, _) in enumerate(register.columns) if field == "date")
        return make_xlsx(register.title, rows, register.created, city.creator, sheet=register.sheet,
                         date_columns=date_columns)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(register.encoding)


def city_toml(city: City) -> str:
    """city.toml: one [[agency]] table per agency, in the corpus's order."""
    lines = [f"# {line}" for line in city.header] + [""]
    for a in city.agencies:
        fmts = ", ".join(f'"{f}"' for f in a.accepted_formats)
        lines += [
            "[[agency]]",
            f'code = "{a.code}"',
            f'name = "{a.name}"',
            f'fonds = "{a.fonds}"',
            f'fonds_name = "{a.fonds_name}"',
            f'unit = "{a.unit}"',
            f'drop = "{a.drop}"',
            f"accepted_formats = [{fmts}]",
            "allow_classified = false",
            "",
        ]
    return "\n".join(lines)
