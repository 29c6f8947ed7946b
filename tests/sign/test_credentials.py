"""Credentials from files: key, certificate and chain, or PKCS#12; the code a signature is filed under."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from govarc.errors import SignatureError
from govarc.sign.credentials import check_usable_now, read_credentials, read_pkcs12_file, read_private_key, signer_code
from govarc.sign.keys import FixedPrompter, save_private_key

from .conftest import AGENCY, Pki


class CountingPrompter(FixedPrompter):
    def __init__(self, value: bytes) -> None:
        super().__init__(value)
        self.asked = 0

    def passphrase(self, purpose: str, confirm: bool) -> bytes:
        self.asked += 1
        return super().passphrase(purpose, confirm)


def test_plain_key_is_read_without_asking(pki: Pki) -> None:
    prompter = CountingPrompter(b"unused")
    creds = read_credentials(pki.dir / "agency-cert.pem", pki.dir / "agency-key.pem", pki.dir / "ca.pem", prompter)
    assert creds.cert == pki.creds["agency"].cert and creds.chain == (pki.root.cert,)
    assert prompter.asked == 0


def test_encrypted_key_asks_once(tmp_path: Path, pki: Pki) -> None:
    path = tmp_path / "key.pem"
    save_private_key(pki.creds["agency"].key, path, b"secret")
    prompter = CountingPrompter(b"secret")
    key = read_private_key(path, prompter, "the key")
    assert key.public_key() == pki.creds["agency"].key.public_key() and prompter.asked == 1


def test_key_of_another_certificate_is_refused(pki: Pki) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        read_credentials(pki.dir / "agency-cert.pem", pki.dir / "untrusted-key.pem", None, FixedPrompter(b"x"))


def test_pkcs12_with_a_password_and_an_extra_chain(tmp_path: Path, pki: Pki) -> None:
    c = pki.creds["agency"]
    p12 = tmp_path / "a.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"a", c.key, c.cert, None, serialization.BestAvailableEncryption(b"pw")))  # type: ignore[arg-type]
    prompter = CountingPrompter(b"pw")
    creds = read_pkcs12_file(p12, pki.dir / "ca.pem", prompter)
    assert creds.cert == c.cert and creds.chain == (pki.root.cert,) and prompter.asked == 1


def test_signer_code_from_the_certificate_or_given(pki: Pki) -> None:
    creds = pki.creds["agency"]
    assert signer_code(creds) == AGENCY
    assert signer_code(creds, code="DA0001") == "DA0001"
    assert signer_code(creds, agency=AGENCY) == AGENCY
    with pytest.raises(SignatureError, match=f"stored certificate of DA0001 names '{AGENCY}'"):
        signer_code(creds, agency="DA0001")
    with pytest.raises(SignatureError, match="names no agency code"):
        signer_code(creds, identity_oid="1.2.3.4")


def test_expired_certificate_cannot_sign(pki: Pki) -> None:
    with pytest.raises(SignatureError, match="cannot sign now"):
        signer_code(pki.creds["expired"])
    cert = pki.creds["agency"].cert
    check_usable_now(cert, cert.not_valid_before_utc + dt.timedelta(seconds=1))
