"""File operations confined below a folder: every path opened one segment at a time, no link followed.

The folder transport's primitives. Each works on a directory file descriptor (``openat``), so a
symbolic link placed or swapped into the tree is refused, never followed; only regular files are
opened, checked with ``lstat`` before and ``fstat`` after an ``O_NONBLOCK`` open (a FIFO never
blocks); partial uploads are held under an exclusive ``flock``, which the kernel drops when the
writer dies, even by SIGKILL.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable

from govarc.transport.base import ObjectExistsError, ObjectNotFoundError, TransportBusyError, UnsafeObjectError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_PART_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
SKIP_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.ENOENT)
"""``open(DIR_FLAGS)`` of an entry that became a link, a file, or nothing since it was listed."""


class Missing(Exception):
    """A folder on the way to a key does not exist (or is a plain file): no object can be there."""


def lstat_at(dfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def kind(mode: int) -> str:
    """What a non-regular entry is, for a message."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def open_folder(root_fd: int, segments: list[str], create: bool, where: Callable[[str], str]) -> int:
    """An fd of the folder ``segments`` below ``root_fd`` (which it takes over and closes).

    Raises :class:`Missing` when a folder is absent (and not ``create``) or is a plain file (and
    not ``create``: then :class:`ObjectExistsError`), :class:`UnsafeObjectError` for a link or a
    special file on the way. ``where(path)`` names a path in messages.
    """
    fd = root_fd
    try:
        for i, seg in enumerate(segments):
            try:
                nfd = os.open(seg, DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                if e.errno == errno.ENOENT and create:
                    try:
                        os.mkdir(seg, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                elif e.errno not in SKIP_ERRNOS:
                    raise
                nfd = _reopen_folder(fd, seg, create, where("/".join(segments[: i + 1])))
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _reopen_folder(fd: int, seg: str, create: bool, where: str) -> int:
    try:
        return os.open(seg, DIR_FLAGS, dir_fd=fd)
    except OSError as e:
        if e.errno not in SKIP_ERRNOS:
            raise
    st = lstat_at(fd, seg)
    if st is None:
        raise Missing()
    if stat.S_ISREG(st.st_mode):
        if not create:
            raise Missing()
        raise ObjectExistsError("an object is there, so it cannot hold other keys", where)
    raise UnsafeObjectError(f"the key goes through {kind(st.st_mode)}, not a folder", where)


def open_regular(dfd: int, name: str, where: str) -> tuple[int, os.stat_result]:
    """An fd of the regular file ``name`` in ``dfd`` and its fstat, checked before and after opening."""
    st = lstat_at(dfd, name)
    if st is None or stat.S_ISDIR(st.st_mode):
        raise ObjectNotFoundError("no such object", where)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeObjectError(f"{kind(st.st_mode)} is there, not an object", where)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dfd)
    except FileNotFoundError:
        raise ObjectNotFoundError("no such object", where) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafeObjectError("a symbolic link is there, not an object", where) from None
        raise
    fst = os.fstat(fd)
    if not stat.S_ISREG(fst.st_mode):
        os.close(fd)
        raise UnsafeObjectError(f"{kind(fst.st_mode)} is there, not an object", where)
    return fd, fst


def open_locked(dfd: int, name: str, where: str) -> int:
    """The partial upload ``name`` in ``dfd``, created or reused, locked exclusively for this writer."""
    for _ in range(8):
        st = lstat_at(dfd, name)
        if st is not None and (not stat.S_ISREG(st.st_mode) or st.st_nlink != 1):
            # not ours to resume: planted junk, or a crash between link and unlink left a second
            # name of a published object, which must never be written through
            try:
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                pass
        try:
            fd = os.open(name, _PART_FLAGS, 0o644, dir_fd=dfd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.EEXIST, errno.ENOENT):
                continue  # something was swapped in meanwhile: look again
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise TransportBusyError("another writer is uploading this key right now", where) from None
        except BaseException:
            os.close(fd)
            raise
        fst = os.fstat(fd)
        cur = lstat_at(dfd, name)
        if (cur is not None and stat.S_ISREG(fst.st_mode) and fst.st_nlink == 1
                and (cur.st_dev, cur.st_ino) == (fst.st_dev, fst.st_ino)):
            return fd
        os.close(fd)  # the previous writer published it as we opened it: start again
    raise TransportBusyError("the partial upload keeps changing under this writer", where)


def remove_if_unlocked(dfd: int, name: str) -> bool:
    """Remove the partial upload ``name`` unless a running writer holds it; True if removed."""
    try:
        pfd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(pfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a running writer
        fst = os.fstat(pfd)
        cur = lstat_at(dfd, name)
        if cur is None or (cur.st_dev, cur.st_ino) != (fst.st_dev, fst.st_ino):
            return False
        os.unlink(name, dir_fd=dfd)
        return True
    finally:
        os.close(pfd)


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix of ``a`` and ``b`` (a binary search over slices)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo
