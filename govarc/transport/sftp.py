"""The SFTP transport: objects as files below a folder on an SSH server (paramiko, key authentication).

``sftp://user@host:port/path`` with the options ``identity_file`` (the private key) and
``known_hosts`` (the file holding the server's host key): both required, neither read from
``~/.ssh`` implicitly. An unknown or changed host key is refused (paramiko's ``RejectPolicy``),
never accepted. ``specs/transport.md`` ("The SFTP transport") is the normative description.

Uploads go to ``.govarc-part-<hash of the name>`` beside the object, are read back and hashed
on the server side (the ``check-file`` extension when the server offers it; OpenSSH does not, so
the bytes are read back), then renamed into place: ``rename`` (which never replaces an object on
an SFTP v3 server) or ``posix-rename@openssh.com`` when overwriting.

Transfers are pipelined by this module rather than by paramiko: at most :data:`AHEAD` bytes of
reads or writes in flight, in requests as large as the server allows (``limits@openssh.com``,
at most :data:`MAX_REQUEST`), every answer collected by its request number. The read-back of an
upload follows its writes on a second session: a range is read once the server confirmed every
write up to its end, so an upload costs little more than its writes.
"""

from __future__ import annotations

import builtins
import hashlib
import posixpath
import socket
import stat
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import SplitResult, unquote

import paramiko
from paramiko.sftp import CMD_DATA, CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_READ, CMD_STATUS, CMD_WRITE, int64

from govarc.transport.base import (
    BLOCK_SIZE,
    KIB,
    MIB,
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
    read_chunk,
    validate_key,
    validate_prefix,
)
from govarc.transport.confined import kind as _kind
from govarc.transport.folder import PART_PREFIX, part_name

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the server (connect, handshake, authentication, each reply)."""

MAX_TIMEOUT = 600.0
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_KNOWN_HOSTS_BYTES = 4 * 1024 * 1024
OPTIONS = frozenset({"identity_file", "known_hosts", "timeout", "create"})

SAFE_REQUEST = 32 * KIB
"""Bytes per SFTP read or write request that every server takes (the protocol's floor, paramiko's size)."""

MAX_REQUEST = 192 * KIB
"""Bytes per request at most, when the server announces higher limits (OpenSSH: ``limits@openssh.com``)."""

AHEAD = 4 * MIB
"""Bytes of reads or writes in flight per transfer, unanswered: a transfer's memory bound on any link."""

_SESSION_WINDOW = 8 * MIB  # the SSH channel window of the sessions: more than AHEAD, so requests never wait on it
_SESSION_PACKET = 256 * KIB  # the largest SSH packet the server may send on them (a MAX_REQUEST read fits)


class _Missing(Exception):
    """A folder on the way to a key does not exist (or is an object): nothing can be under it."""


class _UnknownHostKey(Exception):
    pass


class _Reject(paramiko.MissingHostKeyPolicy):
    """Refuse a server whose host key is not in the known_hosts file (paramiko's RejectPolicy, typed)."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise _UnknownHostKey(f"{key.get_name()} {key.fingerprint}")


def _regular_file(path: Path, what: str, limit: int, url: str) -> bytes:
    """The bytes of a local settings file: a regular file (checked before opening) within ``limit``."""
    try:
        st = path.lstat()
    except OSError as e:
        raise TransportUnavailableError(f"the {what} {path} cannot be read: {e.strerror or e}", url) from e
    if not stat.S_ISREG(st.st_mode):
        raise TransportUnavailableError(f"the {what} {path} is not a regular file", url)
    if st.st_size > limit:
        raise TransportUnavailableError(f"the {what} {path} is larger than {limit} bytes", url)
    try:
        with open(path, "rb") as f:
            return f.read(limit + 1)[:limit]
    except OSError as e:
        raise TransportUnavailableError(f"the {what} {path} cannot be read: {e.strerror or e}", url) from e


def _option_path(options: Mapping[str, object], name: str, base: Path | None, url: str) -> Path:
    value = options.get(name)
    if value is None or value == "":
        hint = ("the private key for key authentication" if name == "identity_file"
                else "the server's host key; ~/.ssh/known_hosts is never read implicitly")
        raise TransportUnavailableError(f"an sftp: transport needs the option {name} ({hint})", url)
    if not isinstance(value, (str, Path)):
        raise TransportUnavailableError(f"the option {name} is not a file name", url)
    path = Path(value).expanduser()
    if not path.is_absolute():
        if base is None:
            raise TransportUnavailableError(f"a relative {name} needs a base folder", url)
        path = Path(base) / path
    return path


def _timeout(options: Mapping[str, object], url: str) -> float:
    value = options.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT:
        raise TransportUnavailableError(f"the option timeout is seconds, above 0 and at most {MAX_TIMEOUT:g}", url)
    return float(value)


def open_sftp(url: str, parts: SplitResult, base: Path | None, options: Mapping[str, object]) -> SFTPTransport:
    """The factory behind ``sftp://`` in :data:`govarc.transport.TRANSPORT_SCHEMES`."""
    from govarc.transport import display_url

    shown = display_url(url)
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise TransportUnavailableError(f"unknown sftp: option(s) {', '.join(unknown)} (known: "
                                        f"{', '.join(sorted(OPTIONS))})", shown)
    if parts.password is not None:
        raise TransportUnavailableError("an sftp: URL carries no password: SFTP uses key authentication "
                                        "(the option identity_file)", shown)
    if parts.query or parts.fragment:
        raise TransportUnavailableError("an sftp: URL has no query or fragment", shown)
    if not parts.username:
        raise TransportUnavailableError("an sftp: URL names the user: sftp://user@host:port/path", shown)
    if not parts.hostname:
        raise TransportUnavailableError("an sftp: URL names the host: sftp://user@host:port/path", shown)
    try:
        port = parts.port or 22
    except ValueError as e:
        raise TransportUnavailableError("an sftp: URL has a port from 1 to 65535", shown) from e
    path = unquote(parts.path, errors="strict")
    if not path.startswith("/") or path == "/":
        raise TransportUnavailableError("an sftp: URL names the folder: sftp://user@host:port/path", shown)
    segments = [s for s in path.split("/") if s]
    if any(s in (".", "..") for s in segments) or "\\" in path:
        raise TransportUnavailableError("an sftp: URL's path has no '.', '..' or backslash", shown)
    return SFTPTransport(
        host=parts.hostname, port=port, user=unquote(parts.username, errors="strict"),
        path=path.rstrip("/") or "/",
        identity_file=_option_path(options, "identity_file", base, shown),
        known_hosts=_option_path(options, "known_hosts", base, shown),
        timeout=_timeout(options, shown), create=bool(options.get("create", False)))


