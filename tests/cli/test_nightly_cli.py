"""`govarc nightly` through the CLI: warnings summed up for cron, --strict, and progress on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.cli import main
from tests.citykit import make_city, make_doc


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def warning_city(root: Path) -> Path:
    """SZF: 3 documents, 2 whose sidecar's 文件编号 is not the one printed; CZJ accepts only OFD, gets a PDF."""
    city = make_city(root, n=1)
    for i in (2, 3):
        make_doc(root / "drop" / "SZF", i, sidecar={"文件编号": f"柳政发〔2024〕{i}0号"})
    make_doc(root / "drop" / "CZJ", 1, prefix="柳财预")
    with open(city, "a", encoding="utf-8") as f:
        f.write('\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\ndrop = "drop/CZJ"\nunsigned = true\n'
                'accepted_formats = ["application/ofd"]\n')
    return city


def last_run_status(home: Path) -> str:
    with open_catalog(home / "catalog.sqlite") as cat:
        return cat.conn.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("options, exit_code, shown", [
    ((), 0, True),
    (("--quiet",), 0, False),           # --quiet: errors only
    ((), 3, True),                      # with --strict (below)
    (("--quiet",), 3, True),            # --strict makes them errors: shown even with --quiet
], ids=["default", "quiet", "strict", "quiet-strict"])
def test_warnings_are_one_line_per_code_on_stderr_and_strict_exits_3(tmp_path, options, exit_code, shown):
    home = tmp_path / "home"
    init_workspace(home, warning_city(tmp_path))
    strict = ("--strict",) if exit_code else ()

    result = invoke(home, *options, "nightly", *strict)

    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    (log,) = (home / "logs").glob("nightly-*.json")
    expected = [f"govarc: warning: INGEST_FORMAT_NOT_ACCEPTED × 1 (see {log})",
                f"govarc: warning: INGEST_TEXT_DISAGREES × 2 (see {log})"]
    assert result.stderr.splitlines() == (expected if shown else [])
    # Every warning is in the run log, with its file; the run row agrees with the exit code.
    data = json.loads(log.read_text(encoding="utf-8"))
    assert data["warnings"] == {"INGEST_FORMAT_NOT_ACCEPTED": 1, "INGEST_TEXT_DISAGREES": 2}
    listed = [(w["code"], Path(w["path"]).name) for a in data["agencies"] for w in a["warnings"]]
    assert sorted(listed) == [("INGEST_FORMAT_NOT_ACCEPTED", "柳财预〔2024〕1号.pdf"),
                              ("INGEST_TEXT_DISAGREES", "柳政发〔2024〕2号.pdf"),
                              ("INGEST_TEXT_DISAGREES", "柳政发〔2024〕3号.pdf")]
    assert data["exit_code"] == exit_code and data["strict"] == bool(strict)
    assert last_run_status(home) == ("failed" if exit_code else "ok")
    # Documents with warnings are archived all the same.
    assert len(list((home / "store" / "SZF").iterdir())) == 3 and len(list((home / "store" / "CZJ").iterdir())) == 1


def test_warnings_are_told_once_the_night_their_document_is_registered(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, warning_city(tmp_path))
    assert invoke(home, "nightly", "--strict").exit_code == 3
    again = invoke(home, "nightly", "--strict")
    assert again.exit_code == 0 and again.stderr == ""
    assert last_run_status(home) == "ok"


def test_json_carries_the_warnings_and_stderr_stays_empty(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, warning_city(tmp_path))
    result = invoke(home, "--json", "nightly", "--strict")
    assert result.exit_code == 3 and result.stderr == ""
    data = json.loads(result.stdout)
    assert data["warnings"] == {"INGEST_FORMAT_NOT_ACCEPTED": 1, "INGEST_TEXT_DISAGREES": 2}
    assert data["status"] == "failed" and data["exit_code"] == 3


def test_verbose_shows_each_warning_each_step_and_the_summary(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, warning_city(tmp_path))
    result = invoke(home, "--verbose", "nightly")
    assert result.exit_code == 0
    err = result.stderr.splitlines()
    assert err[:2] == ["SZF: ingest", "SZF: package"] and "CZJ: ingest" in err
    assert sum(1 for line in err if line.startswith("govarc: warning:") and ": INGEST_TEXT_DISAGREES: " in line) == 2
    assert sum(1 for line in err if line.startswith("govarc: warning: INGEST_TEXT_DISAGREES × 2")) == 1
    assert "SZF: 3 registered, 3 packaged" in result.stdout


def test_off_a_terminal_a_good_night_prints_nothing_at_all(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, make_city(tmp_path, n=3))
    result = invoke(home, "nightly")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert "\x1b" not in result.output


def run_in_a_pty(args: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run ``args`` with stdout on a pseudo-terminal (stderr and stdin too); its exit code and all it drew."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                raise AssertionError("no output from the pty within the timeout")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return proc.wait(timeout=timeout), b"".join(chunks).decode("utf-8", errors="replace")


def test_on_a_terminal_the_nightly_job_shows_its_progress_per_agency_and_step(tmp_path):
    home = tmp_path / "home"
    init_workspace(home, warning_city(tmp_path))
    code, screen = run_in_a_pty([sys.executable, "-m", "govarc", "--home", str(home), "nightly"])
    assert code == 0, screen
    assert "agencies" in screen  # the bar counting agencies
    assert "SZF: ingest" in screen or "SZF: package" in screen
    assert "CZJ: " in screen
    assert "\x1b[" in screen  # drawn live (and cleared at the end: the bar is transient)
    # The warnings summary is there too, after the bar.
    assert "govarc: warning: INGEST_TEXT_DISAGREES × 2" in screen
