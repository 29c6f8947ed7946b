"""A package as it travels (transfer to the archives, exchange between agencies): one regular file.

A package kept as a folder is zipped deterministically (stored, one top folder, entries in name
order, a fixed time), so the same package always travels as the same bytes and a retried upload is
recognised as the same object. Files are opened without following links, and only when regular.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from pathlib import Path

from govarc.errors import InvalidInputError
from govarc.fsutil import atomic_write

BLOCK = 1024 * 1024
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def open_regular(path: Path, purpose: str = "a package") -> int:
    """An fd on the regular file ``path``, not following a link, refusing FIFOs and devices unopened."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(f"{purpose} must be a regular file or a folder", str(path))
    # O_NONBLOCK: a FIFO swapped in after the lstat must not block the open (it is refused below).
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InvalidInputError(f"{purpose} must be a regular file", str(path))
    os.set_blocking(fd, True)
    return fd


def file_digest(path: Path, purpose: str = "a package") -> tuple[str, int]:
    """SHA-256 (hex) and size of the regular file ``path``, read in 1 MiB blocks."""
    h, n = hashlib.sha256(), 0
    with os.fdopen(open_regular(path, purpose), "rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def zip_folder_package(folder: Path, dest: Path) -> None:
    """Zip the package folder ``folder`` into ``dest`` as the store would have (stored, one top folder).

    Entries are in name order with a fixed time, so the same package always zips to the same bytes.
    A link or special file inside is refused (a package in the store never has one). ``dest`` is
    written atomically and durably (:func:`govarc.fsutil.atomic_write`).
    """
    entries: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            if not stat.S_ISREG(os.lstat(p).st_mode):
                raise InvalidInputError("the package holds something that is not a regular file", str(p))
            entries.append((Path(os.path.relpath(p, folder)).as_posix(), p))
    entries.sort()
    with atomic_write(dest) as raw, zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for rel, p in entries:
            info = zipfile.ZipInfo(f"{folder.name}/{rel}", date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            with os.fdopen(open_regular(p), "rb") as src, zf.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(src, out, BLOCK)
