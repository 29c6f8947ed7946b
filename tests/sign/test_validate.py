"""Signature validation: good packages pass, and each tampering gives its exact finding code and exit code.

Every case starts from a package built and signed by ``govarc.package.build`` with the test PKI
of conftest.py, changes one thing, and checks the complete set of finding codes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from govarc.package.verify import VerifyResult, verify_package
from govarc.sign.cms import sign_bytes, sign_package
from govarc.sign.validate import SignaturePolicy, make_signature_check

from .conftest import AGENCY, NOW, Pki


def verify(path: Path, policy: SignaturePolicy) -> VerifyResult:
    return verify_package(path, extra=make_signature_check(policy))


def codes(result: VerifyResult) -> set[str]:
    return {f.code for f in result.findings}


def retag(pkg: Path) -> None:
    """Recompute tagmanifest-sha256.txt over the tag files, as a forger who changed one would."""
    names = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "metadata/record.xml"]
    lines = [f"{hashlib.sha256((pkg / n).read_bytes()).hexdigest()}  {n}\n" for n in names]
    (pkg / "tagmanifest-sha256.txt").write_text("".join(lines), encoding="utf-8")


def sig(pkg: Path, code: str = AGENCY) -> Path:
    return pkg / "signatures" / f"{code}.p7s"


def payload(pkg: Path) -> Path:
    return pkg / "data" / "正文.pdf"


# --- good packages ---------------------------------------------------------------------------------


def test_signed_folder_is_valid_and_names_its_signer(build_signed: Callable[..., Path], pki: Pki) -> None:
    r = verify(build_signed(), pki.policy())
    assert r.valid, r.findings
    assert codes(r) == set()
    assert r.exit_code == 0
    (signer,) = r.signers
    assert signer["agency_code"] == AGENCY and signer["role"] == "agency" and signer["valid"] is True
    assert "organizationIdentifier=LZ0012" in str(signer["subject"])
    signed_at = dt.datetime.fromisoformat(str(signer["signing_time"]))
    assert abs(signed_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_signed_zip_is_valid(build_signed: Callable[..., Path], pki: Pki) -> None:
    r = verify(build_signed(zip=True), pki.policy())
    assert r.valid and codes(r) == set()
    assert r.signers[0]["file"] == f"signatures/{AGENCY}.p7s"


@pytest.mark.parametrize("zipped", [False, True])
def test_countersignature_keeps_the_first_valid(build_signed: Callable[..., Path], pki: Pki, zipped: bool) -> None:
    pkg = build_signed(zip=zipped)
    first = verify(pkg, pki.policy())
    sign_package(pkg, "DA0001", pki.creds["archives"])
    r = verify(pkg, pki.policy())
    assert r.valid and codes(r) == set(), r.findings
    roles = {s["agency_code"]: (s["role"], s["valid"]) for s in r.signers}
    assert roles == {AGENCY: ("agency", True), "DA0001": ("countersignature", True)}
    assert first.signers[0]["signing_time"] == next(s for s in r.signers if s["agency_code"] == AGENCY)["signing_time"]


def test_sign_package_on_unsigned_package(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer=None)
    assert codes(verify(pkg, pki.policy())) == {"SIGNATURE_MISSING"}
    assert sign_package(pkg, AGENCY, pki.creds["agency"]) == f"signatures/{AGENCY}.p7s"
    assert verify(pkg, pki.policy()).valid


def test_unsigned_package_passes_only_with_allow_unsigned(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer=None)
    r = verify(pkg, pki.policy())
    assert codes(r) == {"SIGNATURE_MISSING"} and r.exit_code == 4
    assert verify(pkg, pki.policy(allow_unsigned=True)).valid


def test_allow_unsigned_still_checks_signatures(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer="untrusted")
    assert codes(verify(pkg, pki.policy(allow_unsigned=True))) == {"SIGNER_UNTRUSTED"}


def test_no_trust_anchors_cannot_judge(build_signed: Callable[..., Path], pki: Pki) -> None:
    r = verify(build_signed(), SignaturePolicy())
    assert codes(r) == {"SIGNER_NO_TRUST_ANCHORS"} and r.exit_code == 4


def test_expired_certificate_is_valid_at_a_time_within_its_validity(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer="expired")
    assert codes(verify(pkg, pki.policy())) == {"SIGNER_EXPIRED"}
    inside = pki.creds["expired"].cert.not_valid_before_utc + dt.timedelta(days=1)
    assert verify(pkg, pki.policy(at=inside)).valid


def test_identity_oid_is_configurable(build_signed: Callable[..., Path], pki: Pki) -> None:
    # The agency code under serialNumber (2.5.4.5): our certificates carry none, so no signer names the agency.
    r = verify(build_signed(), pki.policy(identity_oid="2.5.4.5"))
    assert codes(r) == {"SIGNER_WRONG_AGENCY"}
    assert "2.5.4.5" in r.findings[0].message


# --- the tamper battery ----------------------------------------------------------------------------


def _change_payload_byte(pkg: Path, pki: Pki) -> None:
    data = bytearray(payload(pkg).read_bytes())
    data[3] ^= 1
    payload(pkg).write_bytes(bytes(data))


def _change_record(pkg: Path, pki: Pki) -> None:
    p = pkg / "metadata" / "record.xml"
    p.write_text(p.read_text(encoding="utf-8").replace("植树造林", "植树绿化"), encoding="utf-8")


def _change_bag_info(pkg: Path, pki: Pki) -> None:
    p = pkg / "bag-info.txt"
    p.write_text(p.read_text(encoding="utf-8").replace("植树造林", "植树绿化"), encoding="utf-8")


def _add_payload(pkg: Path, pki: Pki) -> None:
    (pkg / "data" / "extra.txt").write_text("added later", encoding="utf-8")


def _remove_payload(pkg: Path, pki: Pki) -> None:
    (pkg / "data" / "附件" / "说明.txt").unlink()


def _retag_bag_info(pkg: Path, pki: Pki) -> None:
    _change_bag_info(pkg, pki)
    retag(pkg)


def _recompute_everything(pkg: Path, pki: Pki) -> None:
    """Change a payload byte and fix manifest, record.xml and tag manifest: only the signature can tell."""
    old = hashlib.sha256(payload(pkg).read_bytes()).hexdigest()
    _change_payload_byte(pkg, pki)
    new = hashlib.sha256(payload(pkg).read_bytes()).hexdigest()
    for name in ("manifest-sha256.txt", "metadata/record.xml"):
        p = pkg / name
        text = p.read_text(encoding="utf-8")
        assert old in text
        p.write_text(text.replace(old, new), encoding="utf-8")
    retag(pkg)


def _truncate(pkg: Path, pki: Pki) -> None:
    sig(pkg).write_bytes(sig(pkg).read_bytes()[:200])


def _garbage(pkg: Path, pki: Pki) -> None:
    sig(pkg).write_bytes(b"this is not a signature\n" * 10)


def _other_content(pkg: Path, pki: Pki) -> None:
    c = pki.creds["agency"]
    sig(pkg).write_bytes(sign_bytes(b"some other tag manifest\n", c.key, c.cert, c.chain))


def _remove_signature(pkg: Path, pki: Pki) -> None:
    sig(pkg).unlink()


def _second_valid_beside_bad(pkg: Path, pki: Pki) -> None:
    """The agency's signature stays valid; the archives' countersignature is over other content."""
    c = pki.creds["archives"]
    sig(pkg, "DA0001").write_bytes(sign_bytes(b"not this package\n", c.key, c.cert, c.chain))


def _unexpected_file(pkg: Path, pki: Pki) -> None:
    (pkg / "signatures" / "note.txt").write_text("hello", encoding="utf-8")


def _resign(name: str) -> Callable[[Path, Pki], None]:
    def tamper(pkg: Path, pki: Pki) -> None:
        c = pki.creds[name]
        sig(pkg).write_bytes(sign_bytes((pkg / "tagmanifest-sha256.txt").read_bytes(), c.key, c.cert, c.chain))

    tamper.__name__ = f"_signed_by_{name}"
    return tamper


TAMPERS: list[tuple[str, Callable[[Path, Pki], None], set[str], int]] = [
    ("payload byte changed", _change_payload_byte, {"PAYLOAD_DIGEST_MISMATCH"}, 3),
    ("record.xml changed", _change_record, {"TAG_DIGEST_MISMATCH"}, 3),
    ("bag-info.txt changed", _change_bag_info, {"TAG_DIGEST_MISMATCH"}, 3),
    ("payload file added", _add_payload, {"PAYLOAD_FILE_UNLISTED", "OXUM_MISMATCH", "METADATA_MISMATCH"}, 3),
    ("payload file removed", _remove_payload,
     {"PAYLOAD_FILE_MISSING", "OXUM_MISMATCH", "METADATA_MISMATCH"}, 3),
    ("bag-info changed, tag manifest recomputed", _retag_bag_info, {"SIGNATURE_INVALID"}, 4),
    ("payload changed, all manifests and record recomputed", _recompute_everything, {"SIGNATURE_INVALID"}, 4),
    ("signed by an untrusted CA", _resign("untrusted"), {"SIGNER_UNTRUSTED"}, 4),
    ("signed by another agency", _resign("other_agency"), {"SIGNER_WRONG_AGENCY"}, 4),
    ("certificate expired at signing time", _resign("expired"), {"SIGNER_EXPIRED"}, 4),
    ("certificate revoked", _resign("revoked"), {"SIGNER_REVOKED"}, 4),
    ("certificate without digitalSignature", _resign("no_sign"), {"SIGNER_KEY_USAGE"}, 4),
    ("RSA-1024 key", _resign("rsa1024"), {"SIGNATURE_ALGORITHM_WEAK"}, 4),
    ("truncated .p7s", _truncate, {"SIGNATURE_MALFORMED"}, 4),
    ("garbage .p7s", _garbage, {"SIGNATURE_MALFORMED"}, 4),
    ("signature over other content", _other_content, {"SIGNATURE_INVALID"}, 4),
    ("signature removed", _remove_signature, {"SIGNATURE_MISSING"}, 4),
    ("valid signature beside a bad one", _second_valid_beside_bad, {"SIGNATURE_INVALID"}, 4),
    ("non-.p7s file in signatures/", _unexpected_file, {"SIGNATURE_UNEXPECTED_FILE"}, 4),
]


@pytest.mark.parametrize(("tamper", "expected", "exit"), [t[1:] for t in TAMPERS], ids=[t[0] for t in TAMPERS])
def test_tamper_battery(build_signed: Callable[..., Path], pki: Pki,
                        tamper: Callable[[Path, Pki], None], expected: set[str], exit: int) -> None:
    pkg = build_signed()
    assert verify(pkg, pki.policy()).valid
    tamper(pkg, pki)
    r = verify(pkg, pki.policy())
    assert codes(r) == expected, [(f.code, f.path, f.message) for f in r.findings]
    assert r.exit_code == exit
    for f in r.findings:
        if f.code.startswith(("SIGNATURE_", "SIGNER_")) and f.code not in ("SIGNATURE_MISSING",):
            assert f.path.startswith("signatures/")


def test_bad_signature_message_names_signer_and_reason(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed()
    _retag_bag_info(pkg, pki)
    (f,) = verify(pkg, pki.policy()).findings
    assert f.path == f"signatures/{AGENCY}.p7s"
    assert "organizationIdentifier=LZ0012" in f.message and "tag manifest changed" in f.message


def test_valid_signature_beside_bad_one_is_reported_valid(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed()
    _second_valid_beside_bad(pkg, pki)
    r = verify(pkg, pki.policy())
    verdicts = {s["agency_code"]: s["valid"] for s in r.signers}
    assert verdicts == {AGENCY: True, "DA0001": False}
    assert [f.path for f in r.findings] == ["signatures/DA0001.p7s"]


def test_revocation_reason_and_date_are_reported(build_signed: Callable[..., Path], pki: Pki) -> None:
    pkg = build_signed(signer="revoked")
    (f,) = verify(pkg, pki.policy()).findings
    assert f.code == "SIGNER_REVOKED" and "keyCompromise" in f.message
    assert verify(pkg, pki.policy(crls=())).valid  # without the CRL nothing tells


def test_crl_not_signed_by_its_issuer_is_ignored_with_a_warning(build_signed: Callable[..., Path], pki: Pki) -> None:
    forged = (x509.CertificateRevocationListBuilder().issuer_name(pki.root.cert.subject)
              .last_update(NOW - dt.timedelta(hours=1)).next_update(NOW + dt.timedelta(days=1))
              .sign(pki.other_root.key, hashes.SHA256()))
    r = verify(build_signed(signer="revoked"), pki.policy(crls=(forged,)))
    assert codes(r) == {"CRL_INVALID"} and r.valid


def test_zip_tampering_is_caught(build_signed: Callable[..., Path], pki: Pki, tmp_path: Path) -> None:
    pkg = build_signed(zip=True)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(pkg) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".p7s"):
                data = data[:-10]
            zout.writestr(info, data)
    assert codes(verify(bad, pki.policy())) == {"SIGNATURE_MALFORMED"}


def test_policy_is_frozen(pki: Pki) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        pki.policy().allow_unsigned = True  # type: ignore[misc]
