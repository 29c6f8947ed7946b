"""Small file-system helpers shared by the builder, the reader and ingest."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import BinaryIO


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a folder by path (a folder's fsync makes its new entries durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def _syncfs() -> Callable[[int], int] | None:
    """libc's syncfs(2) when it reports write-back errors (Linux 5.8 or later), else None.

    Looked up once per process (ctypes loading libc on every durable build showed in profiles).
    """
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return None
    try:
        major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        return None
    if (major, minor) < (5, 8):
        return None  # older kernels' syncfs returns 0 even when writing back failed
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


class FilesystemSync:
    """syncfs(2) of the filesystem of ``folder``: every dirty page of it on disk, in one call.

    Open it before the first file it must cover is written: syncfs reports only the write-back
    errors that happened after its descriptor was opened. :attr:`available` is False where
    syncfs cannot be trusted to report them (not Linux, or a kernel older than 5.8); the caller
    then fsyncs its files and folders one by one. Close it (or use it as a context manager).
    The trade-off: it writes back other programs' dirty pages of that filesystem too.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self._fn = _syncfs()
        self._fd: int | None = None
        if self._fn is not None:
            self._fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    @property
    def available(self) -> bool:
        return self._fd is not None

    def sync(self) -> None:
        """Write the filesystem back; raises :class:`OSError` if writing back failed."""
        if self._fn is None or self._fd is None:
            raise RuntimeError("syncfs is not available here (or closed): fsync each file instead")
        if self._fn(self._fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FilesystemSync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def walk_tree(root: Path) -> Iterator[tuple[str, os.DirEntry[str], os.stat_result]]:
    """Every entry below ``root`` but folders, as ``(relative "/" path, entry, lstat)``; links are not followed."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append((Path(entry.path), rel + "/"))
                else:
                    yield rel, entry, st


# -- writing a file atomically ----------------------------------------------------------------------

TEMP_MARK = ".govarc-tmp-"
"""Every temporary :func:`atomic_write` makes is ``.<name>.govarc-tmp-<pid>-<hex>`` beside its target."""

_TEMP_NAME_BYTES = 100  # of the target's name in the temporary's: NAME_MAX is 255 bytes


def temp_name(name: str) -> str:
    """The name of a new temporary for a file called ``name``: hidden, beside it, naming this process.

    The process id lets :func:`remove_orphans` tell the temporary of a killed writer from a live one's.
    """
    short = name.encode("utf-8", "surrogateescape")[:_TEMP_NAME_BYTES].decode("utf-8", "ignore")
    return f".{short}{TEMP_MARK}{os.getpid()}-{os.urandom(4).hex()}"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, mode: int | None = None,
                 replace: bool = True) -> Iterator[BinaryIO]:
    """Write the file ``path`` atomically and durably: what the block writes to the file it yields.

    The file is a new temporary in ``path``'s folder (see :func:`temp_name`), created exclusively
    and never through a link. When the block ends, the temporary is flushed and fsynced, then put in
    place — with ``replace``, by ``rename`` over whatever entry is at ``path`` (a link or FIFO there
    is replaced as an entry: nothing is followed or opened); without, by ``link``, which refuses an
    entry already there (:class:`FileExistsError`, raised before the block runs too, and then the
    temporary is removed) — and the folder is fsynced. Readers see the old file or the whole new one,
    never part of it; an exception in the block, or in any step, removes the temporary and leaves
    ``path`` as it was.

    ``mode``: the file's permission bits exactly (``0o600`` for a key), whatever the umask; None
    gives what :func:`open` would (``0o666`` less the umask). The folder must exist.
    """
    path = Path(path)
    if not replace and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "File exists", str(path))
    tmp = path.parent / temp_name(path.name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    placed = False
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # the umask may have narrowed it
        with os.fdopen(fd, "wb") as f:
            fd = -1
            yield f
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if an entry appeared at path meanwhile
        placed = True
        if not replace:
            os.unlink(tmp)
        fsync_path(path.parent)
    finally:
        if fd >= 0:
            os.close(fd)
        if not placed or not replace:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None,
                 replace: bool = True) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_write` (same ``mode`` and ``replace``)."""
    with atomic_write(path, mode=mode, replace=replace) as f:
        f.write(data)


# -- reading untrusted input files ----------------------------------------------------------------

class InputKind(str, Enum):
    """Why an input file was not opened."""

    UNSAFE_PATH = "unsafe path"  # absolute, `..`, a NUL byte: names something outside its folder
    LINK = "link"  # a symbolic link, as the file itself or as a folder on its way
    NOT_REGULAR = "not regular"  # a FIFO, socket, device or folder
    TOO_LARGE = "too large"  # over a size limit (see govarc.limits)


class UnsafeInputError(OSError):
    """An input file refused before a byte of it was read; ``kind`` says why, ``path`` names it."""

    def __init__(self, kind: InputKind, path: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return self.message


_MODE_NAMES = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
)


def mode_name(mode: int) -> str:
    """What a file of mode ``mode`` is, for a message (``a FIFO (named pipe)``, ``a socket``, …)."""
    for test, name in _MODE_NAMES:
        if test(mode):
            return name
    return "not a regular file"


def printable(text: str, limit: int = 1_000) -> str:
    """``text`` with control characters (NUL, newline, …) escaped and cut at ``limit`` characters, for messages."""
    cut = text[:limit] + "…" if len(text) > limit else text
    if cut.isprintable():
        return cut
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in cut)


