"""The transport interface: relative keys, streamed puts and gets with SHA-256, atomic visibility.

A transport moves bytes to and from a location (a folder, an SFTP server, an S3 bucket) under
validated keys. It knows nothing of packages, lists or receipts. ``specs/transport.md`` is the
normative description; ``tests/transport/contract.py`` is the test every transport passes.
"""

from __future__ import annotations

import abc
import errno
import hashlib
import io
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Protocol

from govarc.errors import EXIT_DISK_FULL, DiskFullError, TransferError

KIB = 1024
MIB = 1024 * KIB

BLOCK_SIZE = 1 * MIB
"""Bytes read and written at a time when streaming (and hashed in one update)."""

MAX_KEY_BYTES = 1024
"""UTF-8 bytes in one key (the S3 limit)."""

MAX_SEGMENT_BYTES = 255
"""UTF-8 bytes in one ``/``-separated segment of a key (a file name on most file systems)."""

MAX_KEY_DEPTH = 32
"""Segments in one key."""

MAX_PUBLISH_BYTES = 8 * MIB
"""Bytes in one control file given to ``publish`` or read with ``read``."""

MAX_LIST_KEYS = 1_000_000
"""Keys one ``list`` call returns; a location holding more under the prefix is an error."""

RESERVED_PREFIX = ".govarc-"
"""Segments starting with this belong to the transport (temporaries, state): never a key."""

DEFAULT_TEMPORARY_AGE = 7 * 24 * 3600
"""Seconds after which ``clean_temporaries`` removes an abandoned partial upload by default."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Control (Cc), format (Cf: zero-width, bidi overrides), surrogates (Cs), line/paragraph separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class Readable(Protocol):
    """A source of bytes: ``read(n)`` returns at most ``n`` bytes, ``b""`` at the end."""

    def read(self, n: int = -1, /) -> bytes: ...


class Writable(Protocol):
    """A sink of bytes."""

    def write(self, data: bytes, /) -> object: ...


Progress = Callable[[int], None]
"""Called with the number of bytes done so far."""


# --- errors -----------------------------------------------------------------------------------


class TransportError(TransferError):
    """A transport operation that failed (exit 5); ``str()`` names the location and the key."""


class TransportUnavailableError(TransportError):
    """A URL whose scheme no transport serves (yet), or a location that cannot be opened."""


class InvalidKeyError(TransportError):
    """A key that is not a relative, ``/``-separated, NFC name within the limits."""


class DigestMismatchError(TransportError):
    """Content whose SHA-256 or size is not the one expected: nothing was made visible."""


class ObjectNotFoundError(TransportError):
    """No object under the key."""


class ObjectExistsError(TransportError):
    """A different object is already under the key (or the key and another key collide as folder and object)."""


class UnsafeObjectError(TransportError):
    """Something under the key that is not a plain object: a link, a FIFO, a device, a path through a link."""


class ObjectTooLargeError(TransportError):
    """An object larger than the caller's limit: not read."""


class TransportBusyError(TransportError):
    """Another writer is uploading the same key right now."""


class TransportDiskFullError(TransportError, DiskFullError):
    """No space left at the transport's location (exit 8, like every full disk): nothing was made visible."""

    exit_code = EXIT_DISK_FULL


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectInfo:
    """What a transport knows about one object: its size, and its SHA-256 when the transport stores it."""

    key: str
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class PutResult:
    """The outcome of ``put``/``publish``: what is under the key now and what this call did.

    ``written`` is False when the same content was already there (an idempotent retry);
    ``resumed_from`` counts the bytes of an earlier interrupted upload that were reused.
    """

    key: str
    size: int
    sha256: str
    written: bool
    resumed_from: int = 0


# --- keys and digests -------------------------------------------------------------------------