class SFTPTransport(Transport):
    """Objects as files below ``path`` on an SSH server, reached with a key, the host key checked.

    ``path`` is absolute on the server; ``/~/x`` is ``x`` in the login folder. The connection is
    opened here (so a wrong key or host key fails at once) and again after it was lost.
    """

    scheme = "sftp"
    resume_unit = 1
    stores_digests = False

    def __init__(self, *, host: str, port: int, user: str, path: str, identity_file: Path,
                 known_hosts: Path, timeout: float = DEFAULT_TIMEOUT, create: bool = False) -> None:
        self._host = host
        self._port = port
        self._user = user
        self._timeout = timeout
        netloc = f"[{host}]" if ":" in host else host
        self._url = f"sftp://{user}@{netloc}:{port}{path}"
        self._ssh: paramiko.SSHClient | None = None
        self._client: paramiko.SFTPClient | None = None
        # the SFTP session uploads go over (see _channel), kept for the next put on the same connection
        self._uploader: paramiko.SFTPClient | None = None
        self._uploader_on: paramiko.Transport | None = None
        self._check_file: bool | None = None  # does the server offer the check-file extension?
        self._sizes: tuple[paramiko.Transport, int, int] | None = None  # read and write request sizes, per connection
        self._key = self._load_key(Path(identity_file))
        self._known_hosts = Path(known_hosts)
        _regular_file(self._known_hosts, "known_hosts file", MAX_KNOWN_HOSTS_BYTES, self._url)
        self._root = path
        with self._guard(self._url, "opening the folder"):
            if path.startswith("/~/") or path == "/~":
                home = self._sftp().normalize(".")
                self._root = posixpath.join(home, path[3:]).rstrip("/") or "/"
            self._check_root(create)

    @property
    def url(self) -> str:
        return self._url

    # --- the connection ---------------------------------------------------------------------

    def _load_key(self, path: Path) -> paramiko.PKey:
        data = _regular_file(path, "private key file", MAX_KEY_FILE_BYTES, self._url)
        if path.lstat().st_mode & 0o077:
            raise TransportUnavailableError(f"the private key file {path} is readable by others "
                                            "(chmod 600 it, as ssh requires)", self._url)
        del data  # read only to prove it is a readable, bounded regular file
        try:
            return paramiko.PKey.from_path(path)
        except (paramiko.PasswordRequiredException, TypeError) as e:  # cryptography: TypeError for a passphrase
            raise TransportUnavailableError(f"the private key file {path} is encrypted: govarc needs a key "
                                            "without a passphrase, readable only by its user", self._url) from e
        except (paramiko.SSHException, ValueError, OSError) as e:
            raise TransportUnavailableError(f"the private key file {path} is not a usable private key", self._url) from e

    def _connect(self) -> paramiko.SFTPClient:
        ssh = paramiko.SSHClient()
        try:
            ssh.load_host_keys(str(self._known_hosts))  # only this file: never ~/.ssh/known_hosts
        except Exception as e:  # paramiko raises several kinds for a malformed line
            raise TransportUnavailableError(f"the known_hosts file {self._known_hosts} cannot be read", self._url) from e
        ssh.set_missing_host_key_policy(_Reject())
        t = self._timeout
        try:
            try:
                ssh.connect(self._host, self._port, username=self._user, pkey=self._key, timeout=t,
                            banner_timeout=t, auth_timeout=t, channel_timeout=t, allow_agent=False,
                            look_for_keys=False, transport_factory=_gcm_first)
                client = _session(ssh.get_transport(), t)
            except _UnknownHostKey as e:
                raise TransportUnavailableError(f"the server's host key ({e}) is not in the known_hosts file "
                                                f"{self._known_hosts}: refused", self._url) from None
            except paramiko.BadHostKeyException as e:
                raise TransportUnavailableError(
                    f"the server's host key ({e.key.get_name()} {e.key.fingerprint}) differs from the one in the "
                    f"known_hosts file {self._known_hosts} (changed key or another server): refused", self._url) from None
            except paramiko.AuthenticationException:
                raise TransportUnavailableError(f"the server refused the key for user {self._user!r}", self._url) from None
            except (socket.timeout, TimeoutError):
                raise TransportUnavailableError(f"cannot connect: no answer within {t:g} s", self._url) from None
            except OSError as e:
                raise TransportUnavailableError(f"cannot connect: {e.strerror or e}", self._url) from None
            except (paramiko.SSHException, EOFError) as e:
                raise TransportUnavailableError(f"cannot connect: {_one_line(e)}", self._url) from None
        except BaseException:
            ssh.close()
            raise
        self._ssh = ssh
        return client

    def _sftp(self) -> paramiko.SFTPClient:
        if self._client is not None and self._ssh is not None:
            t = self._ssh.get_transport()
            if t is not None and t.is_active():
                return self._client
        self._drop()
        self._client = self._connect()
        return self._client

    def _drop(self) -> None:
        self._drop_uploader()
        client, ssh = self._client, self._ssh
        self._client = self._ssh = None
        for thing in (client, ssh):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing a dead connection: nothing left to release
                    pass

    def close(self) -> None:
        self._drop()

    @contextmanager
    def _guard(self, where: str, action: str) -> Iterator[None]:
        """Turn a failure of the server or the connection into one :class:`TransportError` line."""
        try:
            yield
        except (TransportError, _Missing):
            raise
        except UnicodeDecodeError:
            raise TransportError(f"{action} failed: the server sent a file name that is not UTF-8", where) from None
        except (socket.timeout, TimeoutError):
            self._drop()
            raise TransportError(f"{action} failed: no answer from the server within {self._timeout:g} s", where) from None
        except (EOFError, paramiko.SSHException):
            self._drop()
            raise TransportError(f"{action} failed: the connection to the server was lost", where) from None
        except OSError as e:
            t = self._ssh.get_transport() if self._ssh is not None else None
            if t is None or not t.is_active():
                self._drop()
                raise TransportError(f"{action} failed: the connection to the server was lost", where) from None
            raise TransportError(f"{action} failed: {_one_line(e)}", where) from None

    def _requests(self) -> tuple[int, int]:
        """Bytes per read and per write request on this connection: the server's limits, within bounds.

        Asked once per connection (``limits@openssh.com``, OpenSSH 8.6 and later); a server that
        does not answer it gets :data:`SAFE_REQUEST`, which every server takes.
        """
        sftp = self._sftp()
        transport = self._ssh.get_transport() if self._ssh is not None else None
        if self._sizes is not None and self._sizes[0] is transport:
            return self._sizes[1], self._sizes[2]
        read = write = SAFE_REQUEST
        try:
            kind, msg = sftp._request(CMD_EXTENDED, "limits@openssh.com")
        except (socket.timeout, TimeoutError):
            raise
        except OSError:
            pass  # not offered (an error status): the safe size
        else:
            if kind == CMD_EXTENDED_REPLY:
                packet, max_read, max_write = msg.get_int64(), msg.get_int64(), msg.get_int64()
                room = packet - 1024 if packet > 2048 else 0  # a request's header within the packet limit
                read = _clamp(max_read, room)
                write = _clamp(max_write, room)
        self._sizes = (transport, read, write)
        return read, write

    # --- paths ------------------------------------------------------------------------------

    def _check_root(self, create: bool) -> None:
        sftp = self._sftp()
        if create:
            parts = [p for p in self._root.split("/") if p]
            for i in range(len(parts)):
                path = "/" + "/".join(parts[: i + 1])
                if _lstat(sftp, path) is None:
                    try:
                        sftp.mkdir(path, 0o755)
                    except OSError:
                        if _lstat(sftp, path) is None:
                            raise
        try:
            st = sftp.stat(self._root)
        except FileNotFoundError:
            raise TransportUnavailableError("the folder does not exist on the server", self._url) from None
        if st.st_mode is None or not stat.S_ISDIR(st.st_mode):
            raise TransportUnavailableError("not a folder on the server", self._url)

    def _path(self, segments: builtins.list[str]) -> str:
        return posixpath.join(self._root, *segments) if segments else self._root

    def _folder(self, segments: builtins.list[str], create: bool, where: str) -> str:
        """The server path of the folder ``segments`` below the root, no link on the way.

        Raises :class:`_Missing` when a folder is absent (and not ``create``) or is an object (and
        not ``create``: then :class:`ObjectExistsError`), :class:`UnsafeObjectError` for a link or
        a special file on the way.
        """
        sftp = self._sftp()
        for i in range(len(segments)):
            path = self._path(segments[: i + 1])
            st = _lstat(sftp, path)
            if st is None:
                if not create:
                    raise _Missing
                try:
                    sftp.mkdir(path, 0o755)
                except OSError:
                    st = _lstat(sftp, path)  # made by another writer meanwhile?
                    if st is None:
                        raise
                else:
                    continue
            mode = st.st_mode or 0
            if stat.S_ISDIR(mode):
                continue
            shown = "/".join(segments[: i + 1])
            if stat.S_ISREG(mode):
                if create:
                    raise ObjectExistsError(f"{shown!r} is an object, not a folder of keys", where)
                raise _Missing
            raise UnsafeObjectError(f"{_kind(mode)} is on the way ({shown!r}): refused", where)
        return self._path(segments)

    def _entry(self, key: str, where: str) -> tuple[str, paramiko.SFTPAttributes | None]:
        """The server path of ``key`` and its ``lstat`` (None when absent); :class:`_Missing` if its folder is."""
        segments = key.split("/")
        folder = self._folder(segments[:-1], False, where)
        path = posixpath.join(folder, segments[-1])
        return path, _lstat(self._sftp(), path)

    def _object(self, key: str, where: str) -> tuple[str, paramiko.SFTPAttributes]:
        """The server path and ``lstat`` of the regular file under ``key``, else a coded error."""
        try:
            path, st = self._entry(key, where)
        except _Missing:
            raise ObjectNotFoundError("no such object", where) from None
        if st is None or stat.S_ISDIR(st.st_mode or 0):
            raise ObjectNotFoundError("no such object", where)
        if not stat.S_ISREG(st.st_mode or 0):
            raise UnsafeObjectError(f"{_kind(st.st_mode or 0)} is there, not an object", where)
        return path, st

    # --- reading ----------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        where = self.where(key)
        with self._guard(where, "reading the object's size"):
            _, st = self._object(key, where)
        return ObjectInfo(key, st.st_size or 0, None)

    def exists(self, key: str) -> bool:
        validate_key(key)
        where = self.where(key)
        with self._guard(where, "looking for the object"):
            try:
                _, st = self._entry(key, where)
            except _Missing:
                return False
        if st is None or stat.S_ISDIR(st.st_mode or 0):
            return False
        if not stat.S_ISREG(st.st_mode or 0):
            raise UnsafeObjectError(f"{_kind(st.st_mode or 0)} is there, not an object", where)
        return True

    def get(self, key: str, sink: Writable, sha256: str | None = None, *,
            max_size: int | None = None, progress: Progress | None = None) -> ObjectInfo:
        validate_key(key)
        expected = check_sha256(sha256)
        max_size = check_size(max_size)
        where = self.where(key)
        with self._guard(where, "reading the object"):
            path, st = self._object(key, where)
            size = st.st_size or 0
            if max_size is not None and size > max_size:
                raise ObjectTooLargeError(f"{size} bytes, over the limit of {max_size}", where)
            request = self._requests()[0]
            sftp = self._sftp()
            f = sftp.open(path, "rb")
        blocks = _blocks(_read_pipelined(sftp, f, size, request))
        try:
            h = hashlib.sha256()
            n = 0
            while True:
                with self._guard(where, "reading the object"):
                    chunk = next(blocks, b"")
                if not chunk:
                    break
                n += len(chunk)
                if max_size is not None and n > max_size:
                    raise ObjectTooLargeError(f"grew over the limit of {max_size} bytes while read", where)
                h.update(chunk)
                sink.write(chunk)  # a local failure (a full disk) stays an OSError for the caller
                if progress is not None:
                    progress(n)
        finally:
            blocks.close()  # collects the answers still owed before the file is closed
            _close_quietly(f)
        digest = h.hexdigest()
        if expected is not None and digest != expected:
            raise DigestMismatchError(f"SHA-256 is {digest}, expected {expected}", where)
        return ObjectInfo(key, n, digest)

    def _remote_digest(self, path: str, where: str) -> tuple[str, int]:
        """SHA-256 and size of the file at ``path``, computed on the server when it can, else read back."""
        sftp = self._sftp()
        f = sftp.open(path, "rb")
        try:
            size = f.stat().st_size or 0
            digest = self._server_sha256(f)
            if digest is not None:
                return digest, size
            h = hashlib.sha256()
            n = 0
            for chunk in _read_pipelined(sftp, f, size, self._requests()[0]):
                h.update(chunk)
                n += len(chunk)
            return h.hexdigest(), n
        finally:
            _close_quietly(f)

    def _sftp_alive(self) -> bool:
        t = self._ssh.get_transport() if self._ssh is not None else None
        return t is not None and t.is_active()

    # --- writing ----------------------------------------------------------------------------

    def put(self, key: str, stream: Readable, size: int | None = None, sha256: str | None = None, *,
            overwrite: bool = False, resume: bool = True, progress: Progress | None = None) -> PutResult:
        validate_key(key)
        expected = check_sha256(sha256)
        size = check_size(size)
        where = self.where(key)
        segments = key.split("/")
        with self._guard(where, "storing the object"):
            folder = self._folder(segments[:-1], True, where)
            final = posixpath.join(folder, segments[-1])
            existing = self._existing(final, where)
            if existing is not None and expected is not None:
                if size is None or existing.st_size == size:
                    have, n = self._remote_digest(final, where)
                    if have == expected:
                        return PutResult(key, n, have, written=False)
                if not overwrite:
                    raise ObjectExistsError("a different object is already there", where)
            return self._upload(folder, final, key, stream, size, expected, overwrite, resume, progress)

    def _existing(self, path: str, where: str) -> paramiko.SFTPAttributes | None:
        st = _lstat(self._sftp(), path)
        if st is None or stat.S_ISREG(st.st_mode or 0):
            return st
        if stat.S_ISDIR(st.st_mode or 0):
            raise ObjectExistsError("the key is a folder of other keys", where)
        raise UnsafeObjectError(f"{_kind(st.st_mode or 0)} is there, not an object", where)

    def _upload(self, folder: str, final: str, key: str, stream: Readable, size: int | None,
                expected: str | None, overwrite: bool, resume: bool, progress: Progress | None) -> PutResult:
        where = self.where(key)
        sftp = self._sftp()
        tmp = posixpath.join(folder, part_name(posixpath.basename(final)))
        st = _lstat(sftp, tmp)
        if st is not None and not stat.S_ISREG(st.st_mode or 0):
            if stat.S_ISDIR(st.st_mode or 0):
                raise UnsafeObjectError("a folder is where the partial upload goes", where)
            sftp.remove(tmp)  # junk planted in our namespace: removing a link never follows it
            st = None
        have = (st.st_size or 0) if (st is not None and resume) else 0
        # The writes go over a session of their own and the read-back over the main one, so both are
        # in flight at once. (paramiko's own pipelined writes lose an answer when another request
        # shares their session, and then wait forever: ours collect every answer by request number,
        # and still keep a session to themselves.)
        with self._channel(where) as upload:
            return self._write_and_commit(sftp, upload, tmp, final, key, have, stream, size, expected, overwrite,
                                          progress, where)

    @contextmanager
    def _channel(self, where: str) -> Iterator[paramiko.SFTPClient]:
        """A second SFTP session on the same connection, for uploads only.

        Opening a session costs a round trip and a subsystem start on the server (a tenth of the
        time of a small package's upload), so it is kept for the next put on the same connection;
        a put that fails in any way closes it, and the next put opens a fresh one.
        """
        self._sftp()
        transport = self._ssh.get_transport() if self._ssh is not None else None
        if transport is None:
            raise TransportError("the connection is gone", where)
        if self._uploader is None or self._uploader_on is not transport:
            self._drop_uploader()
            self._uploader, self._uploader_on = _session(transport, self._timeout), transport
        done = False
        try:
            yield self._uploader
            done = True
        finally:
            if not done:
                self._drop_uploader()

    def _drop_uploader(self) -> None:
        client, self._uploader, self._uploader_on = self._uploader, None, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a dead session: nothing left to release
                pass

    def _write_and_commit(self, sftp: paramiko.SFTPClient, upload: paramiko.SFTPClient, tmp: str, final: str,
                          key: str, have: int, stream: Readable, size: int | None, expected: str | None,
                          overwrite: bool, progress: Progress | None, where: str) -> PutResult:
        f = upload.open(tmp, "r+b" if have else "w+b")
        try:
            n, digest, reused, stored = self._fill(upload, f, tmp, have, stream, size, where, progress)
            if size is not None and n != size:
                raise DigestMismatchError(f"{n} bytes, expected {size}; nothing was stored", where)
            if expected is not None and digest != expected:
                raise DigestMismatchError(f"SHA-256 is {digest}, expected {expected}; nothing was stored", where)
            f.close()  # collects the server's answers to the pipelined writes
        except DigestMismatchError:
            _close_quietly(f)
            sftp.remove(tmp)  # wrong content is not worth resuming
            raise
        except BaseException:
            _close_quietly(f)  # the partial stays for the next put to resume
            raise
        stored_digest, stored_size = stored if stored is not None else self._remote_digest(tmp, where)
        if stored_digest != digest or stored_size != n:
            sftp.remove(tmp)
            raise DigestMismatchError(f"the server holds {stored_size} bytes with SHA-256 {stored_digest} after the "
                                      f"upload of {n} bytes with SHA-256 {digest}; nothing was stored", where)
        written = self._commit(tmp, final, where, digest, n, overwrite)
        return PutResult(key, n, digest, written=written, resumed_from=reused)

    def _fill(self, upload: paramiko.SFTPClient, f: paramiko.SFTPFile, tmp: str, have: int, stream: Readable,
              size: int | None, where: str,
              progress: Progress | None) -> tuple[int, str, int, tuple[str, int] | None]:
        """Write ``stream`` into the partial ``f``, reusing its first ``have`` bytes where they match.

        Returns the size and SHA-256 of the stream, the bytes reused, and the SHA-256 and size of
        the partial as read back from the server (None when the server hashes it itself). The
        read-back follows the writes on the other session: each range is read once the server
        confirmed every write up to its end, so writing and reading back overlap. A resumed
        partial's bytes are read back and compared with the stream: a resume costs reading the
        reused prefix once more (OpenSSH offers no server-side hash).
        """
        h = hashlib.sha256()
        pos = 0
        reused = 0
        opened_old = have > 0
        read_size, write_size = self._requests()
        sftp = self._sftp()
        reader: _PrefixReader | None = None
        back: _ReadBack | None = None
        writes: _Writes | None = None
        try:
            if not self._server_hashes(f):
                back = _ReadBack(sftp, tmp, read_size)
            reader = _PrefixReader(sftp, tmp, have, read_size) if have else None
            writes = _Writes(upload, f, write_size, on_done=back.follow if back is not None else None)
            while True:
                chunk = read_chunk(stream, BLOCK_SIZE, where)
                if not chunk:
                    break
                if size is not None and pos + len(chunk) > size:
                    raise DigestMismatchError(f"more than the expected {size} bytes; nothing was stored", where)
                h.update(chunk)
                start = 0
                if reader is not None and pos < have:
                    same = _common_prefix(reader.read(len(chunk)), chunk)
                    reused = pos + same
                    start = same
                    writes.skip(pos + same)  # verified: kept, and read back like the rest
                    if same < len(chunk):
                        reader.close()
                        reader = None
                        have = 0  # from here on, everything is new
                if start < len(chunk):
                    writes.write(pos + start, memoryview(chunk)[start:])
                pos += len(chunk)
                if back is not None:
                    back.follow(writes.done)
                if progress is not None:
                    progress(pos)
            writes.finish()
            if opened_old and (f.stat().st_size or 0) != pos:
                f.truncate(pos)  # the old partial was longer than this content
            stored = back.finish(pos) if back is not None else None
        except BaseException:
            if writes is not None:
                writes.abandon()
            raise
        finally:
            if reader is not None:
                reader.close()
            if back is not None:
                back.close()
        return pos, h.hexdigest(), min(reused, pos), stored

    def _server_sha256(self, f: paramiko.SFTPFile) -> str | None:
        """The SHA-256 (hex) of ``f`` computed by the server (the ``check-file`` extension), or None
        when the server does not offer it (OpenSSH's sftp-server: the bytes are read back instead).
        Whether it does is asked once per connection; a connection that died raises."""
        if self._check_file is False:
            return None
        try:
            raw = f.check("sha256")
        except OSError:
            if not self._sftp_alive():
                raise
            raw = b""
        self._check_file = len(raw) == 32
        return raw.hex() if self._check_file else None

    def _server_hashes(self, f: paramiko.SFTPFile) -> bool:
        """True when the server hashes files itself; asked once, on ``f``."""
        if self._check_file is None:
            self._server_sha256(f)
        return bool(self._check_file)

    def _commit(self, tmp: str, final: str, where: str, digest: str, n: int, overwrite: bool) -> bool:
        """Make the verified partial visible under ``final``; False when the same content was already there."""
        sftp = self._sftp()
        if overwrite:
            self._existing(final, where)
            sftp.posix_rename(tmp, final)
            return True
        try:
            sftp.rename(tmp, final)  # SFTP v3: fails when something is there (OpenSSH: link + unlink)
            return True
        except OSError:
            if not self._sftp_alive() or _lstat(sftp, final) is None:
                raise
        # an object appeared under the key while this one was uploaded
        self._existing(final, where)
        have, size = self._remote_digest(final, where)
        sftp.remove(tmp)
        if have == digest and size == n:
            return False
        raise ObjectExistsError("a different object is already there", where)

    def delete(self, key: str) -> bool:
        validate_key(key)
        where = self.where(key)
        with self._guard(where, "deleting the object"):
            try:
                path, st = self._entry(key, where)
            except _Missing:
                return False
            if st is None or stat.S_ISDIR(st.st_mode or 0):
                return False
            try:
                self._sftp().remove(path)  # a link is removed itself, never followed
            except FileNotFoundError:
                return False
            return True

    # --- listing ----------------------------------------------------------------------------

    def list(self, prefix: str = "") -> builtins.list[str]:
        base = validate_prefix(prefix)
        segments = base.split("/") if base else []
        out: builtins.list[str] = []
        where = self.where(base)
        with self._guard(where, "listing"):
            try:
                folder = self._folder(segments, False, where)
            except _Missing:
                return []
            self._walk(folder, base, len(segments), out, where)
        out.sort()
        return out

    def _walk(self, folder: str, base: str, depth: int, out: builtins.list[str], where: str) -> None:
        try:
            entries = self._sftp().listdir_attr(folder)
        except FileNotFoundError:
            return  # removed meanwhile
        for entry in entries:
            name = entry.filename
            if name.startswith(RESERVED_PREFIX):
                continue  # temporaries and partial uploads
            key = f"{base}/{name}" if base else name
            if not is_valid_key(key):
                continue  # nothing a key can address (a control character, NFD, too long, …)
            mode = entry.st_mode or 0
            if stat.S_ISREG(mode):
                out.append(key)
                if len(out) > MAX_LIST_KEYS:
                    raise TransportError(f"more than {MAX_LIST_KEYS} keys to list", where)
            elif stat.S_ISDIR(mode) and depth + 1 < MAX_KEY_DEPTH:
                self._walk(posixpath.join(folder, name), key, depth + 1, out, where)
            # links and special files are never listed nor followed

    def clean_temporaries(self, max_age: float = DEFAULT_TEMPORARY_AGE) -> int:
        """Remove partial uploads last touched over ``max_age`` seconds ago (by the server's clock).

        SFTP has no locks: a writer counts as no longer running when its partial was not written
        for ``max_age``; keep it above the longest stall of a writer (the default is 7 days).
        """
        with self._guard(self._url, "removing stale temporaries"):
            return self._clean(self._root, 0, time.time() - max_age)

    def _clean(self, folder: str, depth: int, cutoff: float) -> int:
        sftp = self._sftp()
        removed = 0
        try:
            entries = sftp.listdir_attr(folder)
        except FileNotFoundError:
            return 0
        for entry in entries:
            name = entry.filename
            mode = entry.st_mode or 0
            path = posixpath.join(folder, name)
            if name.startswith(PART_PREFIX):
                if stat.S_ISDIR(mode):
                    continue
                if not stat.S_ISREG(mode) or (entry.st_mtime or 0) <= cutoff:
                    try:
                        sftp.remove(path)
                        removed += 1
                    except FileNotFoundError:
                        pass
            elif stat.S_ISDIR(mode) and depth + 1 < MAX_KEY_DEPTH and not name.startswith(RESERVED_PREFIX):
                removed += self._clean(path, depth + 1, cutoff)
        return removed


