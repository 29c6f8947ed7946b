"""Entries left by dead processes are removed; those of live ones are kept (govarc.fsutil.remove_orphans)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from govarc.fsutil import remove_orphans

PATTERN = re.compile(r"^\.pkg\.govarc-tmp-(\d+)-[0-9a-f]+$")


def _entries(folder: Path, *pids: int) -> list[Path]:
    made = []
    for i, pid in enumerate(pids):
        p = folder / f".pkg.govarc-tmp-{pid}-{i:08x}"
        p.mkdir()
        (p / "data").write_bytes(b"half a package")
        made.append(p)
    return made


def test_a_live_process_keeps_its_entries_a_reaped_one_and_a_zombie_lose_theirs(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    reaped = subprocess.Popen(["true"])
    reaped.wait()
    zombie = subprocess.Popen(["true"])  # exited, not yet reaped: as a worker killed with its parent
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{zombie.pid}/stat").read_bytes().split(b")")[-1][1:2] != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        keep, gone_reaped, gone_zombie = _entries(tmp_path, live.pid, reaped.pid, zombie.pid)
        own = _entries(tmp_path, os.getpid())[0]
        other = tmp_path / "unrelated"
        other.write_text("x")

        remove_orphans(tmp_path, PATTERN)

        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([keep.name, own.name, other.name])
        assert (keep / "data").read_bytes() == b"half a package"
    finally:
        live.kill()
        live.wait()
        zombie.wait()
