"""The workspace side of signing: an agency's stored signer, and the workspace's trust policy.

These take a :class:`govarc.workspace.Workspace` for its paths and settings; everything else in
:mod:`govarc.sign` takes explicit paths and objects.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from govarc.sign.cms import make_signer
from govarc.sign.credentials import check_usable_now
from govarc.sign.keys import Prompter
from govarc.sign.pki import Credentials, check_agency_certificate, has_agency_key, load_agency_credentials
from govarc.sign.signer import Signer
from govarc.sign.trust import TrustStore
from govarc.sign.validate import SignaturePolicy

if TYPE_CHECKING:
    from govarc.workspace import Workspace


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


def agency_credentials(ws: Workspace, code: str, prompter: Prompter) -> Credentials:
    """Agency ``code``'s stored key, certificate and chain (:func:`load_agency_credentials`), for
    signing a package by hand; ConfigError for an unknown agency or one without a key."""
    ws.agency(code)
    return load_agency_credentials(ws.keys_dir(code), prompter.passphrase(f"the key of agency {code}", False))


def trust_store(ws: Workspace) -> TrustStore:
    """The workspace's trust store: anchors in ``trust/``, CRLs in ``trust/crls/``."""
    return TrustStore(ws.trust_dir, ws.crl_dir)


def load_agency_signer(ws: Workspace, code: str, prompter: Prompter) -> Signer | None:
    """The signer for ``build_package(signer=...)`` from agency ``code``'s stored key (see :func:`load_agency_key`)."""
    creds = load_agency_key(ws, code, prompter)
    return None if creds is None else make_signer(code, creds)


def workspace_policy(ws: Workspace, *, at: dt.datetime | None = None, allow_unsigned: bool = False) -> SignaturePolicy:
    """The signature policy of a workspace: anchors from ``trust/``, CRLs from ``trust/crls/``."""
    store = trust_store(ws)
    return SignaturePolicy(anchors=store.anchors(), crls=store.crls(), at=at, allow_unsigned=allow_unsigned,
                           identity_oid=ws.settings.identity_oid)
