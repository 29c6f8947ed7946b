"""The workspace side of signing: an agency's stored signer, and the workspace's trust policy.

These take a :class:`govarc.workspace.Workspace` for its paths and settings; everything else in
:mod:`govarc.sign` takes explicit paths and objects.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cryptography import x509

from govarc.errors import SignatureError
from govarc.sign.cms import make_signer
from govarc.sign.keys import Prompter
from govarc.sign.pki import Credentials, check_agency_certificate, has_agency_key, load_agency_credentials, subject_of
from govarc.sign.signer import Signer
from govarc.sign.validate import SignaturePolicy, load_crls, load_trust_anchors

if TYPE_CHECKING:
    from govarc.workspace import Workspace


def check_usable_now(cert: x509.Certificate, now: dt.datetime | None = None) -> None:
    """Refuse to sign with a certificate outside its validity period: the signature would not validate."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SignatureError(
            f"certificate {subject_of(cert)} is valid from {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}; it cannot sign now"
        )


def load_agency_key(ws: Workspace, code: str, prompter: Prompter) -> Credentials | None:
    """Agency ``code``'s stored key, certificate and chain, checked for signing now; None if it has none.

    Asks ``prompter`` for the key's passphrase only when a key is stored. Raises
    :class:`SignatureError` for a wrong passphrase, a key that does not match its certificate, a
    certificate that does not name the agency, or one that is not valid now; :class:`ConfigError`
    for a key file or key folder that group or others may read.
    """
    keys = ws.keys_dir(code)
    if not has_agency_key(keys):
        return None
    creds = load_agency_credentials(keys, prompter.passphrase(f"the key of agency {code}", False))
    check_agency_certificate(creds.cert, code, ws.settings.identity_oid)
    check_usable_now(creds.cert)
    return creds


def load_agency_signer(ws: Workspace, code: str, prompter: Prompter) -> Signer | None:
    """The signer for ``build_package(signer=...)`` from agency ``code``'s stored key (see :func:`load_agency_key`)."""
    creds = load_agency_key(ws, code, prompter)
    return None if creds is None else make_signer(code, creds)


def workspace_policy(ws: Workspace, *, at: dt.datetime | None = None, allow_unsigned: bool = False) -> SignaturePolicy:
    """The signature policy of a workspace: anchors from ``trust/``, CRLs from ``trust/crls/``."""
    anchors = load_trust_anchors([ws.trust_dir]) if ws.trust_dir.is_dir() else ()
    crls = load_crls([ws.crl_dir]) if ws.crl_dir.is_dir() else ()
    return SignaturePolicy(anchors=anchors, crls=crls, at=at, allow_unsigned=allow_unsigned,
                           identity_oid=ws.settings.identity_oid)