def _gcm_first(sock: socket.socket, **kwargs: object) -> paramiko.Transport:
    """A paramiko transport that prefers AES-GCM, when the server offers it, to its default AES-CTR.

    The same ciphers are offered, only in another order: GCM authenticates as it decrypts, where
    CTR with HMAC-SHA2 costs paramiko a Python-level HMAC object per packet (about a tenth of the
    client's time in a large upload).
    """
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    ciphers = tuple(options.ciphers)
    options.ciphers = tuple(c for c in ciphers if "-gcm@" in c) + tuple(c for c in ciphers if "-gcm@" not in c)
    return transport


def _session(transport: paramiko.Transport | None, timeout: float) -> paramiko.SFTPClient:
    """An SFTP session on ``transport`` with a wide window and large packets (pipelined transfers fill
    them), waiting at most ``timeout`` seconds for each answer."""
    if transport is None:
        raise paramiko.SSHException("the connection is gone")
    client = paramiko.SFTPClient.from_transport(transport, window_size=_SESSION_WINDOW,
                                                max_packet_size=_SESSION_PACKET)
    if client is None:
        raise paramiko.SSHException("the server refused an SFTP session")
    channel = client.get_channel()
    if channel is not None:
        channel.settimeout(timeout)
    return client


def _clamp(announced: int, room: int) -> int:
    """A request size from a server's announced limit: at most :data:`MAX_REQUEST`, at least 1 KiB."""
    size = min(announced or SAFE_REQUEST, room or SAFE_REQUEST, MAX_REQUEST)
    return max(size, KIB)


