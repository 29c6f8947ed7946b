"""Signing credentials from files: a key with its certificate and chain, or a PKCS#12 file.

What ``govarc sign --key/--cert`` and ``govarc pki import`` read. Passphrases come through a
:class:`~govarc.sign.keys.Prompter`, asked only when a key or a PKCS#12 file is protected.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509

from govarc.errors import InvalidInputError, SignatureError
from govarc.sign.keys import PrivateKey, Prompter, load_certificates, parse_private_key, read_secret
from govarc.sign.pki import IDENTITY_OID, Credentials, identity_of, key_matches, read_pkcs12, subject_of


def read_private_key(path: Path, prompter: Prompter, purpose: str) -> PrivateKey:
    """A key file that may or may not be encrypted; asks ``prompter`` only when it is.

    Like ssh, a key file group or others may read is refused (see :func:`read_secret`).
    """
    data = read_secret(path, "the private key")
    try:
        return parse_private_key(data, None, str(path))
    except SignatureError as e:
        if "needs its passphrase" not in e.message:
            raise
    return parse_private_key(data, prompter.passphrase(purpose, False), str(path))


def read_credentials(cert_path: Path, key_path: Path, chain_path: Path | None, prompter: Prompter) -> Credentials:
    """The certificate (the first of ``cert_path``; the others join the chain), the chain file's
    certificates and the key, which must match the certificate (else :class:`SignatureError`)."""
    certs = load_certificates(cert_path)
    chain = certs[1:] + (load_certificates(chain_path) if chain_path else [])
    key = read_private_key(key_path, prompter, key_path.name)
    if not key_matches(key, certs[0]):
        raise SignatureError(f"the private key does not match certificate {subject_of(certs[0])}")
    return Credentials(key, certs[0], tuple(chain))


def read_pkcs12_file(path: Path, chain_path: Path | None, prompter: Prompter) -> Credentials:
    """Key, certificate and chain from a PKCS#12 file (its password asked only when it has one),
    with the certificates of ``chain_path`` added to the chain."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"cannot read: {e.strerror}", str(path)) from None
    try:
        creds = read_pkcs12(data, None, str(path))
    except SignatureError:
        creds = read_pkcs12(data, prompter.passphrase(f"{path.name}", False), str(path))
    if chain_path is None:
        return creds
    return Credentials(creds.key, creds.cert, creds.chain + tuple(load_certificates(chain_path)))


def check_usable_now(cert: x509.Certificate, now: dt.datetime | None = None) -> None:
    """Refuse to sign with a certificate outside its validity period: the signature would not validate."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SignatureError(
            f"certificate {subject_of(cert)} is valid from {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}; it cannot sign now"
        )


def signer_code(creds: Credentials, *, code: str | None = None, identity_oid: str | None = None,
                agency: str | None = None) -> str:
    """The code a signature by ``creds`` is filed under (``signatures/<CODE>.p7s``), checked for signing now.

    ``code`` if given, else the agency code the certificate names (in ``identity_oid``). With
    ``agency`` (the stored key of that agency) the certificate must name that agency.
    """
    check_usable_now(creds.cert)
    code = code or identity_of(creds.cert, identity_oid or IDENTITY_OID)
    if not code:
        raise SignatureError(f"certificate {subject_of(creds.cert)} names no agency code; give --code")
    if agency and code != agency:
        raise SignatureError(f"the stored certificate of {agency} names {code!r}")
    return code
