"""The reader of ZIP containers: identifies OFD, OOXML or ODF and hands over to its reader."""

from __future__ import annotations

import zipfile
from typing import IO

from lxml import etree

from govarc import formats
from govarc.ingest.readers.base import Found, short, xml_text
from govarc.ingest.readers.office import ODF_TEXT_NS, inspect_ooxml, odf_paragraph
from govarc.ingest.readers.ofd import inspect_ofd


def inspect_zip(f: IO[bytes], max_pages: int, found: Found) -> None:
    """Read a ZIP container: OFD, OOXML or ODF by its content, a plain ZIP only identified."""
    f.seek(0)
    try:
        with zipfile.ZipFile(f) as zf:
            fmt = formats.identify_open_zip(zf)
            found.format = fmt
            if fmt.mime == formats.OFD_MIME:
                inspect_ofd(zf, max_pages, found)
            elif fmt.mime in formats.OOXML_MAIN_PARTS.values():
                inspect_ooxml(zf, fmt, found)
            elif fmt.mime.startswith("application/vnd.oasis.opendocument."):
                found.text = xml_text(zf, "content.xml", {f"{{{ODF_TEXT_NS}}}p", f"{{{ODF_TEXT_NS}}}h"}, odf_paragraph)
    except formats.ZIP_ERRORS + (etree.XMLSyntaxError,) as e:
        found.unreadable = f"cannot read the container ({short(e)})"
