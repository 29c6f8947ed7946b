"""`govarc accept` end to end over the folder transport, with real certificates and packages."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from govarc.accept.docs import CheckResult, Verdict, receipt_from_xml
from govarc.accept.run import accept_workspace
from govarc.catalog.db import open_catalog
from govarc.cli import main
from govarc.package.verify import verify_package
from govarc.sign.keys import FixedPrompter
from govarc.sign.validate import make_signature_check
from govarc.transport import FolderTransport
from tests.accept.conftest import ARCHIVES, PASSPHRASE, code_of
from tests.sign.conftest import AGENCY


def run(ws):
    return accept_workspace(ws, FixedPrompter(PASSPHRASE))


def held(home: Path) -> list[str]:
    return sorted(p.relative_to(home).as_posix() for p in (home / "holdings").rglob("*.zip"))


def receipt(exchange: Path, batch: str):
    data = (exchange / "receipts" / AGENCY / batch / "receipt.xml").read_bytes()
    return data, receipt_from_xml(data, "receipt.xml")


def openssl_verify(data: Path, sig: Path, ca: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content",
                           str(data), "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null"], capture_output=True)


def test_a_tampered_package_is_rejected_with_1_1_while_the_rest_is_accepted_countersigned_and_receipted(
        agency, archives, pki, tmp_path):
    pkgs = [agency.package(i) for i in (1, 2, 3)]
    list_xml = agency.deliver("SZF-20261130-0001", pkgs)
    # the second package is changed on the transport after the list was signed
    on_wire = agency.exchange / "inbound" / AGENCY / "SZF-20261130-0001" / "packages" / pkgs[1].name
    data = bytearray(on_wire.read_bytes())
    data[len(data) // 2] ^= 0x01
    on_wire.write_bytes(bytes(data))

    report = run(archives)

    assert [(b.state, b.accepted, b.rejected, b.duplicate) for b in report.batches] == [("answered", 2, 1, 0)]
    assert report.exit_code == 0
    raw, r = receipt(agency.exchange, "SZF-20261130-0001")
    assert r.list_sha256 == hashlib.sha256(list_xml).hexdigest()
    assert [v.verdict for v in r.verdicts] == [Verdict.ACCEPTED, Verdict.REJECTED, Verdict.ACCEPTED]
    failed = [c.code for c in r.verdicts[1].checks if c.result is CheckResult.FAILED]
    assert failed[0] == "1-1"
    assert all(c.result is not CheckResult.FAILED for v in (r.verdicts[0], r.verdicts[2]) for c in v.checks)
    # the virus scan is never reported passed without clamscan
    scan = next(c for c in r.verdicts[0].checks if c.code == "4-2")
    assert scan.result in (CheckResult.NOT_PERFORMED, CheckResult.PASSED)
    if scan.result is CheckResult.PASSED:
        import shutil
        assert shutil.which("clamscan")
    home = archives.home
    assert held(home) == sorted(f"holdings/{s[:2]}/{s}.zip" for s in
                                (hashlib.sha256(pkgs[i].read_bytes()).hexdigest() for i in (0, 2)))
    rejected = home / "rejected" / AGENCY / "SZF-20261130-0001"
    assert (rejected / pkgs[1].name).read_bytes() == bytes(data)
    assert '"1-1"' in (rejected / f"{pkgs[1].name}.reasons.json").read_text(encoding="utf-8")
    # the receipt verifies with stock OpenSSL, and its printable form names both parties
    sig = agency.exchange / "receipts" / AGENCY / "SZF-20261130-0001" / "receipt.xml.p7s"
    xml = agency.exchange / "receipts" / AGENCY / "SZF-20261130-0001" / "receipt.xml"
    assert openssl_verify(xml, sig, pki.dir / "ca.pem").returncode == 0
    form = (home / "receipts" / AGENCY / "SZF-20261130-0001" / "登记表.html").read_text(encoding="utf-8")
    assert "移交单位" in form and "接收单位" in form
    # the held package carries the agency's signature and the archives' countersignature, both valid
    kept = home / held(home)[0]
    result = verify_package(kept, extra=make_signature_check(pki.policy()))
    assert result.valid, result.findings
    assert sorted(s["agency_code"] for s in result.signers) == [ARCHIVES, AGENCY]
    with zipfile.ZipFile(kept) as zf:
        top = zf.namelist()[0].split("/", 1)[0]
        (tmp_path / "tm.txt").write_bytes(zf.read(f"{top}/tagmanifest-sha256.txt"))
        (tmp_path / "da.p7s").write_bytes(zf.read(f"{top}/signatures/{ARCHIVES}.p7s"))
        (tmp_path / "ag.p7s").write_bytes(zf.read(f"{top}/signatures/{AGENCY}.p7s"))
    for name in ("da.p7s", "ag.p7s"):
        assert openssl_verify(tmp_path / "tm.txt", tmp_path / name, pki.dir / "ca.pem").returncode == 0
    assert kept.stat().st_mode & 0o222 == 0  # immutable


def test_a_batch_delivered_twice_is_stored_once_and_reported_duplicate(agency, archives):
    pkgs = [agency.package(i) for i in (1, 2)]
    agency.deliver("SZF-1", pkgs)
    agency.deliver("SZF-2", pkgs)
    report = run(archives)
    assert [(b.batch_id, b.accepted, b.duplicate) for b in report.batches] == [("SZF-1", 2, 0), ("SZF-2", 0, 2)]
    assert len(held(archives.home)) == 2
    _, r = receipt(agency.exchange, "SZF-2")
    assert {v.verdict for v in r.verdicts} == {Verdict.DUPLICATE}
    assert [v.holdings_key for v in r.verdicts] == [f"holdings/{v.sha256[:2]}/{v.sha256}.zip" for v in r.verdicts]
    # answered batches are skipped: a second run does nothing
    assert run(archives).batches == ()


def test_the_same_archival_code_with_other_content_fails_1_5(agency, archives):
    agency.deliver("SZF-1", [agency.package(1)])
    first = run(archives)
    assert first.batches[0].accepted == 1
    # a different package under the held 档号: rebuild with another title
    (agency.root / "built" / f"{code_of(1)}.zip").unlink()
    changed = agency.package(1, title="柳州市人民政府关于做好2007年春季植树造林工作的通知（修订）")
    agency.deliver("SZF-2", [changed])
    second = run(archives)
    _, r = receipt(agency.exchange, "SZF-2")
    failed = {c.code for c in r.verdicts[0].checks if c.result is CheckResult.FAILED}
    assert second.batches[0].rejected == 1 and "1-5" in failed and "1-6" in failed


@pytest.mark.parametrize("signer,agency_dir,list_agency", [
    pytest.param("other_agency", AGENCY, None, id="signed-by-another-agency"),
    pytest.param("untrusted", AGENCY, None, id="signed-under-an-untrusted-CA"),
    pytest.param("agency", "LZ0099", "LZ0099", id="published-as-another-agency"),
])
def test_a_list_not_signed_by_its_agency_refuses_the_batch_exit_4(agency, archives, runner, env, signer,
                                                                   agency_dir, list_agency):
    agency.deliver("B1", [agency.package(1)], signer=signer, agency=agency_dir, list_agency=list_agency)
    result = runner.invoke(main, ["--home", str(archives.home), "accept"], env=env)
    assert result.exit_code == 4, result.output
    assert "refused" in result.stderr and "B1" in result.stderr
    assert held(archives.home) == []
    assert not (agency.exchange / "receipts").exists()
    # refused once: the same list is not judged again
    again = runner.invoke(main, ["--home", str(archives.home), "--json", "accept"], env=env)
    assert again.exit_code == 0 and '"skipped"' in again.output


def test_a_tampered_list_is_refused(agency, archives):
    agency.deliver("B1", [agency.package(1)])
    lst = agency.exchange / "inbound" / AGENCY / "B1" / "transfer-list.xml"
    lst.write_bytes(lst.read_bytes().replace(b"2007", b"2008"))
    report = run(archives)
    assert report.exit_code == 4 and report.batches[0].state == "refused"
    assert "SIGNATURE_INVALID" in report.batches[0].message


def test_a_missing_package_is_rejected_and_formats_outside_the_list_fail_3_2(agency, tmp_path, pki):
    from tests.accept.conftest import make_archives

    ws = make_archives(tmp_path / "strict", pki, agency.exchange, accepted_formats=("PDF/A", "application/ofd"))
    pkgs = [agency.package(1), agency.package(2)]
    agency.deliver("B1", pkgs)
    (agency.exchange / "inbound" / AGENCY / "B1" / "packages" / pkgs[0].name).unlink()
    report = run(ws)
    assert report.batches[0].rejected == 2
    _, r = receipt(agency.exchange, "B1")
    first = {c.code for c in r.verdicts[0].checks if c.result is CheckResult.FAILED}
    second = {c.code for c in r.verdicts[1].checks if c.result is CheckResult.FAILED}
    assert first == {"1-1", "2-1"} and second == {"3-2"}


def test_the_cli_prints_one_line_per_batch_and_json(agency, archives, runner, env):
    agency.deliver("B1", [agency.package(1)])
    result = runner.invoke(main, ["--home", str(archives.home), "accept"], env=env)
    assert result.exit_code == 0, result.output
    assert f"{AGENCY}/B1: accepted 1, rejected 0, duplicate 0" in result.output
    nothing = runner.invoke(main, ["--home", str(archives.home), "accept"], env=env)
    assert nothing.exit_code == 0 and "nothing to accept" in nothing.output


def test_an_agency_workspace_cannot_accept(tmp_path, runner, env):
    from govarc.admin import init_workspace

    init_workspace(tmp_path / "ag")
    result = runner.invoke(main, ["--home", str(tmp_path / "ag"), "accept", "--from", str(tmp_path)], env=env)
    assert result.exit_code == 6 and "archives workspace" in result.stderr


def test_catalog_rows_name_the_holdings(agency, archives):
    agency.deliver("B1", [agency.package(1)])
    run(archives)
    with open_catalog(archives.catalog_path) as cat:
        rows = cat.conn.execute("SELECT archival_code, agency, batch_id FROM holdings").fetchall()
    assert rows == [(code_of(1), AGENCY, "B1")]
    assert FolderTransport(agency.exchange).exists(f"receipts/{AGENCY}/B1/receipt.xml.p7s")


SAMPLES_ACTIVE = Path(__file__).resolve().parents[2] / "samples" / "bad" / "INGEST_ACTIVE_CONTENT"


def test_active_content_is_judged_from_the_pdf_structure_not_from_stray_bytes(agency, archives):
    """4-1: a PDF with JavaScript is rejected; a PDF whose bytes merely contain ``/JS`` (as a scan's
    compressed image data does by chance every few megabytes) is not."""
    from tests.conftest import PDF_BYTES

    scripted = agency.package(1, pdf=(SAMPLES_ACTIVE / "柳政办发〔2024〕102号.pdf").read_bytes())
    stray = agency.package(2, pdf=PDF_BYTES + b"\n% image data: /JS /JavaScript /Launch /EmbeddedFiles\n")
    agency.deliver("SZF-1", [scripted, stray])
    report = run(archives)
    assert (report.batches[0].accepted, report.batches[0].rejected) == (1, 1)
    _, r = receipt(agency.exchange, "SZF-1")
    by_code = {v.archival_code: v for v in r.verdicts}
    failed = {c.code: c.message for c in by_code[code_of(1)].checks if c.result is CheckResult.FAILED}
    assert "4-1" in failed and "JavaScript" in failed["4-1"], failed
    assert by_code[code_of(2)].verdict is Verdict.ACCEPTED
    assert all(c.result is not CheckResult.FAILED for c in by_code[code_of(2)].checks)
