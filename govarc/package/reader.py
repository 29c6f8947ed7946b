"""Read a package as a directory or a .zip, without following links or extracting anything.

A reader lists every entry with its kind, so the verifier sees links and special files instead of
following them, and opens regular files for streaming. A .zip is read in place: nothing is
written to disk.
"""

from __future__ import annotations

import os
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

# What reading one zip entry can raise besides OSError: a CRC error or bad header (BadZipFile),
# corrupt deflate data (zlib.error, EOFError), an unsupported method (NotImplementedError),
# encryption (RuntimeError) or a local header name that is not UTF-8 (UnicodeDecodeError).
# The reader turns them into EntryUnreadable, so callers need to catch OSError only.
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, UnicodeDecodeError)


class EntryUnreadable(OSError):
    """An entry of a package cannot be read (CRC error, corrupt data, unsupported compression)."""


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
        except _ZIP_READ_ERRORS as e:
            raise self._fail(e) from e

    def readinto(self, b: bytearray | memoryview) -> int:
        try:
            return self._f.readinto(b)  # type: ignore[attr-defined, no-any-return]
        except _ZIP_READ_ERRORS as e:
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

    def open(self, name: str) -> BinaryIO:
        """Open a regular file entry for reading; read errors are OSError (:class:`EntryUnreadable` in a zip)."""
        raise NotImplementedError

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def has_file(self, name: str) -> bool:
        e = self.entries.get(name)
        return e is not None and e.kind == "file"

    def close(self) -> None:
        pass


class DirReader(PackageReader):
    def __init__(self, root: Path) -> None:
        self.path = root
        self.entries = {}
        self.problems = []
        for rel, _entry, st in walk_tree(root):
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                self.entries[rel] = Entry(rel, st.st_size, "file")
            else:
                what = "symbolic link" if stat.S_ISLNK(st.st_mode) else (
                    "hard link" if stat.S_ISREG(st.st_mode) else "special file")
                self.entries[rel] = Entry(rel, st.st_size, "link")
                self.problems.append(Finding("LINK_IN_PACKAGE", rel, f"{what} in package"))

    def open(self, name: str) -> BinaryIO:
        if self.entries.get(name, Entry(name, 0, "")).kind != "file":
            raise FileNotFoundError(name)
        # O_NOFOLLOW: a file swapped for a link after listing is still never followed.
        fd = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW)
        return os.fdopen(fd, "rb", buffering=0)


class ZipReader(PackageReader):
    """A zipped package: one top-level folder holding the bag; read in place."""

    is_zip = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries = {}
        self.problems = []
        self._local = threading.local()
        self._zf = zipfile.ZipFile(path)  # BadZipFile is handled by the caller
        self._names: dict[str, zipfile.ZipInfo] = {}
        infos = self._zf.infolist()
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

    def _thread_zip(self) -> zipfile.ZipFile:
        # One handle per thread: reads from several threads then do not serialise on one seek.
        zf = getattr(self._local, "zf", None)
        if zf is None:
            zf = self._local.zf = zipfile.ZipFile(self.path)
            self._opened = getattr(self, "_opened", []) + [zf]
        return zf

    def open(self, name: str) -> BinaryIO:
        info = self._names.get(name)
        if info is None or self.entries[name].kind != "file":
            raise FileNotFoundError(name)
        try:
            f = self._thread_zip().open(info)
        except _ZIP_READ_ERRORS as e:
            raise EntryUnreadable(f"{name}: {type(e).__name__}: {e}") from e
        return _EntryStream(f, name)  # type: ignore[return-value]

    def close(self) -> None:
        self._zf.close()
        for zf in getattr(self, "_opened", []):
            zf.close()


@contextmanager
def open_package(path: Path) -> Iterator[PackageReader]:
    """Open a package directory or .zip; raises FileNotFoundError, NotADirectoryError or BadZipFile."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        reader: PackageReader = DirReader(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            reader = ZipReader(path)
        except zipfile.BadZipFile:
            raise
        except (*_ZIP_READ_ERRORS, UnicodeDecodeError, ValueError, OSError) as e:
            # A damaged central directory surfaces as many exception types (a name flagged
            # UTF-8 that is not, an impossible version, a negative seek): all mean a bad zip.
            raise zipfile.BadZipFile(f"{type(e).__name__}: {e}") from e
    elif path.is_file():
        raise zipfile.BadZipFile("not a zip file")
    else:
        raise FileNotFoundError(str(path))
    try:
        yield reader
    finally:
        reader.close()
