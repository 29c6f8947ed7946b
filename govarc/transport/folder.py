"""The folder transport: objects are files below a root folder, reached without following links.

Every path is walked from the root one segment at a time with ``openat(O_NOFOLLOW)``, so a key
can never leave the root, through ``..`` (refused by key validation) or through a symbolic link
placed in the folder (refused as :class:`UnsafeObjectError`), even one swapped in mid-operation.
Only regular files are opened, checked with ``lstat`` before and ``fstat`` after an
``O_NONBLOCK`` open, so a FIFO never blocks a reader.

An upload writes ``.govarc-part-<hash of the name>`` beside the object, under an exclusive
``flock`` held for the whole upload: a second writer of the same key gets
:class:`TransportBusyError`, and a writer that dies (even by SIGKILL) leaves an unlocked partial
that the next put of the key resumes after comparing it with the stream, or that
``clean_temporaries`` removes. The partial is fsynced, then linked to the final name (which fails
if another object appeared meanwhile) or renamed over it (``overwrite``), and the folder fsynced.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import stat
import time
from pathlib import Path

from govarc.errors import DiskFullError
from govarc.transport.base import (
    BLOCK_SIZE,
    DEFAULT_TEMPORARY_AGE,
    MAX_KEY_DEPTH,
    MAX_LIST_KEYS,
    RESERVED_PREFIX,
    DigestMismatchError,
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    Progress,
    PutResult,
    Readable,
    Transport,
    TransportError,
    TransportUnavailableError,
    UnsafeObjectError,
    Writable,
    check_sha256,
    check_size,
    is_valid_key,
    os_error,
    read_chunk,
    validate_key,
    validate_prefix,
)
from govarc.transport.confined import (
    DIR_FLAGS,
    SKIP_ERRNOS,
    Missing,
    common_prefix,
    kind,
    lstat_at,
    open_folder,
    open_locked,
    open_regular,
    pwrite_all,
    remove_if_unlocked,
)

PART_PREFIX = RESERVED_PREFIX + "part-"

# link(2) is not offered by every file system (FAT, some network shares): then check, then rename.
_NO_LINK = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def part_name(name: str) -> str:
    """The name of the partial upload of the object called ``name`` (fits any name length)."""
    return PART_PREFIX + hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]


class FolderTransport(Transport):
    """Objects as files below ``root`` (an absolute path to an existing folder, or ``create=True``)."""

    scheme = "file"
    resume_unit = 1
    stores_digests = False

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        path = Path(root)
        if not path.is_absolute():
            raise TransportUnavailableError("a folder transport needs an absolute path", str(path))
        if create:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise os_error(e, str(path), "creating the transport folder") from e
        if not path.is_dir():
            raise TransportUnavailableError("the transport folder does not exist or is not a folder", str(path))
        self._root = path

    @property
    def url(self) -> str:
        return str(self._root)

    @property
    def root(self) -> Path:
        return self._root

    # --- walking the folder without following links ----------------------------------------------

    def _root_fd(self) -> int:
        try:
            return os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise TransportUnavailableError(f"the transport folder cannot be opened: {e.strerror}", self.url) from e

    def _dir(self, segments: list[str], create: bool) -> int:
        """An fd of the folder ``segments`` below the root; ``Missing`` if absent (and not ``create``)."""
        return open_folder(self._root_fd(), segments, create, self.where)

    def _locate(self, key: str, create: bool = False) -> tuple[int, str]:
        validate_key(key)
        *parents, name = key.split("/")
        return self._dir(parents, create), name

    # --- reading ----------------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo:
        where = self.where(key)
        try:
            try:
                dfd, name = self._locate(key)
            except Missing:
                raise ObjectNotFoundError("no such object", where) from None
            try:
                fd, st = open_regular(dfd, name, self.where(key))
                os.close(fd)
            finally:
                os.close(dfd)
        except OSError as e:
            raise os_error(e, where, "reading the object's size") from e
        return ObjectInfo(key, st.st_size, None)

    def exists(self, key: str) -> bool:
        where = self.where(key)
        try:
            try:
                dfd, name = self._locate(key)
            except Missing:
                return False
            try:
                st = lstat_at(dfd, name)
            finally:
                os.close(dfd)
        except OSError as e:
            raise os_error(e, where, "looking for the object") from e
        if st is None or stat.S_ISDIR(st.st_mode):
            return False
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeObjectError(f"{kind(st.st_mode)} is there, not an object", where)
        return True

    def get(self, key: str, sink: Writable, sha256: str | None = None, *,
            max_size: int | None = None, progress: Progress | None = None) -> ObjectInfo:
        expected = check_sha256(sha256)
        max_size = check_size(max_size)
        where = self.where(key)
        try:
            try:
                dfd, name = self._locate(key)
            except Missing:
                raise ObjectNotFoundError("no such object", where) from None
            try:
                fd, st = open_regular(dfd, name, self.where(key))
            finally:
                os.close(dfd)
            try:
                if max_size is not None and st.st_size > max_size:
                    raise ObjectTooLargeError(f"{st.st_size} bytes, over the limit of {max_size}", where)
                h = hashlib.sha256()
                n = 0
                while True:
                    chunk = os.read(fd, BLOCK_SIZE)
                    if not chunk:
                        break
                    n += len(chunk)
                    if max_size is not None and n > max_size:
                        raise ObjectTooLargeError(f"grew over the limit of {max_size} bytes while read", where)
                    h.update(chunk)
                    try:
                        sink.write(chunk)
                    except OSError as e:
                        if e.errno in (errno.ENOSPC, errno.EDQUOT):
                            raise DiskFullError(f"writing the fetched object failed: {e.strerror}", where) from e
                        raise TransportError(f"writing the fetched object failed: {e.strerror or e}", where) from e
                    if progress is not None:
                        progress(n)
            finally:
                os.close(fd)
        except OSError as e:
            raise os_error(e, where, "reading the object") from e
        digest = h.hexdigest()
        if expected is not None and digest != expected:
            raise DigestMismatchError(f"SHA-256 is {digest}, expected {expected}", where)
        return ObjectInfo(key, n, digest)

    def _hash_object(self, dfd: int, name: str, key: str) -> tuple[str, int]:
        fd, _ = open_regular(dfd, name, self.where(key))
        try:
            h = hashlib.sha256()
            n = 0
            while chunk := os.read(fd, BLOCK_SIZE):
                h.update(chunk)
                n += len(chunk)
            return h.hexdigest(), n
        finally:
            os.close(fd)

    def list(self, prefix: str = "") -> list[str]:
        base = validate_prefix(prefix)
        segments = base.split("/") if base else []
        out: list[str] = []
        try:
            try:
                fd = self._dir(segments, create=False)
            except Missing:
                return []
            try:
                self._walk(fd, base, len(segments), out)
            finally:
                os.close(fd)
        except OSError as e:
            raise os_error(e, self.where(base), "listing") from e
        out.sort()
        return out

    def _walk(self, fd: int, base: str, depth: int, out: builtins.list[str]) -> None:
        with os.scandir(fd) as it:
            names = [entry.name for entry in it]
        for name in names:
            if name.startswith(RESERVED_PREFIX):
                continue  # temporaries and partial uploads
            key = f"{base}/{name}" if base else name
            if not is_valid_key(key):
                continue  # nothing a key can address (a control character, NFD, too long, …)
            st = lstat_at(fd, name)
            if st is None:
                continue
            if stat.S_ISREG(st.st_mode):
                out.append(key)
                if len(out) > MAX_LIST_KEYS:
                    raise TransportError(f"more than {MAX_LIST_KEYS} keys to list", self.where(base))
            elif stat.S_ISDIR(st.st_mode) and depth + 1 < MAX_KEY_DEPTH:
                try:
                    child = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if e.errno in SKIP_ERRNOS:
                        continue  # replaced by a link or removed meanwhile
                    raise
                try:
                    self._walk(child, key, depth + 1, out)
                finally:
                    os.close(child)
            # links, FIFOs, sockets and devices are not objects: never listed, never followed

    # --- writing ----------------------------------------------------------------------------------

    def put(self, key: str, stream: Readable, size: int | None = None, sha256: str | None = None, *,
            overwrite: bool = False, resume: bool = True, progress: Progress | None = None) -> PutResult:
        expected = check_sha256(sha256)
        size = check_size(size)
        where = self.where(key)
        try:
            dfd, name = self._locate(key, create=True)
            try:
                existing = self._existing(dfd, name, key)
                if existing is not None and expected is not None:
                    have, n = self._hash_object(dfd, name, key)
                    if have == expected and (size is None or n == size):
                        return PutResult(key, n, have, written=False)
                    if not overwrite:
                        raise ObjectExistsError("a different object is already there", where)
                return self._upload(dfd, name, key, stream, size, expected, overwrite, resume, progress)
            finally:
                os.close(dfd)
        except OSError as e:
            raise os_error(e, where, "storing the object") from e

    def _existing(self, dfd: int, name: str, key: str) -> os.stat_result | None:
        st = lstat_at(dfd, name)
        if st is None or stat.S_ISREG(st.st_mode):
            return st
        where = self.where(key)
        if stat.S_ISDIR(st.st_mode):
            raise ObjectExistsError("the key is a folder of other keys", where)
        raise UnsafeObjectError(f"{kind(st.st_mode)} is there, not an object", where)

    def _upload(self, dfd: int, name: str, key: str, stream: Readable, size: int | None,
                expected: str | None, overwrite: bool, resume: bool, progress: Progress | None) -> PutResult:
        where = self.where(key)
        tmp = part_name(name)
        fd = open_locked(dfd, tmp, where)
        try:
            try:
                n, digest, resumed = self._fill(fd, stream, size, resume, where, progress)
                if size is not None and n != size:
                    raise DigestMismatchError(f"{n} bytes, expected {size}; nothing was stored", where)
                if expected is not None and digest != expected:
                    raise DigestMismatchError(f"SHA-256 is {digest}, expected {expected}; nothing was stored", where)
                os.fsync(fd)
            except DigestMismatchError:
                os.unlink(tmp, dir_fd=dfd)  # wrong content is not worth resuming
                raise
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    os.unlink(tmp, dir_fd=dfd)  # a full disk wants its space back more than a resume
                raise
            written = self._commit(dfd, tmp, name, key, digest, n, overwrite)
            if written:
                os.fsync(dfd)
            return PutResult(key, n, digest, written=written, resumed_from=resumed)
        finally:
            os.close(fd)  # releases the lock

    def _fill(self, fd: int, stream: Readable, size: int | None, resume: bool, where: str,
              progress: Progress | None) -> tuple[int, str, int]:
        """Write ``stream`` into the partial ``fd``, reusing its matching prefix; (bytes, SHA-256, reused)."""
        have = os.fstat(fd).st_size if resume else 0
        if not resume:
            os.ftruncate(fd, 0)
        h = hashlib.sha256()
        pos = 0
        reused = 0
        while True:
            chunk = read_chunk(stream, BLOCK_SIZE, where)
            if not chunk:
                break
            if size is not None and pos + len(chunk) > size:
                raise DigestMismatchError(f"more than the expected {size} bytes; nothing was stored", where)
            h.update(chunk)
            if pos < have:
                old = os.pread(fd, len(chunk), pos)
                same = len(chunk) if old == chunk else common_prefix(old, chunk)
                reused = pos + same
                if same < len(chunk):
                    os.ftruncate(fd, pos + same)
                    pwrite_all(fd, chunk[same:], pos + same)
                    have = 0  # from here on, everything is new
            else:
                pwrite_all(fd, chunk, pos)
            pos += len(chunk)
            if progress is not None:
                progress(pos)
        if os.fstat(fd).st_size != pos:
            os.ftruncate(fd, pos)  # the old partial was longer than this content
        return pos, h.hexdigest(), min(reused, pos)

    def _commit(self, dfd: int, tmp: str, name: str, key: str, digest: str, n: int, overwrite: bool) -> bool:
        """Make the complete partial visible under ``name``; False when the same content was already there."""
        if overwrite:
            self._existing(dfd, name, key)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            return True
        try:
            os.link(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
        except FileExistsError:
            pass
        except OSError as e:
            if e.errno not in _NO_LINK:
                raise
            if self._existing(dfd, name, key) is None:
                os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
                return True
        else:
            os.unlink(tmp, dir_fd=dfd)
            return True
        # an object appeared under the key while this one was uploaded
        self._existing(dfd, name, key)
        have, size = self._hash_object(dfd, name, key)
        os.unlink(tmp, dir_fd=dfd)
        if have == digest and size == n:
            return False
        raise ObjectExistsError("a different object is already there", self.where(key))

    def delete(self, key: str) -> bool:
        where = self.where(key)
        try:
            try:
                dfd, name = self._locate(key)
            except Missing:
                return False
            try:
                st = lstat_at(dfd, name)
                if st is None or stat.S_ISDIR(st.st_mode):
                    return False
                try:
                    os.unlink(name, dir_fd=dfd)  # a link or FIFO is removed too: unlink never opens it
                except FileNotFoundError:
                    return False
                os.fsync(dfd)
                return True
            finally:
                os.close(dfd)
        except OSError as e:
            raise os_error(e, where, "deleting the object") from e

    def clean_temporaries(self, max_age: float = DEFAULT_TEMPORARY_AGE) -> int:
        try:
            fd = self._root_fd()
            try:
                return self._clean(fd, 0, time.time() - max_age)
            finally:
                os.close(fd)
        except OSError as e:
            raise os_error(e, self.url, "removing stale temporaries") from e

    def _clean(self, fd: int, depth: int, cutoff: float) -> int:
        removed = 0
        with os.scandir(fd) as it:
            names = [entry.name for entry in it]
        for name in names:
            st = lstat_at(fd, name)
            if st is None:
                continue
            if name.startswith(PART_PREFIX):
                if not stat.S_ISREG(st.st_mode):
                    if not stat.S_ISDIR(st.st_mode):
                        os.unlink(name, dir_fd=fd)  # junk planted in our namespace
                        removed += 1
                elif st.st_mtime <= cutoff and remove_if_unlocked(fd, name):
                    removed += 1
            elif stat.S_ISDIR(st.st_mode) and depth + 1 < MAX_KEY_DEPTH and not name.startswith(RESERVED_PREFIX):
                try:
                    child = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if e.errno in SKIP_ERRNOS:
                        continue
                    raise
                try:
                    removed += self._clean(child, depth + 1, cutoff)
                finally:
                    os.close(child)
        return removed