class _Answers:
    """Collects the server's answers to pipelined requests by request number.

    paramiko hands an answer to the object given with its request (``_async_response``), whichever
    request the reading thread was waiting for: no answer is lost when answers come out of order or
    while another request waits (paramiko's own pipelined writes register no such object, and
    their answers are dropped when another request reads them first).
    """

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self._sftp = sftp
        # data (a read), True (a status OK: a write), None (end of file) or the error to raise
        self.got: dict[int, bytes | bool | BaseException | None] = {}

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        if t == CMD_DATA:
            self.got[num] = msg.get_string()
            return
        if t != CMD_STATUS:
            self.got[num] = paramiko.SFTPError(f"the server sent answer type {t} to a read or write")
            return
        try:
            self._sftp._convert_status(msg)
        except EOFError:
            self.got[num] = None
        except Exception as e:  # an error status: raised where the answer is wanted
            self.got[num] = e
        else:
            self.got[num] = True

    def wait(self, num: int) -> bytes | bool | BaseException | None:
        """The answer to request ``num``, reading the session's answers until it came."""
        while num not in self.got:
            self._sftp._read_response()  # one answer, handed to whichever request it belongs
        return self.got.pop(num)

    def drain(self, nums: Iterable[int]) -> None:
        """Collect the answers still owed to ``nums``, so none is left on the session; quietly."""
        try:
            for num in nums:
                self.wait(num)
        except Exception:  # the session is gone: nothing is owed any more
            pass
        self.got.clear()


