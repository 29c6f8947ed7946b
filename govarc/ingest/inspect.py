"""Read what a document says: format, pages, text, metadata, encryption and active content.

:func:`inspect_file` never raises for a bad document: what cannot be read is reported in
:attr:`Inspection.unreadable`, so one broken file never stops a batch. Only the first pages'
text is extracted (pypdf text extraction is the slow part of ingest).

:func:`govarc.ingest.text.find_document_number` and :func:`~govarc.ingest.text.find_date` pick the 发文字号 and the 成文日期 out of that
text (GB/T 9704-2012); :func:`compare` reports where they disagree with the record's metadata.

The reading itself is done by one reader per format family, in :mod:`govarc.ingest.readers`:
``pdf``, ``containers`` (ZIP: dispatches to ``ofd`` and ``office``), ``images`` (TIFF pages,
plain text).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from govarc import formats
from govarc.formats import FormatInfo
from govarc.fsutil import open_input
from govarc.ingest.readers.base import MAX_TEXT_CHARS, Found
from govarc.ingest.readers.containers import inspect_zip
from govarc.ingest.readers.images import decode_text, tiff_pages
from govarc.ingest.readers.pdf import inspect_pdf
from govarc.ingest.text import find_date, find_document_number, normalise_document_number

__all__ = ["Inspection", "compare", "find_date", "find_document_number", "inspect_file", "inspect_stream",
           "normalise_document_number"]


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
    found = Found()
    head = f.read(formats.HEAD_SIZE)
    fmt = formats.identify_head(head)
    if not head:
        found.unreadable = "empty file"
    elif fmt.mime == "application/pdf":
        inspect_pdf(f, head, max_pages, found)
    elif head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        inspect_zip(f, max_pages, found)
    elif fmt.mime in ("image/jpeg", "image/png", "image/gif", "image/bmp"):
        found.page_count = 1
    elif fmt.mime == "image/tiff":
        found.page_count = tiff_pages(f, head)
    elif fmt.mime.startswith("text/") and fmt.mime not in ("text/html", "text/xml", "text/rtf"):
        found.text = decode_text(head + f.read(MAX_TEXT_CHARS * 4 - len(head)))[:MAX_TEXT_CHARS]
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
