"""No unsigned package by accident: PACKAGE_NO_KEY, `unsigned = true`, `sign --pending` and `status` from disk."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.cli import main
from govarc.archiving.pending import has_agency_signature
from govarc.package.verify import verify_package
from govarc.sign.validate import SignaturePolicy, load_trust_anchors, make_signature_check
from tests.citykit import make_city

ENV = {"GOVARC_KEY_PASSPHRASE": "pending-test-passphrase"}


def run(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--home", str(home), *args], env=ENV)


def catalog_rows(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        return conn.execute("SELECT archival_code, state, package_path, package_signed, package_size, "
                            "package_tagmanifest_sha256 FROM records ORDER BY id").fetchall()


def store_entries(home: Path) -> list[str]:
    store = home / "store"
    return sorted(str(p.relative_to(store)) for p in store.rglob("*")) if store.exists() else []


def workspace(tmp_path: Path, *, unsigned: bool, n: int = 3, zipped: bool = False) -> Path:
    city = make_city(tmp_path, n=n, unsigned=unsigned)
    home = tmp_path / "home"
    assert run(home, "init", "--config", str(city)).exit_code == 0
    if zipped:
        toml = home / "govarc.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("zip = false", "zip = true"), encoding="utf-8")
    return home


def status(home: Path) -> dict[str, object]:
    r = run(home, "--json", "status")
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)
    return row


def trust(home: Path) -> SignaturePolicy:
    return SignaturePolicy(anchors=load_trust_anchors([home / "trust"]))


@pytest.mark.parametrize("command", [("nightly",), ("package",), ("package", "--agency", "SZF")])
def test_packaging_an_agency_without_a_key_is_refused_and_builds_nothing(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = workspace(tmp_path, unsigned=False)
    if command[0] == "package":
        assert run(home, "ingest", str(tmp_path / "drop" / "SZF"), "--agency", "SZF").exit_code == 0
    r = run(home, *command)
    assert r.exit_code == 6, r.output
    (line,) = r.stderr.strip().splitlines()
    assert "PACKAGE_NO_KEY: agency SZF has no signing key" in line
    assert str(home.resolve() / "keys" / "SZF" / "key.pem") in line and "unsigned = true" in line
    assert store_entries(home) in ([], ["SZF"])  # nothing built
    assert [row[1:4] for row in catalog_rows(home)] == [("registered", None, None)] * 3
    js = run(home, "--json", *command)
    if command[0] == "package":  # nightly reports per agency in its own JSON report
        assert json.loads(js.stdout)["error"]["message"].startswith("PACKAGE_NO_KEY: agency SZF")
    assert js.exit_code == 6


def test_nightly_refuses_only_the_agency_without_a_key(tmp_path: Path) -> None:
    from tests.citykit import make_doc

    city = make_city(tmp_path, n=2, unsigned=False)
    make_doc(tmp_path / "drop" / "CZJ", 1, prefix="柳财预")
    with open(city, "a", encoding="utf-8") as f:
        f.write('\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\nunit = "CWK"\ndrop = "drop/CZJ"\n')
    home = tmp_path / "home"
    assert run(home, "init", "--config", str(city)).exit_code == 0
    assert run(home, "pki", "init-ca").exit_code == 0
    assert run(home, "pki", "issue", "CZJ").exit_code == 0
    r = run(home, "nightly")
    assert r.exit_code == 6
    assert r.stderr.strip().splitlines()[0].startswith("govarc: error: agency SZF: PACKAGE_NO_KEY: agency SZF")
    (pkg,) = (home / "store" / "CZJ").iterdir()
    assert verify_package(pkg, extra=make_signature_check(trust(home))).valid
    assert not (home / "store" / "SZF").exists() or not any((home / "store" / "SZF").iterdir())


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_unsigned_packages_then_a_key_then_sign_pending(tmp_path: Path, zipped: bool) -> None:
    home = workspace(tmp_path, unsigned=True, zipped=zipped)
    assert run(home, "nightly").exit_code == 0
    row = status(home)  # (status also gives the records' states: packaged, not signed, here)
    assert {k: row[k] for k in ("agency", "name", "records", "packages", "signed")} == {
        "agency": "SZF", "name": "柳州市人民政府办公室", "records": 3, "packages": 3, "signed": 0}
    assert row["states"]["packaged"] == 3 and row["transferred"] == 0
    before = catalog_rows(home)
    assert all(row[3] == 0 for row in before)
    packages = sorted((home / "store" / "SZF").iterdir())
    assert len(packages) == 3 and all(p.suffix == (".zip" if zipped else "") for p in packages)

    assert run(home, "pki", "init-ca").exit_code == 0
    assert run(home, "pki", "issue", "SZF").exit_code == 0
    r = run(home, "--json", "sign", "--pending")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["exit_code"] == 0
    (szf,) = report["agencies"]
    assert len(szf["signed"]) == 3 and szf["failed"] == [] and not any(p["already_signed"] for p in szf["signed"])

    after = catalog_rows(home)
    assert [row[:3] for row in after] == [row[:3] for row in before]  # same packages, same places
    assert all(row[3] == 1 for row in after)
    for row in after:
        p = home / row[2]  # package_path is a key relative to the home
        assert has_agency_signature(p, "SZF")
        result = verify_package(p, extra=make_signature_check(trust(home)))
        assert result.valid, result.errors
        # the catalog holds what is on disk now: size (a .zip grew) and the tag-manifest digest
        size = p.stat().st_size if zipped else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        assert row[4] == size
    assert [row[5] for row in after] == [row[5] for row in before]  # the tag manifest did not change
    assert status(home)["signed"] == 3
    assert sorted((home / "store" / "SZF").iterdir()) == packages  # no temporary left beside them

    if shutil.which("openssl"):
        p = packages[0]
        work = tmp_path / "openssl"
        if zipped:
            import zipfile

            with zipfile.ZipFile(p) as z:
                z.extractall(work)
            (top,) = work.iterdir()
        else:
            top = p
        done = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER",
                               "-in", str(top / "signatures" / "SZF.p7s"), "-content", str(top / "tagmanifest-sha256.txt"),
                               "-CAfile", str(home / "pki" / "ca.pem"), "-purpose", "any", "-out", "/dev/null"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    again = run(home, "sign", "--pending", "--agency", "SZF")
    assert again.exit_code == 0 and "SZF: 0 packages signed, 0 failed" in again.stdout
    assert catalog_rows(home) == after


def test_status_counts_signatures_on_disk_not_the_catalog_flag(tmp_path: Path) -> None:
    home = workspace(tmp_path, unsigned=True)
    assert run(home, "pki", "init-ca").exit_code == 0
    assert run(home, "pki", "issue", "SZF").exit_code == 0
    assert run(home, "nightly").exit_code == 0
    assert status(home)["signed"] == 3
    first, second, third = sorted((home / "store" / "SZF").iterdir())
    (first / "signatures" / "SZF.p7s").unlink()  # the catalog still says signed
    sig = second / "signatures"
    shutil.move(str(sig / "SZF.p7s"), str(tmp_path / "SZF.p7s"))
    (sig / "SZF.p7s").symlink_to(tmp_path / "SZF.p7s")  # a link is no signature of the package
    assert status(home)["signed"] == 1
    with sqlite3.connect(home / "catalog.sqlite") as conn:  # and the other way: the flag lost, the file there
        conn.execute("UPDATE records SET package_signed=0")
    assert status(home)["signed"] == 1
    (sig / "SZF.p7s").unlink()
    r = run(home, "--json", "sign", "--pending")
    assert r.exit_code == 0, r.output
    (szf,) = json.loads(r.stdout)["agencies"]
    assert sorted((p["archival_code"], p["already_signed"]) for p in szf["signed"]) == sorted(
        [(first.name, False), (second.name, False), (third.name, True)])
    assert status(home)["signed"] == 3 and all(row[3] == 1 for row in catalog_rows(home))


def test_sign_pending_refusals(tmp_path: Path) -> None:
    home = workspace(tmp_path, unsigned=True)
    assert run(home, "nightly").exit_code == 0
    no_key = run(home, "sign", "--pending", "--agency", "SZF")
    assert no_key.exit_code == 6
    assert no_key.stderr.startswith("govarc: error: PACKAGE_NO_KEY: agency SZF has no signing key")
    every = run(home, "sign", "--pending")  # without --agency: agencies without a key are reported, not fatal
    assert every.exit_code == 0 and "SZF: 3 unsigned package(s), no key" in every.stdout
    assert status(home)["signed"] == 0
    assert run(home, "sign", "--pending", "--key", "k.pem").exit_code == 2
    assert run(home, "sign").exit_code == 2
    assert run(home, "sign", "--pending", "--agency", "NOPE").exit_code == 6


def test_sign_pending_signs_the_others_when_one_package_is_broken(tmp_path: Path) -> None:
    home = workspace(tmp_path, unsigned=True)
    assert run(home, "nightly").exit_code == 0
    assert run(home, "pki", "init-ca").exit_code == 0
    assert run(home, "pki", "issue", "SZF").exit_code == 0
    first, *rest = sorted((home / "store" / "SZF").iterdir())
    (pdf,) = (first / "data").glob("*.pdf")
    pdf.write_bytes(pdf.read_bytes() + b"%tampered")
    r = run(home, "sign", "--pending")
    assert r.exit_code == 3
    assert r.stderr.strip().splitlines() == [
        f"govarc: error: {first}: will not sign an invalid package: " + r.stderr.split("will not sign an invalid package: ")[1].strip()]
    assert not has_agency_signature(first, "SZF") and all(has_agency_signature(p, "SZF") for p in rest)
    assert {home / row[2]: row[3] for row in catalog_rows(home)} == {first: 0, **{p: 1 for p in rest}}
