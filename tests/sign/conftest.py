"""A test PKI (session-wide) and signed sample packages.

Root CA "Test Root" issues: agency LZ0012 (the sample's agency), agency LZ0099, the archives
DA0001 (countersigner), an LZ0012 certificate that expired before signing, a revoked one (with
the CA's CRL), one without digitalSignature, and an RSA-1024 one. "Other Root" issues a second
LZ0012 certificate nobody trusts. Every key is ECDSA P-256 except the RSA-1024 one (fast).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from govarc.package.build import build_package
from govarc.package.metadata import load_metadata
from govarc.sign.cms import make_signer
from govarc.sign.keys import KeyAlgorithm, generate_key
from govarc.sign.pki import Credentials, issue_certificate, make_ca_certificate
from govarc.sign.validate import SignaturePolicy

AGENCY = "LZ0012"  # the sample metadata's 机构标识

NOW = dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Pki:
    root: Credentials
    other_root: Credentials
    creds: dict[str, Credentials]
    crl: x509.CertificateRevocationList
    dir: Path  # PEM files for openssl: ca.pem, other-ca.pem, <name>-cert.pem, <name>-key.pem, ca.crl

    def policy(self, **kw: object) -> SignaturePolicy:
        args: dict[str, object] = {"anchors": (self.root.cert,), "crls": (self.crl,)}
        args.update(kw)
        return SignaturePolicy(**args)  # type: ignore[arg-type]


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _leaf(ca: Credentials, key, code: str, *, start: dt.datetime, days: int = 365,
          usage: x509.KeyUsage | None = None) -> x509.Certificate:
    """A leaf certificate made by hand (for the odd ones the library would never issue)."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"odd {code}")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.cert.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False))
    if usage is not None:
        b = b.add_extension(usage, critical=True)
    return b.sign(ca.key, hashes.SHA256())


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    root_key = generate_key(KeyAlgorithm.EC_P256)
    root = Credentials(root_key, make_ca_certificate(root_key, "Test Root", not_before=NOW - dt.timedelta(days=800)))
    other_key = generate_key(KeyAlgorithm.EC_P256)
    other = Credentials(other_key, make_ca_certificate(other_key, "Other Root"))

    def issue(ca: Credentials, code: str, **kw: object) -> Credentials:
        key = generate_key(KeyAlgorithm.EC_P256)
        return Credentials(key, issue_certificate(ca.key, ca.cert, key.public_key(), code, f"机构 {code}", **kw), (ca.cert,))  # type: ignore[arg-type]

    creds = {
        "agency": issue(root, AGENCY),
        "other_agency": issue(root, "LZ0099"),
        "archives": issue(root, "DA0001"),
        "untrusted": issue(other, AGENCY),
        "revoked": issue(root, AGENCY),
    }
    usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    k = generate_key(KeyAlgorithm.EC_P256)
    creds["expired"] = Credentials(k, _leaf(root, k, AGENCY, start=NOW - dt.timedelta(days=400), days=30, usage=usage), (root.cert,))
    k = generate_key(KeyAlgorithm.EC_P256)
    no_sign = x509.KeyUsage(False, False, True, False, False, False, False, False, False)  # keyEncipherment only
    creds["no_sign"] = Credentials(k, _leaf(root, k, AGENCY, start=NOW - dt.timedelta(days=1), usage=no_sign), (root.cert,))
    k1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    creds["rsa1024"] = Credentials(k1024, _leaf(root, k1024, AGENCY, start=NOW - dt.timedelta(days=1), usage=usage), (root.cert,))
    revoked = (x509.RevokedCertificateBuilder().serial_number(creds["revoked"].cert.serial_number)
               .revocation_date(NOW - dt.timedelta(hours=1))
               .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(root.cert.subject)
           .last_update(NOW - dt.timedelta(hours=1)).next_update(NOW + dt.timedelta(days=7))
           .add_revoked_certificate(revoked).sign(root.key, hashes.SHA256()))
    (d / "ca.pem").write_bytes(_pem(root.cert))
    (d / "other-ca.pem").write_bytes(_pem(other.cert))
    (d / "ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    for name, c in creds.items():
        (d / f"{name}-cert.pem").write_bytes(_pem(c.cert))
        (d / f"{name}-key.pem").write_bytes(c.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (d / f"{name}-key.pem").chmod(0o600)  # keys are private, or govarc refuses them
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    return Pki(root, other, creds, crl, d)


@pytest.fixture
def build_signed(tmp_path: Path, sample_source: Path, sample_metadata: Path, pki: Pki) -> Callable[..., Path]:
    """Factory: ``build_signed(name, signer="agency", zip=False)`` builds a package signed by that credential."""

    def build(name: str = "pkg", signer: str | None = "agency", *, zip: bool = False, code: str = AGENCY) -> Path:
        out = tmp_path / "out" / (name + (".zip" if zip else ""))
        sign = make_signer(code, pki.creds[signer]) if signer else None
        build_package(sample_source, load_metadata(sample_metadata), out, zip=zip, durable=False, signer=sign)
        return out

    return build