class _Reads:
    """Pipelined reads of the open file ``f`` from its start, handed on in file order.

    Up to ``ahead`` bytes are requested (``request`` bytes a time) and a new request goes out as each
    answer is handed on, so the link stays busy while memory stays bounded (paramiko's ``prefetch``
    requests the whole file at once, keeps what arrives ahead of the reader without bound, and its
    helper thread spins against the reading one). One thread, the caller's: answers that come out
    of order are kept until their turn. A server that answers with fewer bytes than asked gets the
    rest asked again, and smaller requests from then on.
    """

    def __init__(self, sftp: paramiko.SFTPClient, f: paramiko.SFTPFile, request: int = SAFE_REQUEST,
                 ahead: int = AHEAD) -> None:
        self._sftp = sftp
        self._handle = f.handle
        self._request = request
        self._ahead = ahead
        self._answers = _Answers(sftp)
        self._pending: deque[tuple[int, int, int]] = deque()  # (request number, offset, length), in file order
        self._inflight = 0  # bytes requested and not yet handed on
        self._offset = 0  # the next byte to request
        self.ended = False

    def _ask(self, at: int, length: int) -> tuple[int, int, int]:
        num = self._sftp._async_request(self._answers, CMD_READ, self._handle, int64(at), int(length))
        self._inflight += length
        return int(num), at, length

    def take(self, limit: int, *, to_end: bool = True, wait: bool = True) -> bytes | None:
        """The next bytes in file order: ``b""`` at the end of the file, None when there is nothing to hand on.

        Requests go up to ``limit``; with ``to_end``, one more beyond it, asked with the others, and
        then one at a time until the end of the file answers (a file longer than expected is read
        to its end, and a file of the expected size costs no round trip of its own to find its end). Without ``wait``, only an
        answer already arrived is handed on.
        """
        while not self.ended and self._inflight < self._ahead:
            if self._offset < limit:
                length = min(self._request, limit - self._offset)
            elif to_end and (not self._pending or self._offset < limit + self._request):
                length = self._request  # past the known end: one request (asked with the others) finds the end
            else:
                break
            self._pending.append(self._ask(self._offset, length))
            self._offset += length
        if self.ended:
            return b""
        if not self._pending:
            return None
        num, at, length = self._pending[0]
        if not wait:
            channel = self._sftp.sock
            while num not in self._answers.got and channel.recv_ready():
                self._sftp._read_response()  # an answer is arriving: read it (to whichever request)
            if num not in self._answers.got:
                return None
        self._pending.popleft()
        data = self._answers.wait(num)
        self._inflight -= length
        if isinstance(data, BaseException):
            raise data
        if not isinstance(data, bytes) or not data:
            self.ended = True  # the end of the file: the answers to later requests are collected on close
            return b""
        if len(data) > length:
            raise paramiko.SFTPError("the server answered a read with more bytes than asked")
        if len(data) < length:  # a short read: ask for the rest first, and less at a time
            self._pending.appendleft(self._ask(at + len(data), length - len(data)))
            self._request = max(min(self._request, len(data)), KIB)
        return data

    def close(self) -> None:
        """Collect the answers still owed, quietly, so none is left on the session."""
        pending, self._pending = self._pending, deque()
        self._answers.drain(num for num, _, _ in pending)
        self.ended = True


