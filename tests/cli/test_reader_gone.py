"""`govarc … | head -1`: when the reader of stdout goes away, govarc stops quietly with exit 141."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def run_with_stdout_closed(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run govarc with a stdout pipe whose reader is gone before govarc writes anything."""
    proc = subprocess.Popen([sys.executable, "-m", "govarc", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=cwd)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away (as `head -1` does once it has its line)
    err = proc.stderr.read()
    return proc.wait(timeout=60), err


@pytest.mark.parametrize("json_", [False, True], ids=["text", "json"])
def test_a_closed_stdout_stops_govarc_quietly(build_sample: Callable[..., Path], tmp_path: Path, json_: bool) -> None:
    pkgs = [str(build_sample(f"pkg{i}")) for i in range(3)]
    code, err = run_with_stdout_closed([*(["--json"] if json_ else []), "verify", "--allow-unsigned", *pkgs], tmp_path)
    assert code == 141, err
    assert err == b""  # no "govarc: error: Broken pipe", no "Exception ignored" at exit


def test_with_stdout_open_the_same_command_prints_and_exits_0(build_sample: Callable[..., Path], tmp_path: Path) -> None:
    pkg = build_sample("pkg")
    done = subprocess.run([sys.executable, "-m", "govarc", "verify", "--allow-unsigned", str(pkg)],
                          capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("有效 VALID".encode()), done


def test_stdout_is_gone_only_when_its_pipe_lost_its_reader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The check asks the kernel about stdout itself; a broken pipe elsewhere stays an error (tests/test_errors.py)."""
    import os

    from govarc.cli import _stdout_gone

    r, w = os.pipe()
    with open(w, "wb") as out:
        monkeypatch.setattr(sys, "stdout", out)
        assert _stdout_gone() is False  # the reader is still there
        os.close(r)
        assert _stdout_gone() is True
    with open(tmp_path / "f", "wb") as f:  # a file is never gone
        monkeypatch.setattr(sys, "stdout", f)
        assert _stdout_gone() is False
