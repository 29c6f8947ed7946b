"""Read a package as a directory or a .zip, without following links or extracting anything.

A reader lists every entry with its kind, so the verifier sees links and special files instead of
following them, and opens regular files for streaming. A .zip is read in place: nothing is
written to disk.

Every resource is bounded (specs/limits.md): the zip's central directory is sized from its end
record before it is loaded, the entries of a package are counted, and :meth:`PackageReader.read`
(which reads a tag file into memory) checks the declared size and compression ratio before
opening and counts the bytes actually read. Over a limit is :class:`LimitExceeded`.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

from govarc import limits

if TYPE_CHECKING:  # zipfile (with shutil, bz2, lzma: ~4 ms of start-up) is imported for a zip only
    import zipfile


def _zip_read_errors() -> tuple[type[BaseException], ...]:
    """What reading one zip entry can raise besides OSError: a CRC error or bad header (BadZipFile),
    corrupt deflate data (zlib.error, EOFError), an unsupported method (NotImplementedError),
    encryption (RuntimeError) or a local header name that is not UTF-8 (UnicodeDecodeError).

    The reader turns them into EntryUnreadable, so callers need to catch OSError only. (Called in
    ``except`` clauses, which are evaluated only when something was raised.)
    """
    import zipfile

    return (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, UnicodeDecodeError)


class EntryUnreadable(OSError):
    """An entry of a package cannot be read (CRC error, corrupt data, unsupported compression)."""


class LimitExceeded(OSError):
    """A package or one of its entries is over a limit of :mod:`govarc.limits`; it was not read on.

    ``name`` is the entry (or the package file name), ``reason`` one line saying which limit.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


# Bytes the central directory of a zip may take: what the entries' names can need when the
# manifests listing them fit MAX_TAG_FILE_BYTES, plus a fixed-size header (46 bytes, a ZIP64
# extra field and a top folder name) per entry. Checked from the end record before loading it.
MAX_ZIP_DIRECTORY_BYTES = limits.MAX_TAG_FILE_BYTES + 512 * limits.MAX_ZIP_ENTRIES

_READ_BLOCK = 64 * 1024


class _EntryStream:
    """A zip entry stream whose read errors surface as :class:`EntryUnreadable`."""

    def __init__(self, f: IO[bytes], name: str) -> None:
        self._f = f
        self._name = name

    def _fail(self, e: BaseException) -> EntryUnreadable:
        return EntryUnreadable(f"{self._name}: {type(e).__name__}: {e}")

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except _zip_read_errors() as e:
            raise self._fail(e) from e

    def readinto(self, b: bytearray | memoryview) -> int:
        try:
            return self._f.readinto(b)  # type: ignore[attr-defined, no-any-return]
        except _zip_read_errors() as e:
            raise self._fail(e) from e

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> _EntryStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

from govarc.findings import Finding
from govarc.fsutil import walk_tree
from govarc.package.manifest import unsafe_reason


@dataclass(frozen=True)
class Entry:
    """One entry of a package: its name relative to the bag root and what it is."""

    name: str
    size: int
    kind: str  # "file", "link" or "special"


