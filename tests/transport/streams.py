"""Sources and data for the transport tests: reproducible bytes, streams that fail or watch mid-way."""

from __future__ import annotations

import hashlib
import random


def blob(n: int, seed: int = 0) -> bytes:
    """``n`` reproducible pseudo-random bytes (incompressible, unlike zeros)."""
    return random.Random(seed).randbytes(n)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Interrupted(Exception):
    """Raised by a source to simulate a crash of the reading side mid-upload."""


class Source:
    """A readable that hands out ``data`` in ``chunk``-sized reads and can fail or watch mid-way.

    ``fail_at``: raise :class:`Interrupted` on the first read after that many bytes were handed
    out. ``watch``: called before every read after the first, while the upload is in progress.
    """

    def __init__(self, data: bytes, *, chunk: int | None = None, fail_at: int | None = None, watch=None):
        self.data = data
        self.pos = 0
        self.chunk = chunk
        self.fail_at = fail_at
        self.watch = watch
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        if self.watch is not None and self.reads:
            self.watch()
        self.reads += 1
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise Interrupted(f"source failed after {self.pos} bytes")
        end = len(self.data) if n < 0 else self.pos + n
        if self.chunk is not None:
            end = min(end, self.pos + self.chunk)
        if self.fail_at is not None:
            end = min(end, self.fail_at)
        out = self.data[self.pos:end]
        self.pos += len(out)
        return out


class Unreadable:
    def read(self, n: int = -1) -> bytes:
        raise AssertionError("the stream was read although the object was already there")

