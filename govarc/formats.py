"""Format identification from a file's bytes: libmagic plus what libmagic misses.

The ingest layer adds document-level checks (OFD, PDF/A claims); this module answers the
question the package needs for 格式信息: MIME type, format name and version.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import magic

HEAD_SIZE = 8192

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


_NAMES = {
    "application/pdf": "PDF",
    "image/tiff": "TIFF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "text/plain": "Plain text",
    "text/xml": "XML",
    "application/xml": "XML",
    "application/zip": "ZIP",
    "application/msword": "Microsoft Word 97-2003",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Office Open XML Document (DOCX)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Office Open XML Workbook (XLSX)",
    "application/vnd.oasis.opendocument.text": "OpenDocument Text (ODT)",
    "application/ofd": "OFD",
    "application/json": "JSON",
    "application/octet-stream": "Unknown binary",
}


def identify_head(head: bytes) -> FormatInfo:
    """Identify a format from the first bytes of a file (at least :data:`HEAD_SIZE` when it has them)."""
    mime = _magic().from_buffer(head) if head else "application/x-empty"
    version = None
    if mime == "application/pdf":
        m = re.match(rb"%PDF-(\d\.\d)", head)
        version = m.group(1).decode() if m else None
    return FormatInfo(mime, _NAMES.get(mime, mime), version)