def _read_pipelined(sftp: paramiko.SFTPClient, f: paramiko.SFTPFile, size: int, request: int = SAFE_REQUEST,
                    ahead: int = AHEAD) -> Generator[bytes, None, None]:
    """The bytes of the open file ``f`` to its end, pipelined (:class:`_Reads`); ``size``, the size it had, shapes the requests."""
    reads = _Reads(sftp, f, request, ahead)
    try:
        while data := reads.take(size):
            yield data
    finally:
        reads.close()


class _Writes:
    """Pipelined writes into the open file ``f``: at most ``ahead`` bytes unanswered, every answer checked.

    Writes go one after the other from ``start`` on; ``done`` is the end of the bytes the server
    confirmed so far (every write up to there answered OK), and ``on_done`` hears of each advance.
    """

    def __init__(self, sftp: paramiko.SFTPClient, f: paramiko.SFTPFile, request: int, *, start: int = 0,
                 ahead: int = AHEAD, on_done: Callable[[int], None] | None = None) -> None:
        self._sftp = sftp
        self._handle = f.handle
        self._request = request
        self._ahead = ahead
        self._on_done = on_done
        self._answers = _Answers(sftp)
        self._pending: deque[tuple[int, int, int]] = deque()  # (request number, offset, length)
        self._inflight = 0
        self.done = self._end = start

    def skip(self, offset: int) -> None:
        """The bytes up to ``offset`` are there already (a verified resumed prefix): the next write starts there."""
        if self._pending or offset < self._end:
            raise ValueError("skip() only before any write, forwards")
        self.done = self._end = offset

    def write(self, offset: int, data: bytes | memoryview) -> None:
        if offset != self._end:
            raise ValueError(f"writes go one after the other: {offset} is not {self._end}")
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            n = min(self._request, len(view) - pos)
            num = self._sftp._async_request(self._answers, CMD_WRITE, self._handle, int64(offset + pos),
                                            view[pos:pos + n])
            self._pending.append((int(num), offset + pos, n))
            self._inflight += n
            pos += n
            while self._inflight > self._ahead:
                self._collect()
        self._end = offset + len(view)

    def _collect(self) -> None:
        num, at, n = self._pending.popleft()
        answer = self._answers.wait(num)
        self._inflight -= n
        if isinstance(answer, BaseException):
            raise answer
        if answer is not True:
            raise paramiko.SFTPError("the server did not confirm a write")
        self.done = at + n
        if self._on_done is not None:
            self._on_done(self.done)

    def finish(self) -> None:
        """Wait for every write's answer; the first failed write raises."""
        while self._pending:
            self._collect()

    def abandon(self) -> None:
        """Collect the answers still owed, quietly (the upload failed already)."""
        pending, self._pending = self._pending, deque()
        self._answers.drain(num for num, _, _ in pending)


