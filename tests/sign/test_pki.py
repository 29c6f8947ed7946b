"""Local CA, agency certificates, imports from a real CA, and the identity binding."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from govarc.errors import ConfigError, SignatureError
from govarc.sign.keys import generate_key
from govarc.sign.pki import (
    Credentials,
    identity_of,
    import_agency,
    init_ca,
    issue_agency,
    issue_certificate,
    load_agency_credentials,
    load_ca,
    read_pkcs12,
    subject_of,
)

from .conftest import Pki

PASS = b"pass-for-tests"


def test_init_ca_and_issue(tmp_path: Path) -> None:
    ca_cert = init_ca(tmp_path / "pki", "某市档案馆测试CA", PASS)
    assert stat.S_IMODE((tmp_path / "pki" / "ca-key.pem").stat().st_mode) == 0o600
    bc = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    with pytest.raises(ConfigError, match="already exists"):
        init_ca(tmp_path / "pki", "again", PASS)
    ca = load_ca(tmp_path / "pki", PASS)
    creds = issue_agency(ca, tmp_path / "keys" / "A001", "A001", "某局", PASS)
    cert = creds.cert
    assert identity_of(cert) == "A001"
    assert "organizationIdentifier=A001" in subject_of(cert)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment and not ku.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=730)
    assert cert.not_valid_before_utc <= dt.datetime.now(dt.timezone.utc)
    stored = load_agency_credentials(tmp_path / "keys" / "A001", PASS)
    assert stored.cert == cert and stored.chain == (ca.cert,)
    assert stat.S_IMODE((tmp_path / "keys" / "A001" / "key.pem").stat().st_mode) == 0o600
    assert "PRIVATE" not in repr(stored) and "A001" in repr(stored)


def test_issue_with_another_identity_oid(pki: Pki) -> None:
    key = generate_key()
    cert = issue_certificate(pki.root.key, pki.root.cert, key.public_key(), "B002", "乙局", identity_oid="2.5.4.5")
    assert identity_of(cert, "2.5.4.5") == "B002"
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "B002"


def test_import_refuses_mismatched_key_and_wrong_agency(tmp_path: Path, pki: Pki) -> None:
    agency = pki.creds["agency"]
    with pytest.raises(SignatureError, match="does not match"):
        import_agency(tmp_path / "k", "LZ0012", pki.creds["archives"].key, agency.cert, (), PASS)
    with pytest.raises(SignatureError, match="names agency 'LZ0012' in OID 2.5.4.97, not 'LZ0099'"):
        import_agency(tmp_path / "k", "LZ0099", agency.key, agency.cert, (), PASS)
    with pytest.raises(SignatureError, match="digitalSignature"):
        import_agency(tmp_path / "k", "LZ0012", pki.creds["no_sign"].key, pki.creds["no_sign"].cert, (), PASS)
    assert not (tmp_path / "k").exists()
    import_agency(tmp_path / "k", "LZ0012", agency.key, agency.cert, (pki.root.cert,), PASS)
    assert load_agency_credentials(tmp_path / "k", PASS).cert == agency.cert


def test_pkcs12_round_trip(pki: Pki) -> None:
    c = pki.creds["agency"]
    data = pkcs12.serialize_key_and_certificates(b"agency", c.key, c.cert, [pki.root.cert], BestAvailableEncryption(b"p12pass"))
    got = read_pkcs12(data, b"p12pass")
    assert isinstance(got, Credentials) and got.cert == c.cert and got.chain == (pki.root.cert,)
    with pytest.raises(SignatureError, match="wrong password"):
        read_pkcs12(data, b"nope")
