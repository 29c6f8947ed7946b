"""The trust store of a workspace: trust anchors (``trust/*.pem``) and CRLs (``trust/crls/*.crl``).

Anchors must be CA certificates; each is stored under the first 16 hex digits of its SHA-256
fingerprint, a CRL under those of its DER bytes, so adding the same one twice changes nothing.
Every file is written atomically (:func:`govarc.sign.keys.write_atomic`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from govarc.errors import SignatureError
from govarc.sign.keys import certificates_pem, load_certificates, write_atomic
from govarc.sign.names import subject_of
from govarc.sign.validate import load_crls, load_trust_anchors

LOCAL_CA_ANCHOR = "local-ca.pem"
"""The anchor file of the workspace's own CA (``govarc pki init-ca``)."""


def fingerprint(cert: x509.Certificate) -> str:
    """The SHA-256 fingerprint of a certificate, lowercase hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def is_ca(cert: x509.Certificate) -> bool:
    """Whether the certificate's basic constraints make it a CA."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


@dataclass(frozen=True)
class Anchor:
    """A trust anchor: its subject, fingerprint, end of validity, and the file it is stored in (if any)."""

    subject: str
    sha256: str
    not_after: str
    file: Path | None = None

    @classmethod
    def of(cls, cert: x509.Certificate, file: Path | None = None) -> Anchor:
        return cls(subject_of(cert), fingerprint(cert), cert.not_valid_after_utc.isoformat(), file)

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"subject": self.subject, "sha256": self.sha256}
        if self.file is not None:
            d["file"] = str(self.file)
        d["not_after"] = self.not_after
        return d


@dataclass(frozen=True)
class CrlInfo:
    """A CRL: its issuer, how many certificates it revokes, its dates, its file, whether an anchor signed it."""

    issuer: str
    revoked: int
    last_update: str | None = None
    next_update: str | None = None
    file: Path | None = None
    signed_by_trust_anchor: bool | None = None

    def as_dict(self) -> dict[str, object]:
        if self.file is not None:  # as `pki crl add` reports it
            return {"issuer": self.issuer, "revoked": self.revoked, "file": str(self.file),
                    "signed_by_trust_anchor": self.signed_by_trust_anchor}
        return {"issuer": self.issuer, "last_update": self.last_update, "next_update": self.next_update,
                "revoked": self.revoked}


@dataclass(frozen=True)
class TrustListing:
    """Everything the trust store holds."""

    anchors: tuple[Anchor, ...]
    crls: tuple[CrlInfo, ...]

    def as_dict(self) -> dict[str, list[dict[str, object]]]:
        return {"anchors": [a.as_dict() for a in self.anchors], "crls": [c.as_dict() for c in self.crls]}


@dataclass(frozen=True)
class TrustStore:
    """The trust anchors in ``trust_dir`` and the CRLs in ``crl_dir`` (a workspace's trust/ and trust/crls/)."""

    trust_dir: Path
    crl_dir: Path

    def anchors(self) -> tuple[x509.Certificate, ...]:
        return load_trust_anchors([self.trust_dir]) if self.trust_dir.is_dir() else ()

    def crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        return load_crls([self.crl_dir]) if self.crl_dir.is_dir() else ()

    def listing(self) -> TrustListing:
        """The anchors and CRLs, described."""
        return TrustListing(
            anchors=tuple(Anchor.of(c) for c in self.anchors()),
            crls=tuple(CrlInfo(c.issuer.rfc4514_string(), len(c), c.last_update_utc.isoformat(),
                               c.next_update_utc.isoformat() if c.next_update_utc else None) for c in self.crls()),
        )

    def add_local_ca(self, cert: x509.Certificate) -> Path:
        """Trust the workspace's own CA (replacing the one trusted before); returns the anchor file."""
        target = self.trust_dir / LOCAL_CA_ANCHOR
        write_atomic(target, certificates_pem([cert]), overwrite=True)
        return target

    def add_anchors(self, files: Sequence[Path]) -> tuple[Anchor, ...]:
        """Trust the CA certificates (PEM or DER) in ``files``, in order.

        Raises :class:`SignatureError` naming the file at the first certificate that is not a CA;
        the ones before it are kept.
        """
        added = []
        for path in files:
            for cert in load_certificates(path):
                if not is_ca(cert):
                    raise SignatureError(f"{subject_of(cert)} is not a CA certificate; only CAs can be trust anchors",
                                         str(path))
                target = self.trust_dir / f"{fingerprint(cert)[:16]}.pem"
                write_atomic(target, certificates_pem([cert]), overwrite=True)
                added.append(Anchor.of(cert, target))
        return tuple(added)

    def add_crls(self, files: Sequence[Path]) -> tuple[CrlInfo, ...]:
        """Keep the CRLs (PEM or DER) in ``files``; one no trust anchor signed is kept too, and says so.

        Such a CRL is checked against the signer's chain at verify time.
        """
        anchors = self.anchors()
        added = []
        for f in files:
            for c in load_crls([f]):
                der = c.public_bytes(serialization.Encoding.DER)
                target = self.crl_dir / f"{hashlib.sha256(der).hexdigest()[:16]}.crl"
                write_atomic(target, der, overwrite=True)
                signed = any(a.subject == c.issuer and c.is_signature_valid(a.public_key()) for a in anchors)  # type: ignore[arg-type]
                added.append(CrlInfo(c.issuer.rfc4514_string(), len(c), file=target, signed_by_trust_anchor=signed))
        return tuple(added)
