"""Transports: where packages, lists, envelopes and receipts travel (folder, SFTP, S3).

``open_transport(url, base=...)`` turns a configured URL into a :class:`Transport`:

- a plain path (relative ones against ``base``) or ``file:///abs/path``: :class:`FolderTransport`;
- ``sftp://user@host:port/path``: :class:`~govarc.transport.sftp.SFTPTransport` (paramiko, loaded on use);
- ``s3://bucket/prefix``: :class:`~govarc.transport.s3.S3Transport` (boto3, loaded on use).

The interface and its guarantees are in ``govarc/transport/base.py`` and ``specs/transport.md``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from urllib.parse import SplitResult, unquote, urlsplit

from govarc.transport.base import (
    BLOCK_SIZE,
    MAX_KEY_BYTES,
    MAX_KEY_DEPTH,
    MAX_LIST_KEYS,
    MAX_PUBLISH_BYTES,
    MAX_SEGMENT_BYTES,
    RESERVED_PREFIX,
    DigestMismatchError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PutResult,
    Transport,
    TransportBusyError,
    TransportDiskFullError,
    TransportError,
    TransportUnavailableError,
    UnsafeObjectError,
    is_under,
    is_valid_key,
    validate_key,
    validate_prefix,
)
from govarc.transport.folder import FolderTransport
from govarc.transport.s3 import open_s3  # imports boto3 only when an s3: URL is opened

__all__ = [
    "BLOCK_SIZE", "MAX_KEY_BYTES", "MAX_KEY_DEPTH", "MAX_LIST_KEYS", "MAX_PUBLISH_BYTES",
    "MAX_SEGMENT_BYTES", "RESERVED_PREFIX", "TRANSPORT_SCHEMES",
    "DigestMismatchError", "FolderTransport", "InvalidKeyError", "ObjectExistsError", "ObjectInfo",
    "ObjectNotFoundError", "ObjectTooLargeError", "PutResult", "Transport", "TransportBusyError",
    "TransportDiskFullError", "TransportError", "TransportUnavailableError", "UnsafeObjectError",
    "display_url", "is_under", "is_valid_key", "open_transport", "validate_key", "validate_prefix",
]

TransportFactory = Callable[[str, SplitResult, "Path | None", Mapping[str, object]], Transport]
"""``(url as given, its parts, base folder, options) -> Transport``."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
MAX_URL_CHARS = 4096


def display_url(url: str) -> str:
    """``url`` as it may appear in a message or a log: any password removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{user}{host}").geturl()


def _folder(url: str, parts: SplitResult, base: Path | None, options: Mapping[str, object]) -> Transport:
    if parts.netloc not in ("", "localhost"):
        raise TransportUnavailableError(f"a file: URL names a local folder, not the host {parts.netloc!r}", url)
    if parts.query or parts.fragment:
        raise TransportUnavailableError("a file: URL has no query or fragment", url)
    path = unquote(parts.path, errors="strict")
    if not path.startswith("/"):
        raise TransportUnavailableError("a file: URL needs an absolute path (file:///…)", url)
    return FolderTransport(path, create=bool(options.get("create", False)))


def _sftp(url: str, parts: SplitResult, base: Path | None, options: Mapping[str, object]) -> Transport:
    from govarc.transport.sftp import open_sftp  # paramiko is loaded only when SFTP is used

    return open_sftp(url, parts, base, options)


TRANSPORT_SCHEMES: Mapping[str, TransportFactory] = MappingProxyType({
    "file": _folder,
    "sftp": _sftp,
    "s3": open_s3,
})
"""URL scheme → factory: folder (``file``), SFTP and S3-compatible object storage."""


def open_transport(url: str | os.PathLike[str], base: Path | None = None,
                   options: Mapping[str, object] | None = None) -> Transport:
    """The transport for ``url``: a scheme URL, or a folder path (relative ones against ``base``).

    ``options`` are per-scheme settings from the configuration (for a folder: ``create``).
    Anything wrong is a one-line :class:`TransportUnavailableError` (exit 5).
    """
    opts: Mapping[str, object] = options or {}
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        raise TransportUnavailableError("no transport URL or folder given")
    if len(url) > MAX_URL_CHARS or any(unicodedata.category(ch) == "Cc" for ch in url):
        raise TransportUnavailableError(f"not a usable transport URL: {url[:80]!r}")
    m = _SCHEME.match(url)
    if m is None or len(m.group(1)) == 1:  # no scheme (a one-letter "scheme" is a drive, not a URL)
        path = Path(url)
        if not path.is_absolute():
            if base is None:
                raise TransportUnavailableError("a relative transport folder needs a base folder", url)
            path = Path(base) / path
        return FolderTransport(path, create=bool(opts.get("create", False)))
    scheme = m.group(1).lower()
    factory = TRANSPORT_SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(TRANSPORT_SCHEMES))
        raise TransportUnavailableError(f"unknown transport scheme {scheme!r} (known: {known})", display_url(url))
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise TransportUnavailableError(f"not a valid URL: {e}", display_url(url)) from e
    if not url[len(scheme) + 1:].startswith("//"):
        raise TransportUnavailableError(f"a {scheme}: URL starts with {scheme}://", display_url(url))
    try:
        return factory(url, parts, Path(base) if base is not None else None, opts)
    except UnicodeDecodeError as e:
        raise TransportUnavailableError("the URL's percent-escapes are not UTF-8", display_url(url)) from e
