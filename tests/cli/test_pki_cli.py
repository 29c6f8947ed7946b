"""`govarc pki`: local CA, agency certificates, imports, trust store and CRLs; keys encrypted and 0600."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from govarc.cli import main
from govarc.sign.keys import generate_key
from govarc.sign.pki import identity_of, issue_certificate, load_agency_credentials, load_ca, make_ca_certificate

PASS = "s3cret-passphrase-for-tests"
ENV = {"GOVARC_KEY_PASSPHRASE": PASS}


def run(runner: CliRunner, home: Path, *args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(main, ["--home", str(home), *args], env=ENV if env is None else env)


@pytest.fixture
def home(tmp_path: Path, runner: CliRunner) -> Path:
    h = tmp_path / "home"
    assert run(runner, h, "init").exit_code == 0
    for code, name in (("LZ0012", "柳州市人民政府办公室"), ("LZ0099", "柳州市林业局")):
        r = run(runner, h, "agency", "add", code, "--name", name, "--fonds", code[-4:])
        assert r.exit_code == 0, r.output
    return h


def test_init_ca_and_issue(runner: CliRunner, home: Path) -> None:
    r = run(runner, home, "pki", "init-ca", "--name", "柳州市档案馆测试CA")
    assert r.exit_code == 0, r.output
    assert "柳州市档案馆测试CA" in r.stdout and PASS not in r.output
    assert stat.S_IMODE((home / "pki" / "ca-key.pem").stat().st_mode) == 0o600
    assert b"ENCRYPTED" in (home / "pki" / "ca-key.pem").read_bytes()
    assert (home / "trust" / "local-ca.pem").read_bytes() == (home / "pki" / "ca.pem").read_bytes()
    assert run(runner, home, "pki", "init-ca").exit_code == 6  # never replaces a CA

    r = run(runner, home, "--json", "pki", "issue", "LZ0012")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["agency"] == "LZ0012" and "organizationIdentifier=LZ0012" in info["subject"]
    keys = home / "keys" / "LZ0012"
    assert stat.S_IMODE((keys / "key.pem").stat().st_mode) == 0o600
    creds = load_agency_credentials(keys, PASS.encode())
    ku = creds.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment
    assert identity_of(creds.cert) == "LZ0012"
    assert run(runner, home, "pki", "issue", "LZ0012").exit_code == 6  # already has a key
    assert run(runner, home, "pki", "issue", "LZ0012", "--replace").exit_code == 0


def test_no_passphrase_is_a_config_error(runner: CliRunner, home: Path) -> None:
    r = run(runner, home, "pki", "init-ca", env={"GOVARC_KEY_PASSPHRASE": None})
    assert r.exit_code == 6
    assert "no passphrase: set GOVARC_KEY_PASSPHRASE or --passphrase-file" in r.stderr
    assert not (home / "pki" / "ca-key.pem").exists()


def test_passphrase_file_and_wrong_passphrase(runner: CliRunner, home: Path, tmp_path: Path) -> None:
    pf = tmp_path / "pass.txt"
    pf.write_text("from-a-file\n")
    pf.chmod(0o600)
    no_env: dict[str, str | None] = {"GOVARC_KEY_PASSPHRASE": None}
    assert run(runner, home, "pki", "init-ca", "--passphrase-file", str(pf), env=no_env).exit_code == 0
    load_ca(home / "pki", b"from-a-file")  # the trailing newline is not part of it
    r = run(runner, home, "pki", "issue", "LZ0012", env={"GOVARC_KEY_PASSPHRASE": "not-the-right-one"})
    assert r.exit_code == 4
    assert "wrong passphrase" in r.stderr and "not-the-right-one" not in r.output
    assert not (home / "keys" / "LZ0012").exists()


def test_issue_for_unknown_agency(runner: CliRunner, home: Path) -> None:
    assert run(runner, home, "pki", "init-ca").exit_code == 0
    r = run(runner, home, "pki", "issue", "NOPE")
    assert r.exit_code == 6 and "unknown agency" in r.stderr


@pytest.fixture
def real_ca(tmp_path: Path) -> dict[str, Path]:
    """A CA outside the workspace, with a certificate for LZ0012: PEM files, an unencrypted key and a .p12."""
    d = tmp_path / "realca"
    d.mkdir()
    ca_key = generate_key()
    ca = make_ca_certificate(ca_key, "省电子政务CA")
    key = generate_key()
    cert = issue_certificate(ca_key, ca, key.public_key(), "LZ0012", "柳州市人民政府办公室")
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "lz.pem").write_bytes(cert.public_bytes(pem))
    (d / "lz-key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (d / "other-key.pem").write_bytes(generate_key().private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (d / "lz.p12").write_bytes(pkcs12.serialize_key_and_certificates(b"lz", key, cert, [ca], BestAvailableEncryption(b"p12-pass")))
    (d / "p12.pass").write_text("p12-pass\n")
    for secret in ("lz-key.pem", "other-key.pem", "p12.pass"):
        (d / secret).chmod(0o600)  # secrets are private, or govarc refuses them
    now = dt.datetime.now(dt.timezone.utc)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now)
           .next_update(now + dt.timedelta(days=7)).sign(ca_key, hashes.SHA256()))
    (d / "ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return {p.stem + p.suffix: p for p in d.iterdir()}


def test_import_pem(runner: CliRunner, home: Path, real_ca: dict[str, Path]) -> None:
    r = run(runner, home, "pki", "import", "LZ0012", "--cert", str(real_ca["lz.pem"]), "--key", str(real_ca["other-key.pem"]))
    assert r.exit_code == 4 and "does not match" in r.stderr
    r = run(runner, home, "pki", "import", "LZ0099", "--cert", str(real_ca["lz.pem"]), "--key", str(real_ca["lz-key.pem"]))
    assert r.exit_code == 4 and "not 'LZ0099'" in r.stderr
    assert not (home / "keys" / "LZ0099").exists()
    r = run(runner, home, "pki", "import", "LZ0012", "--cert", str(real_ca["lz.pem"]), "--key", str(real_ca["lz-key.pem"]),
            "--chain", str(real_ca["ca.pem"]))
    assert r.exit_code == 0, r.output
    keys = home / "keys" / "LZ0012"
    assert b"ENCRYPTED" in (keys / "key.pem").read_bytes()  # stored encrypted though it came in clear
    assert stat.S_IMODE((keys / "key.pem").stat().st_mode) == 0o600
    assert load_agency_credentials(keys, PASS.encode()).chain[0].subject.rfc4514_string() == "CN=省电子政务CA"


def test_import_p12(runner: CliRunner, home: Path, real_ca: dict[str, Path]) -> None:
    r = run(runner, home, "pki", "import", "LZ0012", "--p12", str(real_ca["lz.p12"]),
            "--source-passphrase-file", str(real_ca["p12.pass"]))
    assert r.exit_code == 0, r.output
    creds = load_agency_credentials(home / "keys" / "LZ0012", PASS.encode())
    assert identity_of(creds.cert) == "LZ0012" and len(creds.chain) == 1
    r = run(runner, home, "pki", "import", "LZ0012", "--p12", str(real_ca["lz.p12"]), "--cert", str(real_ca["lz.pem"]))
    assert r.exit_code == 2


def test_trust_and_crl(runner: CliRunner, home: Path, real_ca: dict[str, Path]) -> None:
    r = run(runner, home, "pki", "trust", "add", str(real_ca["lz.pem"]))
    assert r.exit_code == 4 and "not a CA certificate" in r.stderr
    assert run(runner, home, "pki", "trust", "add", str(real_ca["ca.pem"])).exit_code == 0
    r = run(runner, home, "pki", "crl", "add", str(real_ca["ca.crl"]))
    assert r.exit_code == 0, r.output
    assert "not a trust anchor" not in r.stdout
    assert len(list((home / "trust" / "crls").glob("*.crl"))) == 1
    listing = json.loads(run(runner, home, "--json", "pki", "trust", "list").stdout)
    assert [a["subject"] for a in listing["anchors"]] == ["CN=省电子政务CA"]
    assert listing["crls"][0]["issuer"] == "CN=省电子政务CA" and listing["crls"][0]["revoked"] == 0
    r = run(runner, home, "pki", "crl", "add", str(real_ca["ca.pem"]))
    assert r.exit_code == 3 and "not a CRL" in r.stderr


def test_every_pki_command_has_help(runner: CliRunner) -> None:
    for args in (["pki"], ["pki", "init-ca"], ["pki", "issue"], ["pki", "import"], ["pki", "trust", "add"],
                 ["pki", "trust", "list"], ["pki", "crl", "add"], ["sign"]):
        r = runner.invoke(main, [*args, "--help"])
        assert r.exit_code == 0, args
        assert "Example" in r.stdout or args == ["pki", "trust", "list"], args
