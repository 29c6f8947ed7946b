"""Private keys and certificates on disk: generated, stored encrypted and ``0600``, loaded back.

No function here puts key material or a passphrase into an error message.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Protocol, Union

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from govarc import fsutil
from govarc.errors import ConfigError, InvalidInputError, SignatureError

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

KEY_MODE = 0o600


class KeyAlgorithm(str, Enum):
    """Key types govarc generates: RSA 3072 or ECDSA on P-256."""

    RSA3072 = "rsa3072"
    EC_P256 = "ec-p256"


class Prompter(Protocol):
    """Supplies a passphrase; the CLI asks the environment, a file or the terminal, tests return bytes."""

    def passphrase(self, purpose: str, confirm: bool) -> bytes:
        """The passphrase for ``purpose`` (e.g. "agency key A001"); ``confirm`` when a new key is stored."""
        ...


class FixedPrompter:
    """A :class:`Prompter` that always answers the same passphrase (scripts and tests)."""

    def __init__(self, value: bytes) -> None:
        self._value = value

    def passphrase(self, purpose: str, confirm: bool) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "FixedPrompter(<hidden>)"


# A secret (a key, a passphrase file) bigger than this is not one: never read it whole.
MAX_SECRET_BYTES = 1 << 20


def _mode(mode: int) -> str:
    return format(stat.S_IMODE(mode), "04o")


def check_secret_dir(path: Path, what: str) -> None:
    """Refuse a folder of secrets (``keys/<CODE>/``, ``pki/``) that group or others may enter or read.

    Like ssh: the mode of what a link points to is what counts. Raises :class:`ConfigError`
    naming the folder and the fix (``chmod 700``).
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return  # nothing stored yet: the caller reports what is missing
    except OSError as e:
        raise ConfigError(f"cannot read {what}: {e.strerror}", str(path)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{what} is not a folder", str(path))
    if st.st_mode & 0o077:
        raise ConfigError(f"{what} is open to group or others (mode {_mode(st.st_mode)}); "
                          f"run `chmod 700 {path}`", str(path))


def read_secret(path: Path, what: str) -> bytes:
    """The bytes of a secret file (a private key, a passphrase file), refused unless private.

    Like ssh: a link is followed and its target judged. The file is opened without blocking and
    checked on the open descriptor, so a FIFO, a device or a folder is refused without hanging, and
    a file group or others may read or write (mode & 0o077) is refused with the fix
    (``chmod 600``). Raises :class:`ConfigError`; never puts the contents in a message.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{what} does not exist", str(path)) from None
    except OSError as e:
        raise ConfigError(f"cannot read {what}: {e.strerror}", str(path)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise ConfigError(f"{what} is {kind}; it must be a regular file", str(path))
        if st.st_mode & 0o077:
            raise ConfigError(f"{what} is readable or writable by group or others (mode {_mode(st.st_mode)}); "
                              f"run `chmod 600 {path}`", str(path))
        if st.st_size > MAX_SECRET_BYTES:
            raise ConfigError(f"{what} is {st.st_size} bytes; a key or passphrase file is at most {MAX_SECRET_BYTES}",
                              str(path))
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            return f.read(MAX_SECRET_BYTES + 1)[:MAX_SECRET_BYTES]
    finally:
        if fd >= 0:
            os.close(fd)


def generate_key(algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256) -> PrivateKey:
    """A new private key of ``algorithm``."""
    if algorithm is KeyAlgorithm.RSA3072:
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return ec.generate_private_key(ec.SECP256R1())


def write_atomic(path: Path, data: bytes, mode: int = 0o644, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically and durably with exactly ``mode`` (:func:`govarc.fsutil.atomic_write`).

    Refuses an existing ``path`` unless ``overwrite``; creates the folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and os.path.lexists(path):
        raise InvalidInputError("file already exists; remove it first", str(path))
    fsutil.write_atomic(path, data, mode=mode, replace=overwrite)


def private_key_pem(key: PrivateKey, passphrase: bytes) -> bytes:
    """``key`` as encrypted PKCS#8 PEM; an empty passphrase is refused."""
    if not passphrase:
        raise SignatureError("an empty passphrase cannot protect a private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def save_private_key(key: PrivateKey, path: Path, passphrase: bytes, overwrite: bool = False) -> None:
    """Store ``key`` encrypted with ``passphrase`` at ``path``, mode 0600, atomically."""
    write_atomic(Path(path), private_key_pem(key, passphrase), mode=KEY_MODE, overwrite=overwrite)


def load_private_key(path: Path, passphrase: bytes | None) -> PrivateKey:
    """Load an RSA or EC private key from PEM or DER, decrypting it with ``passphrase``.

    Raises :class:`SignatureError` for a wrong passphrase or a file that is not a usable key,
    without repeating either in the message, and :class:`ConfigError` for a key file that group
    or others may read, or that is not a regular file (see :func:`read_secret`).
    """
    path = Path(path)
    return parse_private_key(read_secret(path, "the private key"), passphrase, str(path))


def parse_private_key(data: bytes, passphrase: bytes | None, where: str = "key") -> PrivateKey:
    """Parse an RSA or EC private key from PEM or DER bytes (see :func:`load_private_key`)."""
    loader = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        key = loader(data, password=passphrase or None)
    except TypeError:
        # cryptography: encrypted key without a password, or a password for an unencrypted key
        raise SignatureError("the key is encrypted and needs its passphrase" if not passphrase
                             else "the key is not encrypted; store it encrypted (govarc pki import)", where) from None
    except ValueError:
        raise SignatureError("cannot decrypt or parse the private key: wrong passphrase, or not a key", where) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise SignatureError("only RSA and EC keys can sign", where)
    return key


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (or the one in a DER file), in file order."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"cannot read certificates: {e.strerror}", str(path)) from None
    return parse_certificates(data, str(path))


def parse_certificates(data: bytes, where: str = "certificate") -> list[x509.Certificate]:
    """Certificates from PEM (any number) or DER (one) bytes; raises InvalidInputError if none."""
    try:
        certs = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
    except ValueError as e:
        raise InvalidInputError(f"not a certificate: {e}", where) from None
    if not certs:
        raise InvalidInputError("no certificate found", where)
    return certs


def certificates_pem(certs: Sequence[x509.Certificate]) -> bytes:
    """PEM text of ``certs``, one after another."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
