"""CMS signatures: stock OpenSSL verifies ours, and ours verifies OpenSSL's."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms

from govarc.errors import InvalidPackageError, SignatureError
from govarc.package.verify import verify_package
from govarc.sign.cms import sign_bytes, sign_package
from govarc.sign.validate import make_signature_check

from .conftest import AGENCY, Pki

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is needed")  # present on every dev machine and CI


def openssl_verify(p7s: Path, content: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    """The exact command the profile documents."""
    return subprocess.run(
        [OPENSSL or "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(p7s), "-content", str(content),
         "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, text=True, check=False,
    )


def test_openssl_verifies_a_signed_folder(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed()
    r = openssl_verify(pkg / "signatures" / f"{AGENCY}.p7s", pkg / "tagmanifest-sha256.txt", pki.dir / "ca.pem")
    assert r.returncode == 0, r.stderr
    assert "Verification successful" in r.stderr


def test_openssl_verifies_an_unzipped_zip_and_its_countersignature(build_signed: Callable[..., Path], pki: Pki,
                                                                  tmp_path: Path) -> None:
    pkg = build_signed(zip=True)
    sign_package(pkg, "DA0001", pki.creds["archives"])
    with zipfile.ZipFile(pkg) as zf:
        zf.extractall(tmp_path / "x")
    (bag,) = (tmp_path / "x").iterdir()
    for code in (AGENCY, "DA0001"):
        r = openssl_verify(bag / "signatures" / f"{code}.p7s", bag / "tagmanifest-sha256.txt", pki.dir / "ca.pem")
        assert r.returncode == 0, (code, r.stderr)


def test_openssl_rejects_a_changed_tag_manifest(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed()
    with open(pkg / "tagmanifest-sha256.txt", "a", encoding="utf-8") as f:
        f.write("\n")
    r = openssl_verify(pkg / "signatures" / f"{AGENCY}.p7s", pkg / "tagmanifest-sha256.txt", pki.dir / "ca.pem")
    assert r.returncode != 0


def test_openssl_rejects_an_untrusted_signer(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer="untrusted")
    r = openssl_verify(pkg / "signatures" / f"{AGENCY}.p7s", pkg / "tagmanifest-sha256.txt", pki.dir / "ca.pem")
    assert r.returncode != 0


def _openssl_sign(pkg: Path, pki: Pki, *extra: str) -> None:
    subprocess.run(
        [OPENSSL or "openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", str(pkg / "tagmanifest-sha256.txt"),
         "-signer", str(pki.dir / "agency-cert.pem"), "-inkey", str(pki.dir / "agency-key.pem"),
         "-out", str(pkg / "signatures" / f"{AGENCY}.p7s"), *extra],
        check=True, capture_output=True,
    )


def test_govarc_verifies_a_signature_openssl_made(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer=None)
    _openssl_sign(pkg, pki, "-certfile", str(pki.dir / "ca.pem"))
    r = verify_package(pkg, extra=make_signature_check(pki.policy()))
    assert r.valid, r.findings
    assert r.signers[0]["agency_code"] == AGENCY and r.signers[0]["signing_time"]


def test_govarc_refuses_an_openssl_sha1_signature(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer=None)
    _openssl_sign(pkg, pki, "-md", "sha1")
    r = verify_package(pkg, extra=make_signature_check(pki.policy()))
    assert [f.code for f in r.findings] == ["SIGNATURE_ALGORITHM_WEAK"]
    assert "sha1" in r.findings[0].message


def test_govarc_refuses_an_attached_openssl_signature(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer=None)
    _openssl_sign(pkg, pki, "-nodetach")
    r = verify_package(pkg, extra=make_signature_check(pki.policy()))
    assert [f.code for f in r.findings] == ["SIGNATURE_MALFORMED"]
    assert "not detached" in r.findings[0].message


def test_signature_structure(pki: Pki) -> None:
    c = pki.creds["agency"]
    der = sign_bytes(b"tag manifest\n", c.key, c.cert, c.chain)
    sd = asn1_cms.ContentInfo.load(der)["content"]
    assert sd["encap_content_info"]["content"].native is None  # detached
    (si,) = sd["signer_infos"]
    assert si["digest_algorithm"]["algorithm"].native == "sha256"
    attrs = {a["type"].native for a in si["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_time"} <= attrs
    embedded = {choice.chosen.dump() for choice in sd["certificates"]}
    from cryptography.hazmat.primitives.serialization import Encoding

    assert {c.cert.public_bytes(Encoding.DER), pki.root.cert.public_bytes(Encoding.DER)} == embedded


def test_sign_bytes_refuses_a_key_of_another_certificate(pki: Pki) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        sign_bytes(b"x", pki.creds["archives"].key, pki.creds["agency"].cert)


@pytest.mark.parametrize("zipped", [False, True])
def test_sign_package_refuses_to_overwrite_unless_replace(build_signed: Callable[..., Path], pki: Pki, zipped: bool) -> None:
    pkg = build_signed(zip=zipped)
    before = pkg.read_bytes() if zipped else (pkg / "signatures" / f"{AGENCY}.p7s").read_bytes()
    with pytest.raises(SignatureError, match="already exists"):
        sign_package(pkg, AGENCY, pki.creds["agency"])
    after = pkg.read_bytes() if zipped else (pkg / "signatures" / f"{AGENCY}.p7s").read_bytes()
    assert before == after
    sign_package(pkg, AGENCY, pki.creds["agency"], replace=True)
    r = verify_package(pkg, extra=make_signature_check(pki.policy()))
    assert r.valid and len(r.signers) == 1
    assert not [p for p in pkg.parent.iterdir() if "govarc-tmp" in p.name]


def test_sign_package_refuses_an_invalid_package(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer=None)
    (pkg / "data" / "正文.pdf").write_bytes(b"changed")
    with pytest.raises(InvalidPackageError, match="PAYLOAD_DIGEST_MISMATCH"):
        sign_package(pkg, AGENCY, pki.creds["agency"])
    assert not list((pkg / "signatures").iterdir())
