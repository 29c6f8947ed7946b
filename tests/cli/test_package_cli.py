"""`govarc package build`: the package appears, bad input is one line and exit 3, input untouched,
and a build killed halfway leaves nothing at --out."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govarc.cli import main
from govarc.package.verify import verify_package

REPO = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, tuple[str, int, int, int]]:
    """Every entry under ``folder``: content hash (files), mode, mtime in ns, size."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[p.relative_to(folder).as_posix()] = (digest, st.st_mode, st.st_mtime_ns, st.st_size)
    return out


@pytest.mark.parametrize("flags", [[], ["--zip"], ["--sm3"], ["--zip", "--sm3"]], ids=["dir", "zip", "sm3", "zip-sm3"])
def test_build_writes_a_valid_package(runner, tmp_path: Path, sample_source: Path, sample_metadata: Path, flags) -> None:
    out = tmp_path / ("pkg.zip" if "--zip" in flags else "pkg")
    result = runner.invoke(main, ["package", "build", str(sample_source), "--metadata", str(sample_metadata), "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    assert out.exists() and (out.is_file() if "--zip" in flags else out.is_dir())
    assert "0012-WS·2007-Y-BGS-0012" in result.stdout and "3 files" in result.stdout
    assert verify_package(out).findings == ()
    assert [p.name for p in tmp_path.iterdir() if ".govarc-tmp-" in p.name] == []


def test_build_json(runner, tmp_path: Path, sample_source: Path, sample_metadata: Path) -> None:
    out = tmp_path / "pkg"
    result = runner.invoke(main, ["--json", "package", "build", str(sample_source), "--metadata", str(sample_metadata), "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["path"] == str(out) and doc["archival_code"] == "0012-WS·2007-Y-BGS-0012"
    assert doc["payload_files"] == 3 and doc["zip"] is False
    assert doc["tagmanifest_sha256"] == hashlib.sha256((out / "tagmanifest-sha256.txt").read_bytes()).hexdigest()


def test_existing_out_is_refused(runner, tmp_path: Path, sample_source: Path, sample_metadata: Path) -> None:
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(main, ["package", "build", str(sample_source), "--metadata", str(sample_metadata), "--out", str(out)])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and lines[0].startswith("govarc: error:")
    assert "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_missing_metadata_is_one_line(runner, tmp_path: Path, sample_source: Path) -> None:
    meta = tmp_path / "nope.json"
    out = tmp_path / "pkg"
    result = runner.invoke(main, ["package", "build", str(sample_source), "--metadata", str(meta), "--out", str(out)])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(meta) in lines[0]
    assert not out.exists()


def test_bad_metadata_is_one_line(runner, tmp_path: Path, sample_source: Path, metadata_writer) -> None:
    meta = metadata_writer(tmp_path / "bad.json", 日期="2007年2月30日")
    out = tmp_path / "pkg"
    result = runner.invoke(main, ["package", "build", str(sample_source), "--metadata", str(meta), "--out", str(out)])
    assert result.exit_code == 3
    (line,) = result.stderr.strip().splitlines()
    assert str(meta) in line and "2007年2月30日" in line
    assert not out.exists()


def test_missing_source_is_one_line(runner, tmp_path: Path, sample_metadata: Path) -> None:
    src = tmp_path / "没有"
    result = runner.invoke(main, ["package", "build", str(src), "--metadata", str(sample_metadata), "--out", str(tmp_path / "pkg")])
    assert result.exit_code == 3
    (line,) = result.stderr.strip().splitlines()
    assert str(src) in line


def test_input_is_left_byte_identical(runner, tmp_path: Path, sample_source: Path, sample_metadata: Path) -> None:
    before = snapshot(sample_source.parent)
    meta_before = snapshot(tmp_path)[sample_metadata.name]
    for flags in ([], ["--zip", "--sm3"]):
        out = tmp_path / ("p.zip" if flags else "p")
        result = runner.invoke(main, ["package", "build", str(sample_source), "--metadata", str(sample_metadata), "--out", str(out), *flags])
        assert result.exit_code == 0, result.output
    assert snapshot(sample_source.parent) == before
    assert snapshot(tmp_path)[sample_metadata.name] == meta_before


def test_usage_errors_exit_2(runner) -> None:
    result = runner.invoke(main, ["package", "build", "x"])
    assert result.exit_code == 2 and "--metadata" in result.output


def test_killed_build_leaves_nothing_and_the_next_build_cleans_up(tmp_path: Path, metadata_writer) -> None:
    sample_metadata = metadata_writer(tmp_path / "meta.json", 正文=None)
    src = tmp_path / "大文件"
    src.mkdir()
    block = os.urandom(1 << 20)
    for i in range(300):
        (src / f"{i:03d}.bin").write_bytes(i.to_bytes(4, "big") + block[4:])
    out = tmp_path / "out" / "pkg"
    out.parent.mkdir()
    cmd = [sys.executable, "-m", "govarc", "package", "build", str(src), "--metadata", str(sample_metadata), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not any(".govarc-tmp-" in p.name for p in out.parent.iterdir()):
            assert proc.poll() is None, f"build ended before it could be killed: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "no temporary build appeared"
            time.sleep(0.01)
        time.sleep(0.3)
        assert proc.poll() is None, "build finished before the kill; make the source bigger"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert not os.path.lexists(out)
    stale = [p for p in out.parent.iterdir() if ".govarc-tmp-" in p.name]
    assert stale, "the killed build should have left its temporary folder behind"

    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert verify_package(out).valid
    assert [p.name for p in out.parent.iterdir()] == ["pkg"]  # the stale temporary folder is gone
