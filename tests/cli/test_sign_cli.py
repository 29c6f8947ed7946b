"""`govarc sign`: sign a package with a key and certificate, or with a workspace agency's key."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from govarc.cli import main
from govarc.package.build import build_package
from govarc.package.metadata import load_metadata
from govarc.package.verify import verify_package
from govarc.sign.agency import load_agency_signer
from govarc.sign.keys import FixedPrompter, load_private_key
from govarc.sign.validate import SignaturePolicy, load_trust_anchors, make_signature_check
from govarc.workspace import Workspace

PASS = "another-test-passphrase"
ENV = {"GOVARC_KEY_PASSPHRASE": PASS}


def run(runner: CliRunner, home: Path, *args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(main, ["--home", str(home), *args], env=ENV if env is None else env)


@pytest.fixture
def home(tmp_path: Path, runner: CliRunner) -> Path:
    """A workspace with a local CA, agency LZ0012 (the sample's) and the archives DA0001, both with keys."""
    h = tmp_path / "home"
    assert run(runner, h, "init").exit_code == 0
    for code, name in (("LZ0012", "柳州市人民政府办公室"), ("DA0001", "柳州市档案馆")):
        assert run(runner, h, "agency", "add", code, "--name", name, "--fonds", code[-4:]).exit_code == 0
    assert run(runner, h, "pki", "init-ca").exit_code == 0
    for code in ("LZ0012", "DA0001"):
        r = run(runner, h, "pki", "issue", code)
        assert r.exit_code == 0, r.output
    return h


def anchors(home: Path) -> SignaturePolicy:
    return SignaturePolicy(anchors=load_trust_anchors([home / "trust"]))


@pytest.mark.parametrize("zipped", [False, True])
def test_sign_with_key_and_cert_then_countersign(runner: CliRunner, home: Path, build_sample: Callable[..., Path],
                                                 zipped: bool) -> None:
    pkg = build_sample("p.zip" if zipped else "p", zip=zipped)
    keys = home / "keys" / "LZ0012"
    r = run(runner, home, "sign", str(pkg), "--key", str(keys / "key.pem"), "--cert", str(keys / "cert.pem"),
            "--chain", str(keys / "chain.pem"))
    assert r.exit_code == 0, r.output
    assert "signatures/LZ0012.p7s" in r.stdout and PASS not in r.output
    r = run(runner, home, "--json", "sign", str(pkg), "--agency", "DA0001")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["signature"] == "signatures/DA0001.p7s"
    result = verify_package(pkg, extra=make_signature_check(anchors(home)))
    assert result.valid, result.findings
    assert sorted(str(s["agency_code"]) for s in result.signers) == ["DA0001", "LZ0012"]
    assert run(runner, home, "verify", str(pkg)).exit_code == 0


def test_sign_refuses_to_replace_and_a_bad_key(runner: CliRunner, home: Path, build_sample: Callable[..., Path]) -> None:
    pkg = build_sample()
    assert run(runner, home, "sign", str(pkg), "--agency", "LZ0012").exit_code == 0
    r = run(runner, home, "sign", str(pkg), "--agency", "LZ0012")
    assert r.exit_code == 4 and "already exists" in r.stderr
    assert run(runner, home, "sign", str(pkg), "--agency", "LZ0012", "--replace").exit_code == 0
    lz, da = home / "keys" / "LZ0012", home / "keys" / "DA0001"
    r = run(runner, home, "sign", str(pkg), "--key", str(da / "key.pem"), "--cert", str(lz / "cert.pem"), "--replace")
    assert r.exit_code == 4 and "does not match" in r.stderr
    r = run(runner, home, "sign", str(pkg), "--agency", "LZ0012", "--replace", env={"GOVARC_KEY_PASSPHRASE": "zz-bad-pass-zz"})
    assert r.exit_code == 4 and "wrong passphrase" in r.stderr and "zz-bad-pass-zz" not in r.output
    assert run(runner, home, "sign", str(pkg), "--key", str(lz / "key.pem")).exit_code == 2


def test_sign_outside_a_workspace_with_an_unencrypted_key(runner: CliRunner, home: Path, tmp_path: Path,
                                                          build_sample: Callable[..., Path]) -> None:
    pkg = build_sample()
    lz = home / "keys" / "LZ0012"
    clear = tmp_path / "clear-key.pem"
    clear.write_bytes(load_private_key(lz / "key.pem", PASS.encode()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    clear.chmod(0o600)
    elsewhere = tmp_path / "nowhere"
    r = run(runner, elsewhere, "sign", str(pkg), "--key", str(clear), "--cert", str(lz / "cert.pem"),
            env={"GOVARC_KEY_PASSPHRASE": None})
    assert r.exit_code == 0, r.output
    assert verify_package(pkg, extra=make_signature_check(anchors(home))).valid
    if shutil.which("openssl"):
        r2 = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(pkg / "signatures" / "LZ0012.p7s"),
                             "-content", str(pkg / "tagmanifest-sha256.txt"), "-CAfile", str(home / "pki" / "ca.pem"),
                             "-purpose", "any", "-out", "/dev/null"], capture_output=True, text=True, check=False)
        assert r2.returncode == 0, r2.stderr


def test_sign_refuses_an_invalid_package(runner: CliRunner, home: Path, build_sample: Callable[..., Path]) -> None:
    pkg = build_sample()
    (pkg / "bag-info.txt").write_text("changed\n", encoding="utf-8")
    r = run(runner, home, "sign", str(pkg), "--agency", "LZ0012")
    assert r.exit_code == 3 and "will not sign an invalid package" in r.stderr
    assert not list((pkg / "signatures").iterdir())


def test_load_agency_signer_for_build_package(home: Path, tmp_path: Path, sample_source: Path, sample_metadata: Path) -> None:
    ws = Workspace.open(home)
    assert load_agency_signer(ws, "NOKEY", FixedPrompter(b"unused")) is None
    signer = load_agency_signer(ws, "LZ0012", FixedPrompter(PASS.encode()))
    assert signer is not None
    out = tmp_path / "signed"
    build_package(sample_source, load_metadata(sample_metadata), out, durable=False, signer=signer)
    assert (out / "signatures" / "LZ0012.p7s").is_file()
    result = verify_package(out, extra=make_signature_check(anchors(home)))
    assert result.valid and result.signers[0]["agency_code"] == "LZ0012"
