"""Fixity audits of a whole store: the parallel path gives exactly the serial findings; resume; progress; bad journals."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.cli import main
from govarc.package.audit import verify_many
from govarc.package.verify import VerifyResult, verify_package
from govarc.sign.agency import workspace_policy
from govarc.sign.cms import sign_package
from govarc.sign.pki import load_agency_credentials
from govarc.sign.validate import make_signature_check
from govarc.workspace import Workspace

PASS = "audit-test-passphrase"
ENV = {"GOVARC_KEY_PASSPHRASE": PASS}
AGENCY = "LZ0012"


def run(runner: CliRunner, home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(main, ["--home", str(home), *args], env=ENV)


def _tamper_payload(pkg: Path) -> None:
    f = next(p for p in sorted((pkg / "data").rglob("*")) if p.is_file())
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))


def _tamper_tagmanifest(pkg: Path) -> None:
    t = pkg / "tagmanifest-sha256.txt"
    lines = t.read_text(encoding="utf-8").splitlines()
    t.write_text("\n".join(sorted(lines, reverse=True)) + "\n", encoding="utf-8")  # same entries, other bytes: the signature breaks


def _unsign(pkg: Path) -> None:
    shutil.rmtree(pkg / "signatures")


def _bag_info(pkg: Path) -> None:
    b = pkg / "bag-info.txt"
    b.write_text(b.read_text(encoding="utf-8").replace("Payload-Oxum: ", "Payload-Oxum: 1"), encoding="utf-8")


def _zip_damage(pkg: Path) -> None:
    data = bytearray(pkg.read_bytes())
    at = data.find(b"data/")  # inside the first local header's name region: damages an entry, not the directory
    data[at + 200] ^= 0xFF
    pkg.write_bytes(bytes(data))


TAMPERS: dict[str, tuple[Callable[[Path], None], bool, str]] = {
    # name: (tamper, zip, a code it must give)
    "payload": (_tamper_payload, False, "PAYLOAD_DIGEST_MISMATCH"),
    "tagmanifest": (_tamper_tagmanifest, False, "SIGNATURE_INVALID"),
    "unsigned": (_unsign, False, "SIGNATURE_MISSING"),
    "bag-info": (_bag_info, False, "OXUM_MISMATCH"),
}


@pytest.fixture
def home(tmp_path: Path, runner: CliRunner, build_sample: Callable[..., Path]) -> Path:
    """A workspace whose store holds signed packages (folders and zips) with tampered ones mixed in."""
    h = tmp_path / "home"
    assert run(runner, h, "init").exit_code == 0
    for code in (AGENCY, "LZ0099"):
        assert run(runner, h, "agency", "add", code, "--name", f"机构{code}", "--fonds", code[-4:]).exit_code == 0
    assert run(runner, h, "pki", "init-ca").exit_code == 0
    for code in (AGENCY, "LZ0099"):
        assert run(runner, h, "pki", "issue", code).exit_code == 0
    store = h / "store" / AGENCY
    store.mkdir(parents=True, exist_ok=True)
    creds = {c: load_agency_credentials(h / "keys" / c, PASS.encode()) for c in (AGENCY, "LZ0099")}
    for i in range(12):
        zipped = i % 3 == 0
        pkg = build_sample(f"p{i:02d}", zip=zipped)
        sign_package(pkg, AGENCY, creds[AGENCY])
        pkg.rename(store / f"p{i:02d}{'.zip' if zipped else ''}")
    for name, (tamper, _zip, _code) in TAMPERS.items():
        pkg = build_sample(f"t-{name}")
        sign_package(pkg, AGENCY, creds[AGENCY])
        tamper(pkg)
        pkg.rename(store / f"p05-{name}")  # sorted among the good ones
    wrong = build_sample("t-wrong")
    sign_package(wrong, "LZ0099", creds["LZ0099"])
    wrong.rename(store / "p07-wrong-agency")
    damaged = build_sample("t-zip", zip=True)
    sign_package(damaged, AGENCY, creds[AGENCY])
    _zip_damage(damaged)
    damaged.rename(store / "p08-damaged.zip")
    (store / "p09-not-a-package.txt").write_text("hello", encoding="utf-8")
    (store / "p10-empty").mkdir()
    return h


def _key(r: VerifyResult) -> tuple[object, ...]:
    return (r.path, r.findings, r.bag_info, r.signers)


def _store(home: Path) -> list[Path]:
    return list(Workspace.open(home).stored_packages())


def test_parallel_gives_exactly_the_serial_findings(home: Path) -> None:
    policy = workspace_policy(Workspace.open(home))
    paths = _store(home)
    serial = list(verify_many(paths, policy, jobs=1))
    parallel = list(verify_many(paths, policy, jobs=2, chunk=2))
    one_by_one = [verify_package(p, extra=make_signature_check(policy)) for p in paths]
    assert [_key(r) for r in parallel] == [_key(r) for r in serial] == [_key(r) for r in one_by_one]
    by_name = {Path(r.path).name: {f.code for f in r.findings} for r in serial}
    for name, (_tamper, _zip, code) in TAMPERS.items():
        assert code in by_name[f"p05-{name}"], (name, by_name[f"p05-{name}"])
    assert "SIGNER_WRONG_AGENCY" in by_name["p07-wrong-agency"]
    assert by_name["p08-damaged.zip"] & {"ZIP_INVALID", "PAYLOAD_DIGEST_MISMATCH", "TAG_DIGEST_MISMATCH"}
    assert "BAGIT_TXT_MISSING" in by_name["p10-empty"]
    assert by_name["p09-not-a-package.txt"] == {"ZIP_INVALID"}
    good = [r for r in serial if Path(r.path).name[:3] in {f"p{i:02d}" for i in range(12)} and "-" not in Path(r.path).name]
    assert len(good) == 12 and all(r.valid for r in good)


def test_cli_store_audit_streams_json_lines_like_verify(home: Path, runner: CliRunner) -> None:
    paths = _store(home)
    r = run(runner, home, "verify", "--store", "--json", "--jobs", "2")
    assert r.exit_code == 3, r.output  # integrity errors beat signature ones
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["path"] for d in lines[:-1]] == [str(p) for p in paths]
    summary = lines[-1]["summary"]
    assert summary["verified"] == len(paths) and summary["valid"] == 12 and summary["skipped"] == 0
    whole = run(runner, home, "verify", "--json", *map(str, paths))
    assert json.loads(whole.stdout)["packages"] == lines[:-1]
    only = run(runner, home, "verify", "--store", "--agency", "LZ0099", "--json")
    assert only.exit_code == 0 and [json.loads(line) for line in only.stdout.splitlines()] == [
        {"summary": {"verified": 0, "valid": 0, "invalid": 0, "skipped": 0, "skipped_invalid": 0, "exit_code": 0}}]


def test_progress_is_silent_off_a_terminal(home: Path, runner: CliRunner) -> None:
    r = run(runner, home, "verify", "--store", "--agency", AGENCY, "--progress")
    assert r.exit_code == 3
    assert "\x1b[" not in r.output and "verifying packages" not in r.output
    assert r.stdout.splitlines()[-1].startswith("审计 audit: 20 verified, 12 valid 有效, 8 invalid 无效")


def _audit_killed_after(home: Path, journal: Path, n: int, torn: bytes = b"") -> None:
    """`govarc verify --store --journal` in a process that SIGKILLs itself when the n-th package is verified."""
    code = f"""
