"""The readers of images and plain text: a TIFF's page count, a text file's decoded text."""

from __future__ import annotations

import struct
from typing import IO

MAX_TIFF_PAGES = 100_000


def tiff_pages(f: IO[bytes], head: bytes) -> int | None:
    """Count the images (IFDs) of a TIFF or BigTIFF; None when the chain is broken."""
    try:
        order = {b"II": "<", b"MM": ">"}[head[:2]]
        big = struct.unpack(order + "H", head[2:4])[0] == 43
        if big:
            offset = struct.unpack(order + "Q", head[8:16])[0]
        else:
            offset = struct.unpack(order + "I", head[4:8])[0]
        seen: set[int] = set()
        while offset and len(seen) < MAX_TIFF_PAGES:
            if offset in seen:
                return None
            seen.add(offset)
            f.seek(offset)
            if big:
                (count,) = struct.unpack(order + "Q", f.read(8))
                f.seek(offset + 8 + count * 20)
                (offset,) = struct.unpack(order + "Q", f.read(8))
            else:
                (count,) = struct.unpack(order + "H", f.read(2))
                f.seek(offset + 2 + count * 12)
                (offset,) = struct.unpack(order + "I", f.read(4))
        return len(seen) or None
    except (KeyError, struct.error, OSError, ValueError):
        return None


def decode_text(data: bytes) -> str:
    """Text as UTF-8 (a BOM allowed) or GB18030, a character cut at the end of ``data`` dropped."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError as e:
            # A multi-byte character cut at the end of the read is not a decoding failure.
            if e.start >= len(data) - 4:
                return data[: e.start].decode(enc, "replace")
    return data.decode("utf-8", "replace")
