"""Certificates for agencies: a local CA for trials, issued agency certificates, imports from a real CA.

An agency is bound to its certificate by its code in the subject attribute ``identity_oid``
(default organizationIdentifier, OID 2.5.4.97; OpenSSL writes it ``/organizationIdentifier=CODE``).
A CA that puts the code elsewhere in the subject (e.g. serialNumber, 2.5.4.5) is handled by
configuring another OID.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from govarc.errors import ConfigError, InvalidInputError, SignatureError
from govarc.sign.keys import (
    KeyAlgorithm,
    PrivateKey,
    certificates_pem,
    check_secret_dir,
    generate_key,
    load_certificates,
    load_private_key,
    save_private_key,
    write_atomic,
)
from govarc.sign.names import IDENTITY_OID, identity_of, subject_of  # noqa: F401 (kept importable from here)


CA_KEY = "ca-key.pem"
CA_CERT = "ca.pem"
KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
CHAIN_FILE = "chain.pem"


@dataclass(frozen=True)
class Credentials:
    """A signing key with its certificate and the chain up to (not necessarily including) the root."""

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:  # never show the key
        return f"Credentials(cert={self.cert.subject.rfc4514_string()!r}, chain={len(self.chain)})"


def key_matches(key: PrivateKey, cert: x509.Certificate) -> bool:
    """True when ``key`` is the private half of the certificate's public key."""
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _sig_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    return hashes.SHA384() if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384 else hashes.SHA256()


def make_ca_certificate(key: PrivateKey, name: str, days: int = 3650, not_before: dt.datetime | None = None) -> x509.Certificate:
    """A self-signed root CA certificate: CA:TRUE, keyCertSign and cRLSign, critical."""
    start = not_before or _now() - dt.timedelta(minutes=5)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    pub = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(pub), critical=False)
        .sign(key, _sig_hash(key))
    )


def issue_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    code: str,
    name: str,
    *,
    days: int = 730,
    not_before: dt.datetime | None = None,
    identity_oid: str = IDENTITY_OID,
) -> x509.Certificate:
    """An agency certificate: identity ``code`` under ``identity_oid``, CA:FALSE, digitalSignature + nonRepudiation.

    The validity starts at ``not_before`` (default: five minutes ago, for clock skew) and lasts
    ``days``; it never ends after the CA's.
    """
    start = not_before or _now() - dt.timedelta(minutes=5)
    end = min(start + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    attrs = [x509.NameAttribute(x509.ObjectIdentifier(identity_oid), code)]
    if identity_oid != IDENTITY_OID:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code))
    attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, name), x509.NameAttribute(NameOID.COMMON_NAME, f"{name} ({code})")]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs)).issuer_name(ca_cert.subject).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, _sig_hash(ca_key))
    )


def init_ca(
    pki_dir: Path, name: str, passphrase: bytes, algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256, days: int = 3650,
) -> x509.Certificate:
    """Create a local CA in ``pki_dir``: ``ca-key.pem`` (encrypted, 0600) and ``ca.pem``.

    Refuses to replace an existing CA.
    """
    pki_dir = Path(pki_dir)
    if (pki_dir / CA_KEY).exists() or (pki_dir / CA_CERT).exists():
        raise ConfigError("a CA already exists here; remove it first to make a new one", str(pki_dir))
    pki_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(pki_dir, 0o700)  # it holds the CA key: private even if it existed before
    key = generate_key(algorithm)
    cert = make_ca_certificate(key, name, days)
    save_private_key(key, pki_dir / CA_KEY, passphrase)
    write_atomic(pki_dir / CA_CERT, certificates_pem([cert]))
    return cert


def load_ca(pki_dir: Path, passphrase: bytes) -> Credentials:
    """The local CA's key and certificate from ``pki_dir``."""
    pki_dir = Path(pki_dir)
    if not (pki_dir / CA_CERT).exists():
        raise ConfigError("no local CA; run `govarc pki init-ca` first", str(pki_dir))
    check_secret_dir(pki_dir, "the CA folder")
    cert = load_certificates(pki_dir / CA_CERT)[0]
    key = load_private_key(pki_dir / CA_KEY, passphrase)
    return Credentials(key, cert)


def check_agency_certificate(cert: x509.Certificate, code: str, identity_oid: str = IDENTITY_OID) -> None:
    """Refuse a certificate that does not name agency ``code`` or cannot sign (key usage, CA flag)."""
    found = identity_of(cert, identity_oid)
    if found != code:
        where = f"OID {identity_oid}"
        raise SignatureError(
            f"certificate {subject_of(cert)} names agency {found!r} in {where}, not {code!r}"
            if found else f"certificate {subject_of(cert)} carries no agency code in {where}"
        )
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise SignatureError(f"certificate {subject_of(cert)} has no key usage; it needs digitalSignature") from None
    if not (ku.digital_signature or ku.content_commitment):
        raise SignatureError(f"certificate {subject_of(cert)} lacks digitalSignature/nonRepudiation key usage")