def _blocks(chunks: Generator[bytes, None, None], size: int = BLOCK_SIZE) -> Generator[bytes, None, None]:
    """``chunks`` joined into blocks of about ``size`` bytes (fewer calls into the caller's sink)."""
    buf = bytearray()
    try:
        for chunk in chunks:
            buf += chunk
            if len(buf) >= size:
                yield bytes(buf)
                buf.clear()
        if buf:
            yield bytes(buf)
    finally:
        chunks.close()


class _ReadBack:
    """Reads a partial upload back from the server while it is written, and hashes it.

    :meth:`follow` asks for the bytes the server confirmed so far and hashes what already arrived,
    never waiting; :meth:`finish` reads on to the end of the file. At most :data:`AHEAD` bytes are
    in flight.
    """

    def __init__(self, sftp: paramiko.SFTPClient, path: str, request: int) -> None:
        self._f = sftp.open(path, "rb")
        self._reads = _Reads(sftp, self._f, request)
        self._hash = hashlib.sha256()
        self._size = 0

    def follow(self, done: int) -> None:
        while data := self._reads.take(done, to_end=False, wait=False):
            self._hash.update(data)
            self._size += len(data)

    def finish(self, size: int) -> tuple[str, int]:
        """SHA-256 and size of the whole file as the server holds it (read to its end)."""
        while data := self._reads.take(size):
            self._hash.update(data)
            self._size += len(data)
        return self._hash.hexdigest(), self._size

    def close(self) -> None:
        self._reads.close()
        _close_quietly(self._f)


class _PrefixReader:
    """Reads the existing partial upload from its start, pipelined, to compare it with the stream."""

    def __init__(self, sftp: paramiko.SFTPClient, path: str, size: int, request: int) -> None:
        self._f = sftp.open(path, "rb")
        self._chunks = _read_pipelined(sftp, self._f, size, request)
        self._left = b""

    def read(self, n: int) -> bytes:
        out = bytearray(self._left[:n])
        self._left = self._left[n:]
        while len(out) < n:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            take = n - len(out)
            out += chunk[:take]
            self._left = chunk[take:]
        return bytes(out)

    def close(self) -> None:
        self._chunks.close()
        _close_quietly(self._f)


def _lstat(sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
    try:
        return sftp.lstat(path)
    except FileNotFoundError:
        return None


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search for the first differing byte
    while lo < hi:
        mid = (lo + hi) // 2
        if a[lo:mid + 1] == b[lo:mid + 1]:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _close_quietly(f: paramiko.SFTPFile) -> None:
    try:
        f.close()
    except Exception:  # the connection is gone or the close reported what the caller already raises
        pass


def _one_line(e: BaseException) -> str:
    text = (getattr(e, "strerror", None) or str(e) or type(e).__name__).strip()
    return " ".join(text.split())[:300]
