"""The OA hand-over: a failing or hanging command does not stop the others and is retried; kills converge."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from govarc.catalog.db import open_catalog
from govarc.exchange.oa import drop
from tests.exchange.conftest import Hub


def test_failing_and_hanging_commands_do_not_stop_the_others_and_are_retried(city: Hub) -> None:
    fails, hangs, good = city.send(), city.send(), city.send()
    (city.flags / f"fail-{fails}").touch()
    (city.flags / f"hang-{hangs}").touch()
    report = city.receive(city.oa_command(oa_timeout=2))
    got = {m.message_id: m for m in report.messages}
    assert got[good].state == "handed_over"
    assert got[fails].state == "oa_failed" and got[fails].code == "EXCHANGE_OA_FAILED"
    assert "exited with status 3: OA queue refused the document" in got[fails].message
    assert got[hangs].state == "oa_failed" and "oa_timeout (2 s)" in got[hangs].message
    assert report.exit_code == 5
    assert city.handed() == [good]
    # the hanging command's whole process group was killed
    pid = int([ln.split()[1] for ln in (city.flags / "started.log").read_text().splitlines() if hangs in ln][0])
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    # the OA is fixed: the next run hands both over, and only them
    (city.flags / f"fail-{fails}").unlink()
    (city.flags / f"hang-{hangs}").unlink()
    again = city.receive(city.oa_command(oa_timeout=2))
    assert sorted((m.message_id, m.state) for m in again.messages) == sorted(
        [(fails, "handed_over"), (hangs, "handed_over")])
    assert sorted(city.handed()) == sorted([fails, hangs, good])
    assert {r[0]: r[4] for r in city.rows()} == {fails: 2, hangs: 2, good: 1}


def test_a_command_that_cannot_start_is_a_failure(city: Hub) -> None:
    mid = city.send()
    report = city.receive(city.agency(oa_command=(str(city.root / "no-such-oa"),)))
    assert report.messages[0].code == "EXCHANGE_OA_FAILED" and "cannot be started" in report.messages[0].message
    assert [r[3] for r in city.rows()] == ["oa_failed"] and mid


def test_drop_folder_never_overwrites_a_different_file(city: Hub, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    mid = city.send()
    (folder / f"{mid}.zip").write_bytes(b"someone else's file")
    report = city.receive(city.agency(oa_drop=folder))
    assert report.messages[0].code == "EXCHANGE_OA_FAILED" and "not replaced" in report.messages[0].message
    assert (folder / f"{mid}.zip").read_bytes() == b"someone else's file"
    (folder / f"{mid}.zip").unlink()
    assert [m.state for m in city.receive(city.agency(oa_drop=folder)).messages] == ["handed_over"]
    assert drop(folder / "missing", folder / f"{mid}.zip", b"{}", mid).error is not None


RUN = """
import dataclasses, sys
from pathlib import Path
from govarc.catalog.db import open_catalog
from govarc.exchange.receive import ReceiveSettings, receive
from govarc.sign.agency import workspace_policy
from govarc.transport import FolderTransport
from govarc.workspace import Workspace
root = Path(sys.argv[1])
ws = Workspace.open(root / "home")
oa = {"oa_drop": root / "oa-drop"} if sys.argv[2] == "drop" else {"oa_command": (sys.executable, str(root / "oa.py"),
      str(root / "oa.log"), str(root / "flags"))}
agency = dataclasses.replace(ws.agency("CZJ"), **oa)
with open_catalog(ws.catalog_path) as cat:
    r = receive(ws, cat, FolderTransport(root / "hub"), agency, ReceiveSettings(workspace_policy(ws)))
print(r.exit_code)
"""


def _run(city: Hub, how: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", RUN, str(city.root), how], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])


def _wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3000):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_receive_killed_while_the_oa_command_runs_converges_without_duplicates(city: Hub) -> None:
    mids = sorted(city.send() for _ in range(3))  # received in message-id order
    (city.flags / f"hang-{mids[1]}").touch()
    proc = _run(city, "command")
    started = city.flags / "started.log"
    _wait_for(lambda: started.exists() and mids[1] in started.read_text(), "the second hand-over started")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    oa_pid = int([ln.split()[1] for ln in started.read_text().splitlines() if mids[1] in ln][0])
    os.kill(oa_pid, signal.SIGKILL)  # the OA process of the killed run (in a session of its own)
    (city.flags / f"hang-{mids[1]}").unlink()
    assert city.handed() == [mids[0]]
    rerun = _run(city, "command")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and out.strip() == "0", err
    assert sorted(city.handed()) == sorted(mids) and len(city.handed()) == 3
    assert [r[3] for r in city.rows()] == ["handed_over"] * 3


def test_receive_killed_mid_run_with_a_drop_folder_converges(city: Hub) -> None:
    drop_folder = city.root / "oa-drop"
    drop_folder.mkdir()
    mids = sorted(city.send(package=city.package(i % 2)) for i in range(6))
    proc = _run(city, "drop")
    _wait_for(lambda: any(p.suffix == ".json" for p in drop_folder.iterdir()) or proc.poll() is not None,
              "the first hand-over")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = _run(city, "drop")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and out.strip() == "0", err
    names = sorted(p.name for p in drop_folder.iterdir())
    assert names == sorted([f"{m}.json" for m in mids] + [f"{m}.zip" for m in mids])  # once each, no temporaries
    with open_catalog(city.ws.catalog_path) as cat:
        assert cat.conn.execute("SELECT count(*), count(DISTINCT message_id) FROM incoming").fetchone() == (6, 6)
    assert [r[3] for r in city.rows()] == ["handed_over"] * 6
    assert city.receive(city.agency(oa_drop=drop_folder)).messages == ()


def test_a_hand_over_removes_the_temporaries_of_dead_writers_only(city: Hub, tmp_path: Path) -> None:
    """Temporaries in the drop folder (govarc.fsutil.temp_name, and .govarc-oa-<pid>-… of earlier
    versions) are removed when their process is gone; a live writer's and the OA's own files stay."""
    folder = tmp_path / "drop"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        gone = [f".X.zip.govarc-tmp-{dead}-0a1b2c3d", f".档案.json.govarc-tmp-{dead}-ffffffff", f".govarc-oa-{dead}-12ab"]
        kept = [f".X.zip.govarc-tmp-{live.pid}-0a1b2c3d", f".govarc-oa-{live.pid}-12ab", "oa-own.txt",
                f".X.zip.govarc-tmp-{dead}-not-hex", f"X.zip.govarc-tmp-{dead}-0a1b2c3d"]
        for name in gone + kept:
            (folder / name).write_bytes(b"half")
        mid = city.send()
        assert [m.state for m in city.receive(city.agency(oa_drop=folder)).messages] == ["handed_over"]
        assert sorted(p.name for p in folder.iterdir()) == sorted(kept + [f"{mid}.zip", f"{mid}.json"])
    finally:
        live.kill()
        live.wait()
