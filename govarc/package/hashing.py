"""Streaming digests: every algorithm in one pass per file, 1 MiB blocks, all cores.

hashlib releases the GIL while it hashes a block of 2 KiB or more, and file I/O releases it too,
so a thread pool keeps both cores busy without the cost of processes. Each worker thread reuses
one 1 MiB buffer for every file it handles, so peak memory does not grow with file size or count
(and no file pays for mapping and zeroing a fresh megabyte).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
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


# hashlib.sha256() is a direct constructor; hashlib.new() looks the name up on every call.
_CONSTRUCTORS: dict[str, Callable[[], hashlib._Hash]] = {
    "sha256": hashlib.sha256, "sha512": hashlib.sha512, "sha1": hashlib.sha1, "md5": hashlib.md5,
}


def new_hasher(algorithm: Algorithm) -> hashlib._Hash:
    ctor = _CONSTRUCTORS.get(algorithm.value)
    return ctor() if ctor is not None else hashlib.new(algorithm.value)


@dataclass(frozen=True)
class Digests:
    """The size of a byte stream and its hex digest for each algorithm."""

    size: int
    hexdigests: dict[Algorithm, str]
    head: bytes = b""


_local = threading.local()


def _buffer() -> memoryview:
    """This thread's reusable block buffer."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(BLOCK_SIZE))
    return view


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
    view = _buffer()
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


def copy_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    algorithms: Sequence[Algorithm],
    head_size: int = 0,
    progress: Progress | None = None,
) -> Digests:
    """Copy ``src`` to a new file ``dst`` (never replacing one), digesting it in the same pass.

    The copy is not fsynced: the caller decides how to make it durable. Works on raw file
    descriptors, so a small file costs a handful of system calls and no Python file objects.
    Raises :class:`OSError` (``FileExistsError`` when ``dst`` exists).
    """
    hashers = [new_hasher(alg) for alg in algorithms]
    view = _buffer()
    size = 0
    head = b""
    fd_in = os.open(src, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            while True:
                n = os.readv(fd_in, [view])
                if not n:
                    break
                chunk = view[:n]
                for h in hashers:
                    h.update(chunk)
                done = 0
                while done < n:  # a regular file takes it all at once; loop for correctness
                    done += os.write(fd_out, chunk[done:])
                if size < head_size:
                    head = head + bytes(chunk[: head_size - size])
                size += n
                if progress is not None:
                    progress(n)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)
    return Digests(size, {alg: h.hexdigest() for alg, h in zip(algorithms, hashers)}, head)


T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """One thread per core: hashing is CPU-bound and the page cache answers most reads at once."""
    return max(1, os.cpu_count() or 1)


def parallel_map(func: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """Apply ``func`` to ``items`` on a few threads, yielding results in the order of ``items``.

    Each thread takes the next item from a shared counter instead of going through a future per
    item, which matters for thousands of small files. The first exception stops the other threads
    from starting new items and is raised here once they have finished.
    """
    items = list(items)
    workers = min(workers or default_workers(), len(items))
    if workers <= 1:
        yield from map(func, items)
        return
    results: list[R] = [None] * len(items)  # type: ignore[list-item]
    errors: list[BaseException] = []
    lock = threading.Lock()
    next_index = iter(range(len(items))).__next__

    def run() -> None:
        while not errors:
            with lock:  # a range iterator is not guaranteed thread-safe; the lock costs ~0.1 µs
                try:
                    i = next_index()
                except StopIteration:
                    return
            try:
                results[i] = func(items[i])
            except BaseException as e:  # re-raised in the caller's thread
                errors.append(e)
                return

    threads = [threading.Thread(target=run, name=f"govarc-hash-{k}", daemon=True) for k in range(workers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    except BaseException as e:  # Ctrl-C while waiting: let the workers stop after their current item
        errors.append(e)
        raise
    if errors:
        raise errors[0]
    yield from results
