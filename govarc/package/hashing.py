"""Streaming digests: every algorithm in one pass per file, 1 MiB blocks, all cores.

hashlib releases the GIL while it hashes a block, and file I/O releases it too, so a thread pool
keeps both cores busy without the cost of processes. Memory per worker is one block.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO, TypeVar

BLOCK_SIZE = 1 << 20

Progress = Callable[[int], None]
"""A callback the library calls with a number of bytes done; the CLI turns it into a bar."""


class Algorithm(str, Enum):
    """Digest algorithms a govarc package may carry in its manifests."""

    SHA256 = "sha256"
    SHA512 = "sha512"
    SM3 = "sm3"
    SHA1 = "sha1"
    MD5 = "md5"

    @property
    def hex_length(self) -> int:
        return {"sha256": 64, "sha512": 128, "sm3": 64, "sha1": 40, "md5": 32}[self.value]

    @property
    def weak(self) -> bool:
        return self in (Algorithm.SHA1, Algorithm.MD5)

    @property
    def available(self) -> bool:
        return self.value in hashlib.algorithms_available


def new_hasher(algorithm: Algorithm) -> "hashlib._Hash":
    return hashlib.new(algorithm.value)


@dataclass(frozen=True)
class Digests:
    """The size of a byte stream and its hex digest for each algorithm."""

    size: int
    hexdigests: dict[Algorithm, str]
    head: bytes = b""


def digest_stream(
    stream: BinaryIO,
    algorithms: Iterable[Algorithm],
    sink: BinaryIO | None = None,
    head_size: int = 0,
    progress: Progress | None = None,
) -> Digests:
    """Read ``stream`` to its end once, updating every hasher and copying to ``sink`` if given.

    ``head_size`` keeps the first bytes for format identification without a second read.
    """
    hashers = [(alg, new_hasher(alg)) for alg in algorithms]
    buf = bytearray(BLOCK_SIZE)
    view = memoryview(buf)
    size = 0
    head = b""
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        chunk = view[:n]
        for _, h in hashers:
            h.update(chunk)
        if sink is not None:
            sink.write(chunk)
        if size < head_size:
            head += bytes(chunk[: head_size - size])
        size += n
        if progress is not None:
            progress(n)
    return Digests(size, {alg: h.hexdigest() for alg, h in hashers}, head)


def digest_file(
    path: str | os.PathLike[str],
    algorithms: Iterable[Algorithm],
    progress: Progress | None = None,
) -> Digests:
    """Digest one file (see :func:`digest_stream`)."""
    with open(path, "rb", buffering=0) as f:
        return digest_stream(f, algorithms, progress=progress)


T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def parallel_map(func: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """Apply ``func`` to ``items`` on a thread pool, yielding results in the order of ``items``."""
    items = list(items)
    workers = workers or default_workers()
    if workers == 1 or len(items) <= 1:
        yield from map(func, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(func, items, chunksize=1)
