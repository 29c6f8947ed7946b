"""Detached signatures over whole documents (transfer lists, receipts, envelopes): make and check.

A document's signature is a detached DER CMS SignedData over its exact bytes (``<document>.p7s``),
checkable with ``openssl cms -verify -binary``. Checking it is a package signature's check plus
identity: the signer's organizationIdentifier must be the party the document claims.
"""

from __future__ import annotations

import datetime as dt

from govarc.findings import Finding, Level
from govarc.limits import MAX_TAG_FILE_BYTES, MAX_TRANSFER_DOC_BYTES
from govarc.sign.cms import sign_bytes
from govarc.sign.pki import Credentials
from govarc.sign.validate import SignaturePolicy, SignerReport, check_signature


def sign_document(data: bytes, creds: Credentials) -> bytes:
    """A detached DER CMS SignedData over the exact bytes ``data`` (SHA-256, certificates, signing time)."""
    return sign_bytes(data, creds.key, creds.cert, creds.chain)


def check_document(data: bytes, sig: bytes, where: str, policy: SignaturePolicy, expected_code: str,
                   now: dt.datetime | None = None) -> SignerReport:
    """The full report on a detached signature ``sig`` over ``data``, warnings included.

    ``where`` names the signature file in findings. Beyond what package signatures get (structure,
    algorithms, digest, signature, chain, validity, revocation), the signer's organizationIdentifier
    must be ``expected_code`` (``SIGNER_WRONG_AGENCY`` otherwise). Over-large inputs are ``LIMIT_EXCEEDED``.
    """
    if len(sig) > MAX_TAG_FILE_BYTES:
        return SignerReport(where, None, None, None, None, None, (Finding(
            "LIMIT_EXCEEDED", where, f"the signature is {len(sig)} bytes, more than MAX_TAG_FILE_BYTES ({MAX_TAG_FILE_BYTES})"),))
    if len(data) > MAX_TRANSFER_DOC_BYTES:
        return SignerReport(where, None, None, None, None, None, (Finding(
            "LIMIT_EXCEEDED", where, f"the signed document is {len(data)} bytes, more than MAX_TRANSFER_DOC_BYTES "
            f"({MAX_TRANSFER_DOC_BYTES})"),))
    name = where[:-4] if where.endswith(".p7s") else "the signed document"
    report = check_signature(where, sig, data, policy, now, content_name=name)
    if report.subject is not None and report.identity != expected_code:
        named = f"names {report.identity!r}" if report.identity else f"carries no code in OID {policy.identity_oid}"
        wrong = Finding("SIGNER_WRONG_AGENCY", where, f"{report.subject}: the certificate {named}; "
                        f"the document must be signed by {expected_code!r}")
        report = SignerReport(report.file, report.subject, report.identity, report.issuer, report.serial,
                              report.signing_time, report.findings + (wrong,), report.role)
    return report


def verify_document(data: bytes, sig: bytes, where: str, policy: SignaturePolicy, expected_code: str) -> list[Finding]:
    """The errors of a detached signature over a document (see :func:`check_document`); empty = valid."""
    report = check_document(data, sig, where, policy, expected_code)
    return [f for f in report.findings if f.level is Level.ERROR]