def _show(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 120 else text[:117] + "..."


def validate_key(key: str) -> str:
    """Return ``key`` when it is a valid transport key, else raise :class:`InvalidKeyError`.

    A key is relative, ``/``-separated, non-empty, in Unicode NFC, with no empty, ``.`` or ``..``
    segment, no backslash, no control or invisible format character, no segment starting with
    :data:`RESERVED_PREFIX`, and within :data:`MAX_KEY_BYTES`, :data:`MAX_SEGMENT_BYTES` and
    :data:`MAX_KEY_DEPTH`. Keys are never normalised silently: callers pass NFC.
    """

    def bad(problem: str) -> InvalidKeyError:
        return InvalidKeyError(f"invalid key {_show(key)}: {problem}")

    if not isinstance(key, str):
        raise bad("not a string")
    if not key:
        raise bad("empty")
    if len(key) > MAX_KEY_BYTES:
        raise bad(f"longer than {MAX_KEY_BYTES} bytes")
    for ch in key:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            raise bad(f"contains the control or invisible character U+{ord(ch):04X}")
    if "\\" in key:
        raise bad("contains a backslash")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise bad(f"longer than {MAX_KEY_BYTES} bytes")
    if unicodedata.normalize("NFC", key) != key:
        raise bad("not in Unicode NFC form")
    if key.startswith("/"):
        raise bad("absolute")
    segments = key.split("/")
    if len(segments) > MAX_KEY_DEPTH:
        raise bad(f"more than {MAX_KEY_DEPTH} segments")
    for seg in segments:
        if seg == "":
            raise bad("has an empty segment")
        if seg in (".", ".."):
            raise bad(f"has a {seg!r} segment")
        if seg.startswith(RESERVED_PREFIX):
            raise bad(f"segments starting with {RESERVED_PREFIX!r} are reserved")
        if len(seg.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise bad(f"a segment is longer than {MAX_SEGMENT_BYTES} bytes")
    return key


def is_valid_key(key: str) -> bool:
    """True when :func:`validate_key` accepts ``key``."""
    try:
        validate_key(key)
    except InvalidKeyError:
        return False
    return True


def validate_prefix(prefix: str) -> str:
    """A ``list`` prefix: ``""`` (everything) or a key, with or without a trailing ``/``; returned without it."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"invalid prefix {_show(prefix)}: not a string")
    return validate_key(prefix[:-1] if prefix.endswith("/") else prefix)


def is_under(key: str, prefix: str) -> bool:
    """True when ``key`` lies below the (validated) ``prefix``: segment by segment, ``a/b`` is not under ``a/bc``."""
    return prefix == "" or key.startswith(prefix + "/")


def check_sha256(value: str | None) -> str | None:
    """A SHA-256 given by a caller as 64 hex digits (any case), returned in lower case."""
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX64.match(value.lower()):
        raise TransportError(f"not a SHA-256 digest (64 hex digits): {_show(value)}")
    return value.lower()


def check_size(value: int | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TransportError(f"not a size in bytes: {_show(value)}")
    return value


def read_chunk(source: Readable, n: int, where: str) -> bytes:
    """One ``read`` from a caller's source; its failure is a one-line :class:`TransportError`."""
    try:
        data = source.read(n)
    except OSError as e:
        raise TransportError(f"reading the data to upload failed: {e.strerror or e}", where) from e
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TransportError(f"the data to upload is not bytes but {type(data).__name__}", where)
    return bytes(data)


def os_error(e: OSError, where: str, action: str) -> TransportError:
    """The :class:`TransportError` for an ``OSError`` while doing ``action`` at ``where``."""
    text = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return TransportDiskFullError(f"{action} failed: {text} (nothing was made visible)", where)
    return TransportError(f"{action} failed: {text}", where)


class _Discard:
    def write(self, data: bytes, /) -> int:
        return len(data)


# --- the interface ----------------------------------------------------------------------------


class Transport(abc.ABC):
    """A location that stores objects under keys. Every method raises :class:`TransportError` on failure.

    Guarantees every implementation keeps (``specs/transport.md``): an object is visible only when
    complete and verified; ``put`` refuses to replace different content unless told, and the same
    content again is a no-op; an interrupted ``put`` resumes on the next ``put`` of the same key;
    ``list`` never shows temporaries; ``delete`` is idempotent.
    """

    scheme: ClassVar[str]
    resume_unit: ClassVar[int]
    """Granularity of resumed uploads: every complete unit of an interrupted put is reused."""
    stores_digests: ClassVar[bool]
    """True when ``stat`` reports the SHA-256 and ``get`` checks it against the stored one."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The location, for messages (never with credentials)."""

    def where(self, key: str = "") -> str:
        """``url/key``, the name of an object in messages."""
        return f"{self.url.rstrip('/')}/{key}" if key else self.url

    @abc.abstractmethod
    def put(self, key: str, stream: Readable, size: int | None = None, sha256: str | None = None, *,
            overwrite: bool = False, resume: bool = True, progress: Progress | None = None) -> PutResult:
        """Store ``stream`` under ``key``, visible only once complete, and return what was stored.

        The stream is read in :data:`BLOCK_SIZE` blocks and hashed on the way. When ``size`` or
        ``sha256`` is given and the content does not match, :class:`DigestMismatchError` is
        raised and nothing is visible. When an object is already under ``key``: the same content
        is a no-op (``written=False``; with ``sha256`` given the stream is not even read), a
        different one is :class:`ObjectExistsError` unless ``overwrite``. With ``resume``, an
        earlier interrupted put of the same key continues: its stored prefix is reused when it
        matches the stream (verified), else it is discarded.
        """

    @abc.abstractmethod
    def get(self, key: str, sink: Writable, sha256: str | None = None, *,
            max_size: int | None = None, progress: Progress | None = None) -> ObjectInfo:
        """Stream the object under ``key`` into ``sink`` and return its size and SHA-256.

        The digest is computed on the way and checked against ``sha256`` when given and against
        the stored one when the transport keeps it: a mismatch raises :class:`DigestMismatchError`
        after the bytes were written to ``sink``, so a caller writes to a temporary and discards
        it on error (:meth:`download` does that). An object over ``max_size`` raises
        :class:`ObjectTooLargeError` before anything is read.
        """

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size (and SHA-256 when stored) of the object under ``key``; :class:`ObjectNotFoundError` if none."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """True when a complete object is under ``key``."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Every key below ``prefix`` (all keys for ``""``), recursively, sorted by code point.

        ``prefix`` is a key path, matched segment by segment: ``inbound/A`` lists ``inbound/A/x``
        but not ``inbound/AB/x`` nor an object named ``inbound/A`` itself. Temporaries and partial
        uploads are never listed.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the object under ``key``; True if one was removed, False if there was none."""

    @abc.abstractmethod
    def clean_temporaries(self, max_age: float = DEFAULT_TEMPORARY_AGE) -> int:
        """Remove partial uploads of writers no longer running, last touched over ``max_age`` seconds ago.

        A running writer's temporary is never touched. Returns how many were removed.
        """

    # --- built on the operations above ----------------------------------------------------------

    def publish(self, key: str, data: bytes | Readable, *, overwrite: bool = False) -> PutResult:
        """Atomically store a small control file (a signed list, an envelope, a receipt).

        At most :data:`MAX_PUBLISH_BYTES`; visible whole or not at all; the same rules as ``put``
        for an existing object. Publishing a batch's control file last makes the batch visible
        only when complete.
        """
        validate_key(key)
        if isinstance(data, (bytes, bytearray)):
            payload = bytes(data)
        else:
            buf = bytearray()
            while len(buf) <= MAX_PUBLISH_BYTES:  # a pipe hands out less than asked: read to the end
                chunk = read_chunk(data, MAX_PUBLISH_BYTES + 1 - len(buf), self.where(key))
                if not chunk:
                    break
                buf += chunk
            payload = bytes(buf)
        if len(payload) > MAX_PUBLISH_BYTES:
            raise ObjectTooLargeError(f"a control file to publish is over {MAX_PUBLISH_BYTES} bytes", self.where(key))
        return self.put(key, io.BytesIO(payload), size=len(payload),
                        sha256=hashlib.sha256(payload).hexdigest(), overwrite=overwrite, resume=False)

    def read(self, key: str, max_size: int = MAX_PUBLISH_BYTES, sha256: str | None = None) -> bytes:
        """The whole object under ``key`` in memory, refused when over ``max_size`` (control files)."""
        buf = io.BytesIO()
        self.get(key, buf, sha256, max_size=max_size)
        return buf.getvalue()

    def digest(self, key: str) -> str:
        """The SHA-256 of the object under ``key``: the stored one, or computed by reading it."""
        info = self.stat(key)
        if info.sha256 is not None:
            return info.sha256
        got = self.get(key, _Discard())
        assert got.sha256 is not None
        return got.sha256

    def download(self, key: str, dest: Path, sha256: str | None = None, *,
                 max_size: int | None = None, progress: Progress | None = None) -> ObjectInfo:
        """Fetch ``key`` into the local file ``dest`` atomically: complete and verified, or absent.

        ``dest`` must not exist. The bytes go to a temporary beside it, are fsynced, then renamed.
        A full local disk is :class:`govarc.errors.DiskFullError`.
        """
        dest = Path(dest)
        if os.path.lexists(dest):
            raise TransportError("the download destination already exists", str(dest))
        tmp = dest.parent / f"{RESERVED_PREFIX}dl-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise _local_error(e, str(dest)) from e
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                info = self.get(key, out, sha256, max_size=max_size, progress=progress)
                os.fsync(out.fileno())
            os.rename(tmp, dest)
            dfd = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as e:
            _unlink_quietly(tmp)
            raise _local_error(e, str(dest)) from e
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return info

    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _local_error(e: OSError, where: str) -> Exception:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"writing the download failed: {e.strerror} (nothing was kept)", where)
    return TransportError(f"writing the download failed: {e.strerror or e}", where)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
