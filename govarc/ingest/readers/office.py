"""The readers of office documents: OOXML (core properties, DOCX text, macros, embeddings) and ODF text."""

from __future__ import annotations

import zipfile

from lxml import etree

from govarc import formats
from govarc.formats import FormatInfo
from govarc.ingest.readers.base import Found, clean, parse_part, xml_text

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODF_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def inspect_ooxml(zf: zipfile.ZipFile, fmt: FormatInfo, found: Found) -> None:
    names = zf.namelist()
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        found.active.add("Macro")
    if any("/embeddings/" in n.lower() for n in names):
        found.active.add("EmbeddedFile")
    if "docProps/core.xml" in names:
        core = parse_part(zf, "docProps/core.xml")
        for key, local in (("Title", "title"), ("Author", "creator"), ("Subject", "subject"),
                           ("Keywords", "keywords"), ("CreationDate", "created"), ("ModDate", "modified")):
            for el in core:
                if isinstance(el.tag, str) and etree.QName(el).localname == local:
                    text = clean("".join(el.itertext()))
                    if text:
                        found.info[key] = text
    if fmt.mime in (formats.DOCX_MIME, "application/vnd.ms-word.document.macroEnabled.12") and "word/document.xml" in names:
        found.text = xml_text(zf, "word/document.xml", {f"{{{W_NS}}}p"}, docx_paragraph)


def docx_paragraph(p: etree._Element) -> str:
    out = []
    for el in p.iter(f"{{{W_NS}}}t", f"{{{W_NS}}}tab", f"{{{W_NS}}}br", f"{{{W_NS}}}cr"):
        local = el.tag.rpartition("}")[2]
        if local == "t":
            out.append(el.text or "")
        elif el.getparent() is not None and el.getparent().tag == f"{{{W_NS}}}r":
            # w:tab also defines tab stops in w:pPr/w:tabs; only a run's w:tab is a character.
            out.append("\t" if local == "tab" else "\n")
    return "".join(out)


def odf_paragraph(p: etree._Element) -> str:
    return "".join(p.itertext())