import os, signal, sys
import govarc.package.audit as audit
made = audit.make_check
def make_check(policy):
    check, seen = made(policy), [0]
    def killing(path):
        seen[0] += 1
        if seen[0] > {n}:
            with open({str(journal)!r}, "ab") as f:
                f.write({torn!r})
            os.kill(os.getpid(), signal.SIGKILL)
        return check(path)
    return killing
audit.make_check = make_check
from govarc.cli import main
main(["--home", {str(home)!r}, "verify", "--store", "--jobs", "1", "--journal", {str(journal)!r}])
"""
    p = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **ENV), capture_output=True)
    assert p.returncode == -9, p.stderr.decode()


@pytest.mark.parametrize("torn", [b"", b'{"path": "/somewhere/p0', b"\xff\xfe"])
def test_resume_after_a_kill_covers_the_rest_exactly_once(home: Path, runner: CliRunner, tmp_path: Path, torn: bytes) -> None:
    journal = tmp_path / "audit.jsonl"
    paths = [str(p) for p in _store(home)]
    _audit_killed_after(home, journal, 7, torn)
    done = [json.loads(line)["path"] for line in journal.read_bytes().splitlines() if line.endswith(b"}")]
    assert done == paths[:7]
    r = run(runner, home, "verify", "--store", "--resume", str(journal), "--json")
    assert r.exit_code == 3, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["path"] for d in lines[:-1]] == paths[7:]
    assert lines[-1]["summary"]["skipped"] == 7 and lines[-1]["summary"]["verified"] == len(paths) - 7
    again = run(runner, home, "verify", "--store", "--resume", str(journal), "--json")
    assert [json.loads(line) for line in again.stdout.splitlines()][-1]["summary"]["skipped"] == len(paths)
    assert again.exit_code == 3  # the skipped invalid packages still count


def test_since_rechecks_invalid_and_changed_packages(home: Path, runner: CliRunner, tmp_path: Path) -> None:
    journal = tmp_path / "audit.jsonl"
    assert run(runner, home, "verify", "--store", "--journal", str(journal)).exit_code == 3
    changed = home / "store" / AGENCY / "p01"
    os.utime(changed / "bagit.txt")
    os.utime(changed, ns=(1, 1))  # a package that changed since: its modification time differs
    r = run(runner, home, "verify", "--store", "--resume", str(journal), "--since", "2000-01-01", "--json")
    rechecked = {Path(json.loads(line)["path"]).name for line in r.stdout.splitlines()[:-1]}
    assert "p01" in rechecked and "p00" not in rechecked
    assert {n for n in rechecked if n != "p01"} == {
        "p05-payload", "p05-tagmanifest", "p05-unsigned", "p05-bag-info", "p07-wrong-agency", "p08-damaged.zip",
        "p09-not-a-package.txt", "p10-empty"}
    future = run(runner, home, "verify", "--store", "--resume", str(journal), "--since", "2999-01-01", "--json")
    assert json.loads(future.stdout.splitlines()[-1])["summary"]["skipped"] == 0


def _fifo(p: Path) -> None:
    os.mkfifo(p)


@pytest.mark.parametrize("make, option, message, code", [
    (lambda p: p.write_text("not json\n"), "--resume", "line 1 is not an audit journal entry", 3),
    (lambda p: p.write_text('{"path": "x"}\n'), "--resume", "line 1 is not an audit journal entry", 3),
    (lambda p: p.write_text('{"path": "x", "size": 1, "mtime_ns": 1, "valid": "yes", "exit_code": 0, '
                            '"verified_at": "2027-01-01T00:00:00+00:00"}\n'), "--resume", "line 1 is not", 3),
    (lambda p: p.write_bytes(b"x" * (70 * 1024)), "--resume", "longer than", 3),
    (_fifo, "--resume", "not a regular file", 3),
    (lambda p: p.mkdir(), "--resume", "is a directory", 2),
    (lambda p: None, "--resume", "no such audit journal to resume", 3),
    (lambda p: p.write_text(""), "--journal", "the audit journal exists", 3),
])
def test_bad_journals_are_one_line_and_exit_3(home: Path, runner: CliRunner, tmp_path: Path, make: Callable[[Path], None],
                                              option: str, message: str, code: int) -> None:
    journal = tmp_path / "j.jsonl"
    make(journal)
    before = sorted(os.listdir(home / "store" / AGENCY))
    r = run(runner, home, "verify", "--store", option, str(journal))
    assert r.exit_code == code, r.output
    assert message in r.output, r.output
    assert "Traceback" not in r.output and sorted(os.listdir(home / "store" / AGENCY)) == before


@pytest.mark.parametrize("args", [
    [], ["--store", "some/pkg"], ["--agency", "LZ0012", "some/pkg"], ["--store", "--since", "2027-01-01"],
    ["--store", "--journal", "a", "--resume", "b"], ["--store", "--resume", "j", "--since", "yesterday"],
])
def test_usage_errors(home: Path, runner: CliRunner, args: list[str]) -> None:
    r = run(runner, home, "verify", *args)
    assert r.exit_code == 2, r.output


def test_zip_store_entry_damaged_central_directory_is_one_finding(home: Path) -> None:
    bad = home / "store" / AGENCY / "p11-cut.zip"
    good = home / "store" / AGENCY / "p00.zip"
    bad.write_bytes(good.read_bytes()[:-30])
    results = list(verify_many([bad, good], workspace_policy(Workspace.open(home)), jobs=2, chunk=1))
    assert not results[0].valid and results[1].valid


def test_unknown_agency_is_a_configuration_error(home: Path, runner: CliRunner) -> None:
    r = run(runner, home, "verify", "--store", "--agency", "NOPE")
    assert r.exit_code == 6 and "unknown agency 'NOPE'" in r.output, r.output


def test_fifos_and_links_in_the_store_are_never_opened(home: Path, runner: CliRunner, tmp_path: Path) -> None:
    store = home / "store" / AGENCY
    os.mkfifo(store / "p11-fifo")
    os.mkfifo(store / "p11-fifo.zip")
    outside = tmp_path / "outside"
    shutil.copytree(store / "p01", outside)
    (store / "p12-link").symlink_to(outside, target_is_directory=True)
    r = run(runner, home, "verify", "--store", "--json", "--jobs", "2")
    lines = {Path(d["path"]).name: d for d in map(json.loads, r.stdout.splitlines()[:-1])}
    for name in ("p11-fifo", "p11-fifo.zip", "p12-link"):
        assert [f["code"] for f in lines[name]["findings"]] == ["PKG_NOT_FOUND"], lines[name]
    assert r.exit_code == 3


@pytest.mark.parametrize("option", ["--store", "--holdings"])
def test_no_workspace_is_a_configuration_error(runner: CliRunner, tmp_path: Path, option: str) -> None:
    r = run(runner, tmp_path / "nowhere", "verify", option)
    assert r.exit_code == 6 and "no govarc workspace here to audit" in r.output, r.output
    assert not (tmp_path / "nowhere").exists()


def test_holdings_of_an_agency_workspace_is_a_configuration_error(home: Path, runner: CliRunner) -> None:
    r = run(runner, home, "verify", "--holdings")
    assert r.exit_code == 6 and "agency workspace" in r.output, r.output


def test_holdings_audit_walks_the_archives_holdings(home: Path, runner: CliRunner, tmp_path: Path) -> None:
    archives = tmp_path / "archives"
    assert run(runner, archives, "init", "--archives", "DAG", "--name", "档案馆").exit_code == 0
    assert run(runner, archives, "pki", "trust", "add", str(home / "pki" / "ca.pem")).exit_code == 0
    store = home / "store" / AGENCY
    kept = []
    for name in ("p00.zip", "p03.zip", "p08-damaged.zip"):
        digest = hashlib.sha256((store / name).read_bytes()).hexdigest()
        dest = archives / "holdings" / digest[:2] / f"{digest}.zip"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store / name, dest)
        kept.append(dest)
    r = run(runner, archives, "verify", "--holdings", "--json")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["path"] for d in lines[:-1]] == [str(p) for p in sorted(kept)]
    assert [d["valid"] for d in lines[:-1]] == [str(p).endswith(tuple(str(k) for k in kept[:2])) for p in sorted(kept)]
    assert lines[-1]["summary"]["verified"] == 3 and r.exit_code == 3
