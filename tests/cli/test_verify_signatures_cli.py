"""`govarc verify` with signatures: trust from the workspace or --trust, CRLs, --at, --allow-unsigned, --json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from govarc.cli import main
from govarc.sign.cms import sign_package
from govarc.sign.pki import Credentials, load_agency_credentials, load_ca

PASS = "verify-test-passphrase"
ENV = {"GOVARC_KEY_PASSPHRASE": PASS}


def run(runner: CliRunner, home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(main, ["--home", str(home), *args], env=ENV)


@pytest.fixture
def home(tmp_path: Path, runner: CliRunner) -> Path:
    h = tmp_path / "home"
    assert run(runner, h, "init").exit_code == 0
    for code in ("LZ0012", "LZ0099"):
        assert run(runner, h, "agency", "add", code, "--name", f"机构{code}", "--fonds", code[-4:]).exit_code == 0
    assert run(runner, h, "pki", "init-ca").exit_code == 0
    for code in ("LZ0012", "LZ0099"):
        assert run(runner, h, "pki", "issue", code).exit_code == 0
    return h


def creds(home: Path, code: str) -> Credentials:
    return load_agency_credentials(home / "keys" / code, PASS.encode())


@pytest.fixture
def signed(home: Path, build_sample: Callable[..., Path]) -> Callable[..., Path]:
    def make(name: str = "pkg", code: str = "LZ0012", zip: bool = False) -> Path:
        pkg = build_sample(name, zip=zip)
        sign_package(pkg, code, creds(home, code))
        return pkg

    return make


def test_valid_in_workspace_shows_the_signer(runner: CliRunner, home: Path, signed: Callable[..., Path]) -> None:
    pkg = signed()
    r = run(runner, home, "verify", str(pkg))
    assert r.exit_code == 0, r.output
    line = next(line for line in r.stdout.splitlines() if "signer" in line)
    assert "organizationIdentifier=LZ0012" in line and "agency LZ0012" in line and "valid" in line
    assert f"signed {dt.datetime.now(dt.timezone.utc):%Y-%m-%d}" in line


def test_json_per_package(runner: CliRunner, home: Path, signed: Callable[..., Path]) -> None:
    good, other = signed("good.zip", zip=True), signed("other", code="LZ0099")
    r = run(runner, home, "verify", str(good), str(other), "--json")
    assert r.exit_code == 4
    doc = json.loads(r.stdout)
    first, second = doc["packages"]
    assert first["valid"] is True and first["findings"] == [] and first["signers"][0]["agency_code"] == "LZ0012"
    assert second["valid"] is False
    assert [f["code"] for f in second["findings"]] == ["SIGNER_WRONG_AGENCY"]
    assert second["findings"][0]["path"] == "signatures/LZ0099.p7s"
    assert "organizationIdentifier=LZ0099" in second["findings"][0]["message"]


def test_outside_a_workspace_trust_must_be_given(runner: CliRunner, home: Path, signed: Callable[..., Path],
                                                 tmp_path: Path, build_sample: Callable[..., Path]) -> None:
    pkg = signed()
    nowhere = tmp_path / "nowhere"
    r = run(runner, nowhere, "verify", str(pkg))
    assert r.exit_code == 4 and "SIGNER_NO_TRUST_ANCHORS" in r.stdout
    assert run(runner, nowhere, "verify", str(pkg), "--trust", str(home / "pki" / "ca.pem")).exit_code == 0
    assert run(runner, nowhere, "verify", str(pkg), "--trust", str(home / "trust")).exit_code == 0
    unsigned = build_sample("unsigned")
    r = run(runner, nowhere, "verify", str(unsigned))
    assert r.exit_code == 4 and "SIGNATURE_MISSING" in r.stdout
    assert run(runner, nowhere, "verify", str(unsigned), "--allow-unsigned").exit_code == 0


def test_untrusted_with_another_anchor(runner: CliRunner, home: Path, signed: Callable[..., Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert run(runner, other, "init").exit_code == 0
    assert run(runner, other, "pki", "init-ca", "--name", "Other").exit_code == 0
    r = run(runner, home, "verify", str(signed()), "--trust", str(other / "pki" / "ca.pem"))
    assert r.exit_code == 4 and "SIGNER_UNTRUSTED" in r.stdout


def test_revoked_by_a_crl_and_expired_with_at(runner: CliRunner, home: Path, signed: Callable[..., Path],
                                              tmp_path: Path) -> None:
    pkg = signed()
    ca = load_ca(home / "pki", PASS.encode())
    now = dt.datetime.now(dt.timezone.utc)
    entry = (x509.RevokedCertificateBuilder().serial_number(creds(home, "LZ0012").cert.serial_number)
             .revocation_date(now).build())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject).last_update(now)
           .next_update(now + dt.timedelta(days=1)).add_revoked_certificate(entry).sign(ca.key, hashes.SHA256()))
    crl_file = tmp_path / "ca.crl"
    crl_file.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    r = run(runner, home, "verify", str(pkg), "--crl", str(crl_file))
    assert r.exit_code == 4 and "SIGNER_REVOKED" in r.stdout
    assert run(runner, home, "pki", "crl", "add", str(crl_file)).exit_code == 0
    assert "SIGNER_REVOKED" in run(runner, home, "verify", str(pkg)).stdout  # the workspace's CRLs are used
    r = run(runner, home, "verify", str(pkg), "--crl", str(crl_file), "--at", "2099-01-01")
    assert r.exit_code == 4 and "SIGNER_EXPIRED" in r.stdout
    assert run(runner, home, "verify", str(pkg), "--at", "not-a-date").exit_code == 2


def test_integrity_error_wins_exit_3(runner: CliRunner, home: Path, signed: Callable[..., Path]) -> None:
    pkg = signed()
    p = pkg / "data" / "正文.pdf"
    p.write_bytes(p.read_bytes() + b"x")
    r = run(runner, home, "verify", str(pkg))
    assert r.exit_code == 3 and "PAYLOAD_DIGEST_MISMATCH" in r.stdout


def test_recomputed_manifests_exit_4(runner: CliRunner, home: Path, signed: Callable[..., Path]) -> None:
    pkg = signed()
    info = pkg / "bag-info.txt"
    info.write_text(info.read_text(encoding="utf-8").replace("植树造林", "植树绿化"), encoding="utf-8")
    names = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "metadata/record.xml"]
    (pkg / "tagmanifest-sha256.txt").write_text(
        "".join(f"{hashlib.sha256((pkg / n).read_bytes()).hexdigest()}  {n}\n" for n in names), encoding="utf-8")
    r = run(runner, home, "verify", str(pkg))
    assert r.exit_code == 4
    line = next(line for line in r.stdout.splitlines() if "error   SIGNATURE_INVALID" in line)
    assert "signatures/LZ0012.p7s" in line and "organizationIdentifier=LZ0012" in line
