"""The nightly job: quiet success, the lock, re-runs, and kill -9 at random points."""

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
from govarc.nightly import run_nightly
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
        f.write('\n[[agency]]\ncode = "GONE"\nname = "已撤销单位"\nfonds = "0099"\ndrop = "drop/GONE"\n'
                '\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\nunit = "CWK"\ndrop = "drop/CZJ"\n')
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
