"""What a certificate names: its subject, and the agency code in it (see :mod:`govarc.sign.pki`).

Apart from :mod:`govarc.sign.pki` so that verifying a signature does not load the CA and key
handling (``govarc verify``'s start-up).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

IDENTITY_OID = "2.5.4.97"  # organizationIdentifier


def identity_of(cert: x509.Certificate, identity_oid: str = IDENTITY_OID) -> str | None:
    """The agency code a certificate names: the value of ``identity_oid`` in its subject, or None."""
    attrs = cert.subject.get_attributes_for_oid(x509.ObjectIdentifier(identity_oid))
    if len(attrs) != 1:
        return None
    value = attrs[0].value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def subject_of(cert: x509.Certificate) -> str:
    """The certificate subject as an RFC 4514 string, organizationIdentifier spelled out."""
    return cert.subject.rfc4514_string({NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier"})
