"""The nightly job under real faults: a read-only or full store for one agency, a full workspace,
kill -9 and SIGTERM mid-run. One agency's fault never stops the others; every run ends recorded
(run log and `runs` row); the next run, with the fault repaired, converges with nothing duplicated.

The faults are real file systems (tmpfs and bind mounts: the suite runs as root, where chmod does
not stop a write), mounted per test and unmounted in teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.package.verify import verify_package
from tests.citykit import make_city, make_doc

# Three agencies; the faults hit the middle one, so one agency runs before it and one after.
COUNTS = {"SZF": 3, "CZJ": 3, "DAJ": 2}


def make_city3(root: Path, szf: int = COUNTS["SZF"]) -> Path:
    city = make_city(root, n=szf)
    for i in range(1, COUNTS["CZJ"] + 1):
        make_doc(root / "drop" / "CZJ", i, prefix="柳财预")
    for i in range(1, COUNTS["DAJ"] + 1):
        make_doc(root / "drop" / "DAJ", i, prefix="柳档发")
    with open(city, "a", encoding="utf-8") as f:
        f.write('\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\nunit = "CWK"\ndrop = "drop/CZJ"\nunsigned = true\n'
                '\n[[agency]]\ncode = "DAJ"\nname = "柳州市档案局"\nfonds = "0040"\ndrop = "drop/DAJ"\nunsigned = true\n')
    return city


def govarc(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govarc", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=300)


def runs(home: Path) -> list[tuple[int, str, str | None, dict]]:
    with open_catalog(home / "catalog.sqlite") as cat:
        rows = cat.conn.execute("SELECT id, status, finished_at, summary FROM runs ORDER BY id").fetchall()
    return [(r[0], r[1], r[2], json.loads(r[3]) if r[3] else {}) for r in rows]


def records(home: Path) -> list[tuple[str, str, str]]:
    with open_catalog(home / "catalog.sqlite") as cat:
        return cat.conn.execute("SELECT agency, archival_code, state FROM records ORDER BY id").fetchall()


def leftovers(home: Path) -> list[str]:
    """Temporaries a run must never leave behind: build folders, object copies, staging folders."""
    out = [str(p) for p in (home / "store").rglob("*") if ".govarc-tmp-" in p.name]
    out += [str(p) for p in (home / "objects").rglob(".*")]
    if (home / "tmp").exists():
        out += [str(p) for p in (home / "tmp").iterdir()]
    return out


def assert_converged(home: Path, counts: dict[str, int] = COUNTS) -> None:
    """Every document registered once, packaged once, its package valid; nothing else in the store."""
    rows = records(home)
    assert sorted(r[0] for r in rows) == sorted(c for c, n in counts.items() for _ in range(n))
    assert len({r[1] for r in rows}) == len(rows)  # no 档号 twice
    assert all(r[2] == "packaged" for r in rows), rows
    for code in counts:
        in_store = sorted(p.name for p in (home / "store" / code).iterdir())
        assert in_store == sorted(r[1] for r in rows if r[0] == code)
        for p in (home / "store" / code).iterdir():
            assert verify_package(p).valid, p
    assert leftovers(home) == []


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("govarc: error:")]


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """``mount(*options, source=..., target=...)``; every mount is unmounted at teardown."""
    points: list[Path] = []

    def mount(*options: str, target: Path, source: str = "tmpfs") -> None:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *options, source, str(target)], check=True, capture_output=True)
        points.append(target)

    yield mount
    for p in reversed(points):
        if subprocess.run(["umount", str(p)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(p)], capture_output=True)


def remount(target: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(target)], check=True, capture_output=True)


def _ro_tmpfs(mount: Callable[..., None], store: Path, tmp: Path) -> Callable[[], None]:
    mount("-t", "tmpfs", "-o", "size=16m,ro", target=store)
    return lambda: remount(store, "rw")


def _ro_bind(mount: Callable[..., None], store: Path, tmp: Path) -> Callable[[], None]:
    (tmp / "ro-source").mkdir()
    mount("--bind", source=str(tmp / "ro-source"), target=store)
    remount(store, "bind,ro")
    return lambda: remount(store, "bind,rw")


def _a_file(mount: Callable[..., None], store: Path, tmp: Path) -> Callable[[], None]:
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(b"not a folder")
    return lambda: store.unlink()


@pytest.mark.parametrize("fault, exit_code, problem", [
    pytest.param(_ro_tmpfs, 6, "Read-only file system", id="read-only-tmpfs"),
    pytest.param(_ro_bind, 6, "Read-only file system", id="read-only-bind-mount"),
    pytest.param(_a_file, 1, "File exists", id="store-is-a-file"),
])
def test_a_store_that_cannot_be_written_stops_only_its_agency(tmp_path, mounts, fault, exit_code, problem):
    home = tmp_path / "home"
    init_workspace(home, make_city3(tmp_path))
    store = home / "store" / "CZJ"
    repair = fault(mounts, store, tmp_path)

    result = govarc(home, "nightly")

    assert result.returncode == exit_code, result.stderr
    (line,) = error_lines(result.stderr)
    assert line.startswith(f"govarc: error: agency CZJ: {store}") and problem in line, line
    assert "Traceback" not in result.stderr
    # The agencies before and after are archived; CZJ's documents are registered, not packaged.
    states = {(a, s) for a, _, s in records(home)}
    assert states == {("SZF", "packaged"), ("DAJ", "packaged"), ("CZJ", "registered")}
    assert len(list((home / "store" / "SZF").iterdir())) == COUNTS["SZF"]
    assert len(list((home / "store" / "DAJ").iterdir())) == COUNTS["DAJ"]
    assert not store.is_dir() or list(store.iterdir()) == []
    # The run is recorded: row finished as failed, log written with CZJ's error.
    ((_, status, finished, summary),) = runs(home)
    assert status == "failed" and finished is not None
    assert summary["exit_code"] == exit_code and problem in summary["agencies"]["CZJ"]["error"]
    (log,) = (home / "logs").glob("nightly-*.json")
    data = json.loads(log.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and data["run"] == 1
    czj = next(a for a in data["agencies"] if a["agency"] == "CZJ")
    assert czj["exit_code"] == exit_code and czj["error_path"].startswith(str(store))

    repair()
    again = govarc(home, "nightly")
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    assert_converged(home)
    assert [r[1] for r in runs(home)] == ["failed", "ok"]


# The builder refuses to start a package without its size plus 1 MiB free (a package's documents
# take ~3 KB here, the package ~32 KB of tmpfs pages): "4k" has no room at all, "1044k" room for one
# or two (two builds run at once, both may start on an empty store), never three: once one package
# is in, less than 1 MiB + 3 KB is free, whatever the other build has written so far. (With 1060k,
# a third build could start when the second had written almost nothing yet.)
# Out of inodes, the kernel itself says ENOSPC in the middle of writing a package.
@pytest.mark.parametrize("options, freed", [
    ("size=4k", "size=16m"), ("size=1044k", "size=16m"), ("size=16m,nr_inodes=12", "nr_inodes=4096"),
], ids=["no-room", "room-for-one", "out-of-inodes"])
def test_a_full_store_stops_only_its_agency_exits_8_and_the_next_run_converges(tmp_path, mounts, options, freed):
    city = make_city3(tmp_path)
    # A fourth agency whose drop folder is gone: the worst agency (disk full, 8) decides the exit code.
    with open(city, "a", encoding="utf-8") as f:
        f.write('\n[[agency]]\ncode = "GONE"\nname = "已撤销单位"\nfonds = "0099"\ndrop = "drop/GONE"\nunsigned = true\n')
    home = tmp_path / "home"
    init_workspace(home, city)
    store = home / "store" / "CZJ"
    mounts("-t", "tmpfs", "-o", options, target=store)

    result = govarc(home, "nightly")

    assert result.returncode == 8, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"govarc: error: agency CZJ: {store}")
    assert "free space" in lines[0] and ("not enough free space" in lines[0] or "No space left on device" in lines[0])
    assert lines[1].startswith("govarc: error: agency GONE: ") and "does not exist" in lines[1]
    assert {(a, s) for a, _, s in records(home) if a != "CZJ"} == {("SZF", "packaged"), ("DAJ", "packaged")}
    # Whatever of CZJ fit is a whole package the catalog knows; no half-written build is left.
    packaged = {c for a, c, s in records(home) if a == "CZJ" and s == "packaged"}
    assert {p.name for p in store.iterdir()} == packaged
    assert leftovers(home) == []
    ((_, status, finished, summary),) = runs(home)
    assert status == "failed" and finished is not None and summary["exit_code"] == 8
    assert len(list((home / "logs").glob("nightly-*.json"))) == 1

    remount(store, freed)  # space freed
    (tmp_path / "drop" / "GONE").mkdir()
    again = govarc(home, "nightly")
    assert again.returncode == 0, again.stderr
    assert_converged(home, {**COUNTS, "GONE": 0})
    assert [r[1] for r in runs(home)] == ["failed", "ok"]


@pytest.mark.parametrize("where", ["objects", "tmp"])
def test_a_full_workspace_fails_every_agency_with_8_records_the_run_and_converges(tmp_path, mounts, where):
    """objects/ full: no agency can ingest; tmp/ full: no agency can stage a package."""
    home = tmp_path / "home"
    init_workspace(home, make_city3(tmp_path))
    target = home / where
    mounts("-t", "tmpfs", "-o", "size=4k", target=target)
    filler = target / "filler"
    if where == "tmp":
        # A record whose files fit in 4k could be staged when no other build stages at that moment
        # (a matter of timing): fill tmp/, so that no record can be staged at all.
        filler.write_bytes(b"\0" * 4096)

    result = govarc(home, "nightly")
    filler.unlink(missing_ok=True)

    assert result.returncode == 8, result.stderr
    lines = error_lines(result.stderr)
    failed = [line.split(":")[2].strip().removeprefix("agency ") for line in lines]
    assert failed == ["SZF", "CZJ", "DAJ"], result.stderr  # every agency runs into the full disk
    assert all(line.endswith("No space left on device: free space and run again") for line in lines)
    assert all(f"{target}" in line for line in lines)
    assert leftovers(home) == []
    if where == "objects":
        assert records(home) == []  # nothing registered whose content is not stored
    for code in COUNTS:  # what the store holds is whole packages the catalog knows (one may fit in 4k)
        packaged = {c for a, c, s in records(home) if a == code and s == "packaged"}
        store = home / "store" / code
        assert ({p.name for p in store.iterdir()} if store.exists() else set()) == packaged
        assert all(verify_package(home / "store" / code / c).valid for c in packaged)
    ((_, status, finished, _),) = runs(home)
    assert status == "failed" and finished is not None
    assert len(list((home / "logs").glob("nightly-*.json"))) == 1

    remount(target, "size=16m")
    again = govarc(home, "nightly")
    assert again.returncode == 0, again.stderr
    assert_converged(home)


def _start_and_wait_for_the_run_row(home: Path) -> subprocess.Popen[bytes]:
    """Start a nightly run and return once its `running` row is committed (the run is under way)."""
    proc = subprocess.Popen([sys.executable, "-m", "govarc", "--home", str(home), "nightly"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (home / "catalog.sqlite").exists():
            try:
                if any(status == "running" for _, status, _, _ in runs(home)):
                    return proc
            except Exception:  # the first run may be creating the schema right now
                pass
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise AssertionError("the run ended before its row could be seen; the corpus is too small for this test")


def test_kill_9_mid_run_leaves_a_row_the_next_run_closes_as_interrupted(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, make_city3(tmp_path, szf=40))
    proc = _start_and_wait_for_the_run_row(home)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [r[1] for r in runs(home)] == ["running"]

    result = govarc(home, "--verbose", "nightly")

    assert result.returncode == 0, result.stderr
    (first, second) = runs(home)
    assert first[1] == "interrupted" and first[2] is not None
    assert first[3]["pid"] == proc.pid and first[3]["closed_by"] == second[0]
    assert second[1] == "ok" and second[3]["closed_stale"] == [first[0]]
    assert f"closed run {first[0]}" in result.stderr
    assert_converged(home, {**COUNTS, "SZF": 40})


def test_sigterm_mid_run_records_the_run_as_interrupted_and_the_next_run_converges(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, make_city3(tmp_path, szf=40))
    # No ingest pool: a SIGTERM that lands while the pool is starting a worker makes that worker
    # (a child of multiprocessing's forkserver, not govarc) print a traceback of its own.
    config = home / "govarc.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("workers = 0", "workers = 1"), encoding="utf-8")
    proc = _start_and_wait_for_the_run_row(home)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 143, stderr
    assert stderr.decode().strip().splitlines() == ["govarc: error: terminated (SIGTERM); the run is recorded as interrupted"]
    ((run_id, status, finished, summary),) = runs(home)
    assert status == "interrupted" and finished is not None
    (log,) = (home / "logs").glob("nightly-*.json")
    data = json.loads(log.read_text(encoding="utf-8"))
    assert data["status"] == "interrupted" and data["run"] == run_id
    assert [a["agency"] for a in data["agencies"]] == list(COUNTS)

    again = govarc(home, "nightly")
    assert again.returncode == 0, again.stderr
    assert [r[1] for r in runs(home)] == ["interrupted", "ok"]
    assert runs(home)[1][3]["closed_stale"] == []  # the interrupted run closed its own row
    assert_converged(home, {**COUNTS, "SZF": 40})
