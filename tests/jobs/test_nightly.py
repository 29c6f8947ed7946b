"""The nightly job (govarc.jobs.nightly): quiet success, the lock, re-runs, and kill -9 at random points."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.errors import LockedError
from govarc.lock import run_lock
from govarc.jobs.nightly import run_nightly
from govarc.package.verify import verify_package
from tests.citykit import make_city


def govarc(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govarc", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=300, **kw)


def state(home: Path) -> tuple[list[tuple], list[str]]:
    """What must converge: catalog rows (code, content, state, package) and the store's entries."""
    with open_catalog(home / "catalog.sqlite") as cat:
        rows = cat.conn.execute(
            "SELECT archival_code, content_key, state, package_tagmanifest_sha256 IS NOT NULL FROM records ORDER BY archival_code"
        ).fetchall()
        files = cat.conn.execute("SELECT COUNT(*) FROM record_files").fetchone()[0]
    store = sorted(str(p.relative_to(home / "store")) for p in (home / "store").rglob("*") if p.parent.parent == home / "store")
    return rows + [("files", files)], store


def test_nightly_is_quiet_on_success_and_a_rerun_changes_nothing(tmp_path):
    city = make_city(tmp_path, n=4)
    home = tmp_path / "home"
    assert govarc(home, "init", "--config", str(city)).returncode == 0
    first = govarc(home, "nightly")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and first.stderr == ""
    before = state(home)
    assert len(before[1]) == 4
    for p in (home / "store" / "SZF").iterdir():
        assert verify_package(p).valid
    second = govarc(home, "nightly")
    assert second.returncode == 0 and state(home) == before
    assert len(list((home / "logs").glob("nightly-*.json"))) == 2


def test_a_second_concurrent_run_exits_7(tmp_path):
    city = make_city(tmp_path, n=1)
    home = tmp_path / "home"
    ws, _ = init_workspace(home, city)
    with run_lock(ws.lock_path):
        with pytest.raises(LockedError):
            run_nightly(ws)
        result = govarc(home, "nightly")
    assert result.returncode == 7
    assert "lock" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_one_agency_failing_does_not_stop_the_others(tmp_path):
    city = make_city(tmp_path, n=2)
    from tests.citykit import make_doc

    make_doc(tmp_path / "drop" / "CZJ", 1, prefix="柳财预")
    with open(city, "a", encoding="utf-8") as f:
        f.write('\n[[agency]]\ncode = "GONE"\nname = "已撤销单位"\nfonds = "0099"\ndrop = "drop/GONE"\nunsigned = true\n'
                '\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\nunit = "CWK"\ndrop = "drop/CZJ"\nunsigned = true\n')
    home = tmp_path / "home"
    init_workspace(home, city)
    result = govarc(home, "nightly")
    assert result.returncode == 6
    assert result.stderr.strip().splitlines() == [
        f"govarc: error: agency GONE: {tmp_path / 'drop' / 'GONE'}: drop folder of agency GONE does not exist"]
    assert len(list((home / "store" / "SZF").iterdir())) == 2
    assert len(list((home / "store" / "CZJ").iterdir())) == 1  # the agency after the broken one too
    with open_catalog(home / "catalog.sqlite") as cat:
        assert cat.conn.execute("SELECT status FROM runs").fetchone()[0] == "failed"


def test_kill_9_at_random_points_then_rerun_converges(tmp_path):
    city = make_city(tmp_path, n=80)
    reference = tmp_path / "reference"
    init_workspace(reference, city)
    started = time.monotonic()
    assert govarc(reference, "nightly").returncode == 0
    duration = time.monotonic() - started
    expected = state(reference)

    home = tmp_path / "home"
    init_workspace(home, city)
    rng = random.Random(1234)
    kills = 0
    for cycle in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "govarc", "--home", str(home), "nightly"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Anywhere in the run (start-up, ingest, packaging); later runs resume, so they are shorter.
        time.sleep(duration * rng.uniform(0.05, 0.4 if cycle == 0 else 0.7))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        if proc.returncode == 0:
            break
    assert kills >= 1, "the job finished before any kill; the corpus is too small to test this"
    final = govarc(home, "nightly")
    assert final.returncode == 0, final.stderr
    assert state(home) == expected
    leftovers = [p for p in (home / "store").rglob("*") if ".govarc-tmp-" in p.name]
    assert leftovers == []
    for p in (home / "store" / "SZF").iterdir():
        assert verify_package(p).valid, p