def store_agency_credentials(keys_dir: Path, creds: Credentials, passphrase: bytes, replace: bool = False) -> None:
    """Write ``key.pem`` (encrypted, 0600), ``cert.pem`` and ``chain.pem`` (if any) into ``keys_dir``."""
    keys_dir = Path(keys_dir)
    if not replace and (keys_dir / KEY_FILE).exists():
        raise ConfigError("this agency already has a key; pass --replace to replace it", str(keys_dir))
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)  # it holds the key: private even if it existed before
    save_private_key(creds.key, keys_dir / KEY_FILE, passphrase, overwrite=replace)
    write_atomic(keys_dir / CERT_FILE, certificates_pem([creds.cert]), overwrite=replace)
    if creds.chain:
        write_atomic(keys_dir / CHAIN_FILE, certificates_pem(creds.chain), overwrite=replace)
    elif replace and (keys_dir / CHAIN_FILE).exists():
        (keys_dir / CHAIN_FILE).unlink()


def issue_agency(
    ca: Credentials, keys_dir: Path, code: str, name: str, passphrase: bytes, *,
    algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256, days: int = 730, identity_oid: str = IDENTITY_OID,
    replace: bool = False,
) -> Credentials:
    """Generate a key for agency ``code``, certify it with the local CA and store it in ``keys_dir``."""
    key = generate_key(algorithm)
    cert = issue_certificate(ca.key, ca.cert, key.public_key(), code, name, days=days, identity_oid=identity_oid)
    creds = Credentials(key, cert, (ca.cert,))
    store_agency_credentials(keys_dir, creds, passphrase, replace)
    return creds


def import_agency(
    keys_dir: Path, code: str, key: PrivateKey, cert: x509.Certificate, chain: Sequence[x509.Certificate],
    passphrase: bytes, *, identity_oid: str = IDENTITY_OID, replace: bool = False,
) -> Credentials:
    """Store a key and certificate from a real CA for agency ``code``, after checking they belong together.

    Refuses a key that does not match the certificate and a certificate that does not name ``code``.
    """
    if not key_matches(key, cert):
        raise SignatureError(f"the private key does not match certificate {subject_of(cert)}")
    check_agency_certificate(cert, code, identity_oid)
    creds = Credentials(key, cert, tuple(c for c in chain if c != cert))
    store_agency_credentials(keys_dir, creds, passphrase, replace)
    return creds


def read_pkcs12(data: bytes, password: bytes | None, where: str = "PKCS#12") -> Credentials:
    """Key, certificate and chain from a PKCS#12 (.p12/.pfx) file's bytes."""
    try:
        p12 = pkcs12.load_pkcs12(data, password or None)
    except (ValueError, TypeError):
        raise SignatureError("cannot open the PKCS#12 file: wrong password, or not PKCS#12", where) from None
    if p12.key is None or p12.cert is None:
        raise InvalidInputError("the PKCS#12 file holds no key with its certificate", where)
    if not isinstance(p12.key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise SignatureError("only RSA and EC keys can sign", where)
    return Credentials(p12.key, p12.cert.certificate, tuple(c.certificate for c in p12.additional_certs))


def load_agency_credentials(keys_dir: Path, passphrase: bytes) -> Credentials:
    """The stored key, certificate and chain of one agency (see :func:`store_agency_credentials`).

    Like ssh, refuses (:class:`ConfigError`) a key folder or key file that group or others may read.
    """
    keys_dir = Path(keys_dir)
    check_secret_dir(keys_dir, "the agency's key folder")
    if not (keys_dir / CERT_FILE).exists():
        raise ConfigError("no certificate stored for this agency", str(keys_dir))
    cert = load_certificates(keys_dir / CERT_FILE)[0]
    chain = tuple(load_certificates(keys_dir / CHAIN_FILE)) if (keys_dir / CHAIN_FILE).exists() else ()
    key = load_private_key(keys_dir / KEY_FILE, passphrase)
    if not key_matches(key, cert):
        raise SignatureError("the stored key does not match the stored certificate", str(keys_dir))
    return Credentials(key, cert, chain)


def has_agency_key(keys_dir: Path) -> bool:
    """True when ``keys_dir`` holds a key and a certificate."""
    return (Path(keys_dir) / KEY_FILE).is_file() and (Path(keys_dir) / CERT_FILE).is_file()