def relative_parts(name: str) -> tuple[str, ...]:
    """The components of a relative path named by untrusted metadata, or :class:`UnsafeInputError`.

    ``/`` and ``\\`` both separate folders (an OA export written on Windows says ``附件\\a.pdf``);
    an absolute path, a drive letter, a ``..`` component, a NUL byte or an empty name is refused
    with kind ``UNSAFE_PATH``: such a name can only point outside the folder it belongs to.
    """
    shown = printable(name)
    if "\x00" in name:
        raise UnsafeInputError(InputKind.UNSAFE_PATH, shown, "contains a NUL byte")
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) >= 2 and text[1] == ":" and text[0].isalpha()):
        raise UnsafeInputError(InputKind.UNSAFE_PATH, shown, "is an absolute path")
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafeInputError(InputKind.UNSAFE_PATH, shown, "contains '..'")
    if not parts:
        raise UnsafeInputError(InputKind.UNSAFE_PATH, shown, "names no file")
    return parts


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _refuse_stat(st: os.stat_result, shown: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeInputError(InputKind.LINK, shown, "is a symbolic link; links are never followed")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeInputError(InputKind.NOT_REGULAR, shown, f"is {mode_name(st.st_mode)}, not a regular file")


def check_beneath(root: Path, parts: Sequence[str]) -> Path:
    """``root`` joined with ``parts`` when that is a regular file reached without following a link.

    Looks (``lstat``) without opening anything; :func:`open_input` checks again when it opens.
    Raises :class:`UnsafeInputError` (kind ``LINK`` or ``NOT_REGULAR``, naming the offending path)
    or :class:`FileNotFoundError`.
    """
    path = root
    for i, part in enumerate(parts):
        path = path / part
        st = os.lstat(path)
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            what = "is a symbolic link" if last else "is a symbolic link to a folder"
            raise UnsafeInputError(InputKind.LINK, str(path), f"{what}; links are never followed")
        if not last and not stat.S_ISDIR(st.st_mode):
            raise FileNotFoundError(errno.ENOTDIR, "not a folder", str(path))
        if last:
            _refuse_stat(st, str(path))
    return path


def open_input(path: Path, root: Path | None = None, *, max_bytes: int | None = None) -> BinaryIO:
    """Open an untrusted input file for reading, never blocking and never following a link.

    With ``root``, ``path`` must lie lexically below it and every folder between them is opened
    with ``O_NOFOLLOW`` too, so a folder swapped for a link after discovery is refused. The file
    is opened with ``O_NOFOLLOW | O_NONBLOCK`` and ``fstat``-ed: anything but a regular file (a
    FIFO, socket or device) is refused before a byte is read, as is a file over ``max_bytes``.
    Raises :class:`UnsafeInputError`, or :class:`OSError` when the file cannot be opened.
    """
    shown = str(path)
    dir_fd: int | None = None
    try:
        if root is not None:
            try:
                parts = path.relative_to(root).parts
            except ValueError:
                raise UnsafeInputError(InputKind.UNSAFE_PATH, shown, f"is not inside {root}") from None
            if not parts or ".." in parts:
                raise UnsafeInputError(InputKind.UNSAFE_PATH, shown, f"is not inside {root}")
            dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            where = root
            for part in parts[:-1]:
                where = where / part
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR) and stat.S_ISLNK(
                            os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                        raise UnsafeInputError(InputKind.LINK, str(where),
                                               "is a symbolic link to a folder; links are never followed") from None
                    raise
                os.close(dir_fd)
                dir_fd = fd
            name = parts[-1]
        else:
            name = str(path)
        # Look before opening: opening a device can act on it (a tape rewinds), a FIFO waits.
        _refuse_stat(os.stat(name, dir_fd=dir_fd, follow_symlinks=False), shown)
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UnsafeInputError(InputKind.LINK, shown, "is a symbolic link; links are never followed") from None
            if e.errno == errno.ENXIO:  # a socket cannot be opened at all
                raise UnsafeInputError(InputKind.NOT_REGULAR, shown, "is a socket, not a regular file") from None
            raise
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    try:
        st = os.fstat(fd)
        _refuse_stat(st, shown)
        if max_bytes is not None and st.st_size > max_bytes:
            raise UnsafeInputError(InputKind.TOO_LARGE, shown,
                                   f"is {st.st_size:,} bytes, over the limit of {max_bytes:,}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(path: Path, root: Path | None = None, *, max_bytes: int) -> bytes:
    """The bytes of an untrusted input file of at most ``max_bytes`` (see :func:`open_input`).

    Reads at most one byte more than the limit, so a file that grows while it is read is refused too.
    """
    with open_input(path, root, max_bytes=max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeInputError(InputKind.TOO_LARGE, str(path), f"is over the limit of {max_bytes:,} bytes")
    return data


def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited but was not yet reaped (a zombie): a worker killed with its parent
    is re-parented and may wait a while for its new parent to reap it, and its entries are orphans
    all the same. False where ``/proc`` cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read(4096)
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3]  # the field after the command name
    return state in (b"Z", b"X")


def remove_orphans(folder: Path, pattern: re.Pattern[str]) -> None:
    """Remove the entries of ``folder`` whose names match ``pattern`` and whose process is gone.

    ``pattern``'s first group is the process id that made the entry; an entry of a process that
    still runs (or of another user's, which cannot be asked) is kept. Nothing is followed.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            if not _exited(int(m.group(1))):
                continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        if entry.is_dir(follow_symlinks=False):
            import shutil  # here: shutil pulls in bz2 and lzma, which `govarc verify` never needs

            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