def test_zip_sm3_signed_packages_from_the_nightly_job_verify_with_govarc_and_openssl(tmp_path):
    import zipfile

    city = make_city(tmp_path, n=3)
    home = tmp_path / "home"
    ws, _ = init_workspace(home, city)
    config = home / "govarc.toml"
    text = config.read_text(encoding="utf-8").replace("zip = false", "zip = true").replace("sm3 = false", "sm3 = true")
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "GOVARC_KEY_PASSPHRASE": "nightly-test"}
    for args in (("pki", "init-ca", "--name", "测试CA"), ("pki", "issue", "SZF"), ("nightly",)):
        result = govarc(home, *args, env=env)
        assert result.returncode == 0, result.stderr
    packages = sorted((home / "store" / "SZF").glob("*.zip"))
    assert len(packages) == 3
    verified = govarc(home, "--json", "verify", *map(str, packages))
    assert verified.returncode == 0, verified.stdout
    with zipfile.ZipFile(packages[0]) as zf:
        zf.extractall(tmp_path / "unzipped")
        assert any(n.endswith("/manifest-sm3.txt") for n in zf.namelist())
    (bag,) = (tmp_path / "unzipped").iterdir()
    openssl = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(bag / "signatures" / "SZF.p7s"),
         "-content", str(bag / "tagmanifest-sha256.txt"), "-CAfile", str(home / "pki" / "ca.pem"),
         "-purpose", "any", "-out", os.devnull],
        capture_output=True, text=True)
    assert openssl.returncode == 0, openssl.stderr


class _Hook:
    """A progress hook that raises ``error`` when ``agency`` reaches ``step`` (caller code failing)."""

    def __init__(self, agency: str, step: str, error: BaseException) -> None:
        self.agency, self.step_name, self.error = agency, step, error
        self.seen: list[tuple[str, str]] = []

    def step(self, agency: str, step: str) -> None:
        self.seen.append((agency, step))
        if (agency, step) == (self.agency, self.step_name):
            raise self.error

    def total(self, n: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def done(self, agency: str) -> None:
        pass


def _two_agency_city(tmp_path: Path) -> Path:
    from tests.citykit import make_doc

    city = make_city(tmp_path, n=2)
    make_doc(tmp_path / "drop" / "CZJ", 1, prefix="柳财预")
    with open(city, "a", encoding="utf-8") as f:
        f.write('\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\ndrop = "drop/CZJ"\nunsigned = true\n')
    return city


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), SystemExit(143)], ids=["ctrl-c", "exit"])
def test_an_interrupted_run_is_recorded_as_interrupted_with_its_log(tmp_path, interrupt):
    import json

    ws, _ = init_workspace(tmp_path / "home", _two_agency_city(tmp_path))
    with pytest.raises(type(interrupt)):
        run_nightly(ws, progress=_Hook("CZJ", "ingest", interrupt))
    with open_catalog(ws.catalog_path) as cat:
        ((status, finished),) = cat.conn.execute("SELECT status, finished_at FROM runs").fetchall()
        states = dict(cat.conn.execute("SELECT agency, COUNT(*) FROM records GROUP BY agency").fetchall())
    assert status == "interrupted" and finished is not None
    assert states == {"SZF": 2}  # SZF went through before the interrupt
    (log,) = ws.logs_dir.glob("nightly-*.json")
    data = json.loads(log.read_text(encoding="utf-8"))
    assert data["status"] == "interrupted"
    assert [(a["agency"], a["error"]) for a in data["agencies"]] == [("SZF", None), ("CZJ", "interrupted before it finished")]
    report = run_nightly(ws)
    assert report.exit_code == 0 and report.closed_stale == ()
    assert sum(len(a.report("package")) for a in report.agencies) == 1


def test_an_unexpected_error_in_one_agency_is_its_own_and_logged_with_its_traceback(tmp_path):
    import json

    ws, _ = init_workspace(tmp_path / "home", _two_agency_city(tmp_path))
    hook = _Hook("SZF", "package", RuntimeError("a bug"))
    report = run_nightly(ws, progress=hook)
    assert report.exit_code == 1 and report.status.value == "failed"
    szf, czj = report.agencies
    assert szf.error == "unexpected error: RuntimeError: a bug" and "Traceback" in (szf.detail or "")
    assert czj.error is None and len(czj.report("package")) == 1
    assert ("CZJ", "package") in hook.seen
    data = json.loads(Path(report.log_path).read_text(encoding="utf-8"))
    assert "RuntimeError: a bug" in data["agencies"][0]["traceback"]


def test_the_worst_agency_decides_the_exit_code():
    from govarc.jobs.report import AgencyRun, NightlyReport
    from govarc.jobs.runner import StepRun
    from govarc.jobs.steps import StepResult, StepStatus

    def failed(exit_code: int) -> tuple[StepRun, ...]:
        return (StepRun("ingest", StepStatus.FAILED, StepResult(), "x", exit_code),)

    def report(*exits: int, strict: bool = False) -> NightlyReport:
        return NightlyReport("", "", tuple(AgencyRun(f"A{i}", failed(e)) for i, e in enumerate(exits)), "", strict)

    assert report(3, 6).exit_code == 6
    assert report(6, 1, 3).exit_code == 1
    assert report(1, 8, 6).exit_code == 8
    assert report(3, 4).exit_code == 4
    assert report().exit_code == 0 and report().status.value == "ok"
    assert report(3).status.value == "failed"