class PackageReader:
    """Entries of a package; ``problems`` holds structural findings found while listing them."""

    path: Path
    entries: dict[str, Entry]
    problems: list[Finding]
    is_zip: bool = False
    # Tag files read whole, by name: a package's tag files are small (within MAX_TAG_FILE_BYTES)
    # and few, and both the package checks and the signature checks read them.
    _whole: dict[str, bytes]

    def open(self, name: str) -> BinaryIO:
        """Open a regular file entry for reading; read errors are OSError (:class:`EntryUnreadable` in a zip)."""
        raise NotImplementedError

    def limit_problem(self, name: str, limit: int = limits.MAX_TAG_FILE_BYTES) -> str | None:
        """Why reading entry ``name`` whole would break a limit, judged before opening it; or None."""
        e = self.entries.get(name)
        if e is not None and e.size > limit:
            return f"{e.size} bytes, over the limit of {limit} (MAX_TAG_FILE_BYTES)"
        return None

    def read(self, name: str, limit: int = limits.MAX_TAG_FILE_BYTES) -> bytes:
        """The whole of a (tag) file entry, at most ``limit`` bytes.

        Raises :class:`LimitExceeded` when the entry declares more (or, in a zip, is compressed
        more than MAX_COMPRESSION_RATIO), checked before opening, or when more bytes than
        declared or than ``limit`` actually arrive; other read errors are OSError.
        """
        reason = self.limit_problem(name, limit)
        if reason:
            raise LimitExceeded(name, reason)
        kept = self._whole.get(name)
        if kept is not None and len(kept) <= limit:
            return kept
        entry = self.entries.get(name)
        declared = entry.size if entry is not None else 0
        chunks = []
        got = 0
        with self.open(name) as f:
            while True:
                chunk = f.read(_READ_BLOCK)
                if not chunk:
                    break
                got += len(chunk)
                if got > limit or got > declared:
                    raise LimitExceeded(name, f"more bytes than the {min(limit, declared)} it declares (a lying size)")
                chunks.append(chunk)
        data = b"".join(chunks)
        if got == declared:  # read whole and as declared: kept, so the next check does not read it again
            self._whole[name] = data
        return data

    def whole(self, name: str) -> bytes | None:
        """The bytes of entry ``name`` if :meth:`read` has read it whole already (tag files), else None."""
        return self._whole.get(name)

    def has_file(self, name: str) -> bool:
        e = self.entries.get(name)
        return e is not None and e.kind == "file"

    def close(self) -> None:
        pass


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class DirReader(PackageReader):
    def __init__(self, root: Path) -> None:
        self.path = root
        self._root = os.path.join(os.fspath(root), "")
        self.entries = {}
        self.problems = []
        self._whole = {}
        for rel, _entry, st in walk_tree(root):
            if len(self.entries) >= limits.MAX_ZIP_ENTRIES:
                raise LimitExceeded(root.name, f"more than {limits.MAX_ZIP_ENTRIES} entries (MAX_ZIP_ENTRIES)")
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                self.entries[rel] = Entry(rel, st.st_size, "file")
            else:
                what = "symbolic link" if stat.S_ISLNK(st.st_mode) else (
                    "hard link" if stat.S_ISREG(st.st_mode) else "special file")
                self.entries[rel] = Entry(rel, st.st_size, "link")
                self.problems.append(Finding("LINK_IN_PACKAGE", rel, f"{what} in package"))

    def open(self, name: str) -> BinaryIO:
        entry = self.entries.get(name)
        if entry is None or entry.kind != "file":
            raise FileNotFoundError(name)
        # O_NOFOLLOW: a file swapped for a link after listing is still never followed.
        # O_NONBLOCK: one swapped for a FIFO does not block the open; fstat then refuses it.
        # The path is joined as a string: this runs once per file of packages of thousands.
        fd = os.open(self._root + name, _OPEN_FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{name}: not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return open(fd, "rb", buffering=0)  # type: ignore[return-value]


class ZipReader(PackageReader):
    """A zipped package: one top-level folder holding the bag; read in place."""

    is_zip = True

    def __init__(self, path: Path) -> None:
        import zipfile

        self.path = path
        self.entries = {}
        self.problems = []
        self._whole = {}
        self._local = threading.local()
        # A small zip (a one-record package is a few KiB) is read with one open and one read and
        # served from memory: listing it and reading its eight entries then costs no further
        # system call. A bigger one is read in place.
        self._data = _small_file_bytes(path, SMALL_ZIP_BYTES)
        try:
            f: BinaryIO = _MemoryFile(self._data) if self._data is not None else open(path, "rb")
        except OSError:
            raise zipfile.BadZipFile("not a zip file") from None  # as zipfile.is_zipfile judges it
        with f:
            if not zipfile.is_zipfile(f):
                raise zipfile.BadZipFile("not a zip file")
            _check_central_directory(f, path.name)
        self._zf = zipfile.ZipFile(self._source())  # BadZipFile is handled by the caller
        self._local.zf = self._zf  # the opening thread reads through it; other threads open their own
        self._names: dict[str, zipfile.ZipInfo] = {}
        infos = self._zf.infolist()
        if len(infos) > limits.MAX_ZIP_ENTRIES:
            self._zf.close()
            raise LimitExceeded(path.name, f"{len(infos)} entries, over the limit of {limits.MAX_ZIP_ENTRIES} (MAX_ZIP_ENTRIES)")
        tops = set()
        for info in infos:
            name = info.filename
            reason = unsafe_reason(name.rstrip("/")) if name.rstrip("/") else "empty name"
            mode = info.external_attr >> 16
            if reason:
                self.problems.append(Finding("ZIP_UNSAFE_ENTRY", name, f"zip entry is unsafe: {reason}"))
                continue
            if stat.S_ISLNK(mode):
                self.problems.append(Finding("ZIP_UNSAFE_ENTRY", name, "zip entry is a symbolic link"))
                continue
            tops.add(name.split("/", 1)[0])
        if len(tops) != 1:
            self.problems.append(
                Finding("ZIP_LAYOUT", path.name, f"zip holds {len(tops)} top-level entries; the profile wants one folder")
            )
            self.top = ""
        else:
            self.top = tops.pop()
        prefix = self.top + "/"
        for info in infos:
            if not info.filename or info.is_dir() or not info.filename.startswith(prefix):
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode) or unsafe_reason(info.filename):
                continue
            rel = info.filename[len(prefix):]
            if rel in self.entries:
                self.problems.append(Finding("ZIP_INVALID", rel, "zip holds this entry twice"))
                continue
            # Only the file-type bits decide: many tools (Python's writestr among them) store
            # permission bits alone (0o600), which is a regular file, not a special one.
            kind = "file" if stat.S_IFMT(mode) in (0, stat.S_IFREG) else "special"
            if kind == "special":
                self.problems.append(Finding("ZIP_UNSAFE_ENTRY", rel, "zip entry is a special file"))
            self.entries[rel] = Entry(rel, info.file_size, kind)
            self._names[rel] = info

    def limit_problem(self, name: str, limit: int = limits.MAX_TAG_FILE_BYTES) -> str | None:
        reason = super().limit_problem(name, limit)
        info = self._names.get(name)
        if reason is None and info is not None and info.compress_type != _ZIP_STORED:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.MAX_COMPRESSION_RATIO:
                reason = (f"compressed {info.compress_size} to {info.file_size} bytes, a ratio of {ratio:.0f}, "
                          f"over the limit of {limits.MAX_COMPRESSION_RATIO} (MAX_COMPRESSION_RATIO)")
        return reason

    def _source(self) -> Path | _MemoryFile:
        return _MemoryFile(self._data) if self._data is not None else self.path

    def _thread_zip(self) -> zipfile.ZipFile:
        # One handle per thread: reads from several threads then do not serialise on one seek.
        zf = getattr(self._local, "zf", None)
        if zf is None:
            import zipfile

            zf = self._local.zf = zipfile.ZipFile(self._source())
            self._opened = getattr(self, "_opened", []) + [zf]
        return zf

    def _stored_bytes(self, info: zipfile.ZipInfo) -> bytes | None:
        """The bytes of a stored entry of a zip held in memory, when every check zipfile makes on
        opening and reading it passes (local header, name, flags, bounds, CRC-32); else None, and
        zipfile reads it (and words what is wrong) as usual."""
        data = self._data
        if (data is None or info.compress_type != _ZIP_STORED or info.flag_bits & _UNREADABLE_FLAGS
                or info.compress_size != info.file_size):
            return None
        at = info.header_offset
        if at < 0 or at + _LOCAL.size > len(data):
            return None
        sig, flags, name_len, extra_len = _LOCAL.unpack_from(data, at)
        start = at + _LOCAL.size + name_len + extra_len
        end = start + info.compress_size
        if sig != b"PK\x03\x04" or end > len(data):
            return None
        raw = data[at + _LOCAL.size:at + _LOCAL.size + name_len]
        try:
            local_name = raw.decode("utf-8") if flags & 0x800 else raw.decode("cp437")
        except UnicodeDecodeError:
            return None
        body = data[start:end]
        if local_name != info.orig_filename or zlib.crc32(body) != info.CRC:
            return None
        return body

    def open(self, name: str) -> BinaryIO:
        info = self._names.get(name)
        if info is None or self.entries[name].kind != "file":
            raise FileNotFoundError(name)
        body = self._stored_bytes(info)
        if body is not None:
            return io.BytesIO(body)
        try:
            f = self._thread_zip().open(info)
        except _zip_read_errors() as e:
            raise EntryUnreadable(f"{name}: {type(e).__name__}: {e}") from e
        return _EntryStream(f, name)  # type: ignore[return-value]

    def close(self) -> None:
        self._zf.close()
        for zf in getattr(self, "_opened", []):
            zf.close()


# The local file header as zipfile reads it: signature, flags (after the version), name and extra lengths.
_LOCAL = struct.Struct("<4s2xH18xHH")
# Encrypted (bit 0), compressed patched data (bit 5), strong encryption (bit 6): zipfile refuses them.
_UNREADABLE_FLAGS = 0x01 | 0x20 | 0x40
_ZIP_STORED = 0  # zipfile.ZIP_STORED: no compression
_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")


class _MemoryFile(io.BytesIO):
    """A file held in memory that fails as a file on disk does: a negative seek is OSError EINVAL
    (BytesIO raises ValueError), so a damaged zip gets the same findings from memory as from disk."""

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0 and pos < 0 or whence == 1 and self.tell() + pos < 0 or whence == 2 and len(self.getbuffer()) + pos < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return super().seek(pos, whence)


# A zip at most this big is read into memory whole (see ZipReader); bigger ones are read in place.
SMALL_ZIP_BYTES = 1024 * 1024


def _small_file_bytes(path: Path, limit: int) -> bytes | None:
    """The bytes of regular file ``path`` if it holds at most ``limit``, read with one open; else None.

    Never follows a link swapped in after the caller's checks and never blocks on a FIFO
    (O_NOFOLLOW | O_NONBLOCK, then fstat). What cannot be opened or read is None too: the zip is
    then opened in place, which reports the problem as before.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        os.set_blocking(fd, True)
        data = os.read(fd, st.st_size + 1)
        while len(data) <= st.st_size:  # a short read: read on to the end (a file that grew is read in place)
            more = os.read(fd, st.st_size + 1 - len(data))
            if not more:
                break
            data += more
        return data if len(data) <= limit and len(data) == st.st_size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _check_central_directory(f: BinaryIO, name: str) -> None:
    """Refuse a zip whose end record declares too many entries or too big a central directory.

    Read as :mod:`zipfile` reads it (the end record in the last 22 bytes, else the last one in the
    final 64 KiB, then its ZIP64 form), so the size checked is the size zipfile would load. What
    cannot be read is left to zipfile, which reports it as a bad zip.
    """
    f.seek(0, 2)
    size = f.tell()
    tail_size = min(size, _EOCD64.size + _EOCD64_LOCATOR.size + _EOCD.size + 0xFFFF)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = len(tail) - _EOCD.size
    if at < 0:
        return
    if tail[at:at + 4] != b"PK\x05\x06" or tail[-2:] != b"\x00\x00":
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _EOCD.size:
            return
    _sig, _disk, _cd_disk, _n_disk, entries, cd_size, _cd_offset, _comment = _EOCD.unpack_from(tail, at)
    # zipfile reads the ZIP64 end record right before its locator, whatever the locator says.
    loc = at - _EOCD64_LOCATOR.size
    if loc >= _EOCD64.size and tail[loc:loc + 4] == b"PK\x06\x07":
        rec = tail[loc - _EOCD64.size:loc]
        if rec[:4] == b"PK\x06\x06":
            entries, cd_size = _EOCD64.unpack(rec)[7:9]
    if entries > limits.MAX_ZIP_ENTRIES:
        raise LimitExceeded(name, f"{entries} entries, over the limit of {limits.MAX_ZIP_ENTRIES} (MAX_ZIP_ENTRIES)")
    if cd_size > MAX_ZIP_DIRECTORY_BYTES:
        raise LimitExceeded(name, f"central directory of {cd_size} bytes, over the limit of {MAX_ZIP_DIRECTORY_BYTES}")


@contextmanager
def open_package(path: Path) -> Iterator[PackageReader]:
    """Open a package directory or .zip.

    Raises FileNotFoundError, NotADirectoryError, BadZipFile, or :class:`LimitExceeded` when the
    package has more entries (or a bigger zip directory) than the limits allow.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        reader: PackageReader = DirReader(path)
    elif path.is_file():
        import zipfile

        bad: tuple[type[BaseException], ...] = (*_zip_read_errors(), UnicodeDecodeError, ValueError, OSError)
        try:
            reader = ZipReader(path)
        except (zipfile.BadZipFile, LimitExceeded):
            raise
        except bad as e:
            # A damaged central directory surfaces as many exception types (a name flagged
            # UTF-8 that is not, an impossible version, a negative seek): all mean a bad zip.
            raise zipfile.BadZipFile(f"{type(e).__name__}: {e}") from e
    else:
        raise FileNotFoundError(str(path))
    try:
        yield reader
    finally:
        reader.close()
