"""`govarc exchange configure`: [exchange] url and groups, agencies' oa_drop; checked, idempotent; kept by `init`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from govarc.cli import main
from govarc.workspace import Workspace

CITY = """
[[agency]]
code = "SZF"
name = "柳州市人民政府办公室"
fonds = "0012"

[[agency]]
code = "CZJ"
name = "柳州市财政局"
fonds = "0035"
"""


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "city.toml").write_text(CITY, encoding="utf-8")
    (tmp_path / "hub").mkdir()
    (tmp_path / "oa" / "CZJ").mkdir(parents=True)
    r = cli(tmp_path / "home", "init", "--config", str(tmp_path / "city.toml"))
    assert r.exit_code == 0, r.output
    return tmp_path / "home"


def test_configure_writes_exchange_and_a_second_time_changes_nothing(home: Path) -> None:
    r = cli(home, "exchange", "configure", "--url", "../hub", "--group", "全市各委办局=CZJ, DAJ",
            "--group", "市直部门=DAJ", "--oa-drop", "CZJ=../oa/CZJ")
    assert r.exit_code == 0 and "updated" in r.output, r.output
    ws = Workspace.open(home)
    ex = ws.settings.exchange
    assert ex is not None and ex.url == "../hub"
    assert ex.groups == (("全市各委办局", ("CZJ", "DAJ")), ("市直部门", ("DAJ",)))
    assert ws.agency("CZJ").oa_drop == (home.parent / "oa" / "CZJ").resolve() and ws.agency("SZF").oa_drop is None
    toml = (home / "govarc.toml").read_bytes()
    stat = os.stat(home / "govarc.toml")
    r = cli(home, "--json", "exchange", "configure", "--url", "../hub", "--group", "全市各委办局=CZJ,DAJ",
            "--oa-drop", "CZJ=../oa/CZJ")
    assert r.exit_code == 0 and json.loads(r.stdout)["changed"] is False
    assert (home / "govarc.toml").read_bytes() == toml and os.stat(home / "govarc.toml").st_mtime_ns == stat.st_mtime_ns
    # a group named again is replaced, the others and the other keys are kept
    (home / "govarc.toml").write_text(toml.decode().replace("duplicate_window_days = 30", "duplicate_window_days = 9"),
                                      encoding="utf-8")
    r = cli(home, "exchange", "configure", "--group", "市直部门=CZJ,DAJ")
    assert r.exit_code == 0, r.output
    ex = Workspace.open(home).settings.exchange
    assert ex is not None and ex.duplicate_window_days == 9 and ex.url == "../hub"
    assert ex.groups == (("全市各委办局", ("CZJ", "DAJ")), ("市直部门", ("CZJ", "DAJ")))


def test_init_again_keeps_the_oa_keys_a_city_file_does_not_name(home: Path) -> None:
    assert cli(home, "exchange", "configure", "--url", "../hub", "--oa-drop", "CZJ=../oa/CZJ").exit_code == 0
    toml = (home / "govarc.toml").read_bytes()
    city = home.parent / "city.toml"
    assert cli(home, "init", "--config", str(city)).exit_code == 0
    assert (home / "govarc.toml").read_bytes() == toml
    assert Workspace.open(home).agency("CZJ").oa_drop == (home.parent / "oa" / "CZJ").resolve()
    # a city file that names an OA key for the agency wins
    city.write_text(CITY.replace('fonds = "0035"', 'fonds = "0035"\noa_command = ["/opt/oa/import"]'), encoding="utf-8")
    assert cli(home, "init", "--config", str(city)).exit_code == 0
    czj = Workspace.open(home).agency("CZJ")
    assert czj.oa_command == ("/opt/oa/import",) and czj.oa_drop is None


@pytest.mark.parametrize("args,words", [
    (("--group", "全市各委办局=CZJ"), "name the hub with --url"),  # no [exchange] yet
    (("--url", ""), "exchange.url"),
    (("--url", "../hub", "--group", "全市各委办局"), "expected NAME=CODE,CODE"),
    (("--url", "../hub", "--group", "=CZJ"), "expected NAME=CODE,CODE"),
    (("--url", "../hub", "--group", "全市各委办局="), "non-empty list"),
    (("--url", "../hub", "--group", "全市各委办局=CZJ,../x"), "not an agency code"),
    (("--url", "../hub", "--group", "全市各委办局=CZJ,CZJ"), "listed twice"),
    (("--url", "../hub", "--group", "CZJ=DAJ"), "a group needs a name of its own"),
    (("--url", "../hub", "--group", "全市\x07各委办局=CZJ"), "without control characters"),
    (("--url", "../hub", "--group", "长" * 65 + "=CZJ"), "characters"),
    (("--url", "../hub", "--oa-drop", "GAJ=../oa/CZJ"), "unknown agency 'GAJ'"),
    (("--url", "../hub", "--oa-drop", "CZJ"), "expected CODE=FOLDER"),
    (("--url", "../hub", "--oa-drop", "CZJ=../oa/none"), "does not exist"),
    (("--url", "../hub", "--oa-drop", "CZJ=../oa/link"), "not a link or a file"),
    (("--url", "../hub", "--oa-drop", "CZJ=../oa/file"), "not a link or a file"),
    (("--url", "../hub", "--oa-drop", "CZJ=../oa/fifo"), "not a link or a file"),
])
def test_bad_values_are_refused_and_nothing_is_written(home: Path, args: tuple[str, ...], words: str) -> None:
    oa = home.parent / "oa"
    (oa / "link").symlink_to(oa / "CZJ")
    (oa / "file").write_text("x", encoding="utf-8")
    os.mkfifo(oa / "fifo")
    toml = (home / "govarc.toml").read_bytes()
    r = cli(home, "exchange", "configure", *args)
    assert r.exit_code == 6 and words in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert (home / "govarc.toml").read_bytes() == toml


def test_an_archives_workspace_has_no_exchange(tmp_path: Path) -> None:
    home = tmp_path / "archives"
    assert cli(home, "init", "--archives", "DAG", "--name", "柳州市档案馆").exit_code == 0
    toml = (home / "govarc.toml").read_bytes()
    r = cli(home, "exchange", "configure", "--url", "../hub")
    assert r.exit_code == 6 and "archives workspace" in r.output
    assert (home / "govarc.toml").read_bytes() == toml
