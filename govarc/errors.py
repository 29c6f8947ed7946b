"""The one error tree of govarc: each class carries the exit code the CLI returns for it.

Exit codes (documented in the README):
0 ok, 1 unexpected error, 2 usage, 3 invalid package or input, 4 signature not valid or not
trusted, 5 transfer or exchange failure, 6 configuration error, 7 another run holds the lock,
8 disk full (no space left on a device).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_SIGNATURE = 4
EXIT_TRANSFER = 5
EXIT_CONFIG = 6
EXIT_LOCKED = 7
EXIT_DISK_FULL = 8


class GovarcError(Exception):
    """Root of every error govarc raises on purpose; ``str()`` is one line for the user."""

    exit_code = EXIT_UNEXPECTED

    def __init__(self, message: str, path: str | None = None) -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class InvalidInputError(GovarcError):
    """Bad input: a missing file, unreadable metadata, an existing destination."""

    exit_code = EXIT_INVALID


class InvalidPackageError(InvalidInputError):
    """A package that fails verification."""


class MetadataError(InvalidInputError):
    """Metadata that does not parse or does not match the record schema."""


class SignatureError(GovarcError):
    """A signature that is not valid or not trusted, or a key that cannot be used."""

    exit_code = EXIT_SIGNATURE


class TransferError(GovarcError):
    """A transfer or exchange that failed."""

    exit_code = EXIT_TRANSFER


class ConfigError(GovarcError):
    """A configuration file, workspace or setting that is missing or wrong."""

    exit_code = EXIT_CONFIG


class LockedError(GovarcError):
    """Another run holds the workspace lock."""

    exit_code = EXIT_LOCKED


class DiskFullError(GovarcError):
    """No space left on a device (ENOSPC, EDQUOT): nothing was half-written; free space and re-run."""

    exit_code = EXIT_DISK_FULL


def from_os_error(e: OSError) -> GovarcError:
    """The govarc error for an OSError, with its file as the path: ENOSPC/EDQUOT is a full disk
    (exit 8), a read-only file system or a permission refused is a configuration problem of the
    machine (exit 6), anything else is unexpected (exit 1)."""
    import errno
    import os

    def name(f: object) -> str | None:
        return None if f is None else os.fsdecode(f) if isinstance(f, (str, bytes, os.PathLike)) else str(f)

    path = name(e.filename)
    reason = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        # A copy names its source first, its destination (where the room is lacking) second.
        return DiskFullError(f"{reason}: free space and run again", name(e.filename2) or path)
    if e.errno == errno.EROFS:
        return ConfigError(f"{reason}: the folder must be writable", path)
    if e.errno in (errno.EACCES, errno.EPERM):
        return ConfigError(f"{reason}: check the owner and mode", path)
    return GovarcError(reason, path)


_SQLITE_READONLY = 8
_SQLITE_FULL = 13


def as_govarc_error(e: BaseException, catalog: str | None = None) -> GovarcError | None:
    """The govarc error an exception stands for; None for one govarc did not expect (a bug).

    An OSError becomes :func:`from_os_error`'s answer; SQLite's "disk is full" a
    :class:`DiskFullError` and "readonly database" a :class:`ConfigError`, naming ``catalog``.
    """
    if isinstance(e, GovarcError):
        return e
    if isinstance(e, OSError):
        return from_os_error(e)
    if type(e).__module__ == "sqlite3":
        code = getattr(e, "sqlite_errorcode", None)
        if code == _SQLITE_FULL or "disk is full" in str(e):
            return DiskFullError("the catalog's disk is full: free space and run again", catalog)
        if code == _SQLITE_READONLY:
            return ConfigError(f"the catalog cannot be written ({e})", catalog)
    return None
