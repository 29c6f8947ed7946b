"""`govarc transfer configure`: [archives] written from the command line, checked, kept, idempotent."""

from __future__ import annotations

import pytest

from govarc.admin import init_workspace, set_archives
from govarc.cli import main
from govarc.workspace import HoldingsSettings, Workspace, load_settings


def test_configure_writes_archives_keeps_the_other_keys_and_is_idempotent(runner, tmp_path) -> None:
    home = tmp_path / "agency"
    init_workspace(home)
    r = runner.invoke(main, ["--home", str(home), "transfer", "configure", "--archives", "DAG", "--name", "柳州市档案馆",
                             "--url", "../exchange"])
    assert r.exit_code == 0 and "updated" in r.stdout, r.output
    a = load_settings(home).archives
    assert a is not None and (a.code, a.name, a.url) == ("DAG", "柳州市档案馆", "../exchange")
    toml = home / "govarc.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("receipt_overdue_days = 14", "receipt_overdue_days = 3"),
                    encoding="utf-8")
    before = toml.read_bytes()
    r = runner.invoke(main, ["--home", str(home), "transfer", "configure", "--archives", "DAG", "--url", "../exchange"])
    assert r.exit_code == 0 and "unchanged" in r.stdout, r.output
    assert toml.read_bytes() == before
    ws, changed = set_archives(Workspace.open(home), "DAG2", "sftp://u@h:22/in")
    assert changed and ws.settings.archives is not None
    assert (ws.settings.archives.code, ws.settings.archives.name, ws.settings.archives.receipt_overdue_days) == \
        ("DAG2", "柳州市档案馆", 3)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--archives", "../DAG", "--url", "x"], "archives.code"),
    (["--archives", "DAG", "--url", " "], "archives.url"),
    (["--archives", "DAG", "--url", "x", "--name", " "], "archives.name"),
])
def test_configure_refuses_bad_values_with_exit_6_and_changes_nothing(runner, tmp_path, args, fragment) -> None:
    home = tmp_path / "agency"
    init_workspace(home)
    before = (home / "govarc.toml").read_bytes()
    r = runner.invoke(main, ["--home", str(home), "transfer", "configure", *args])
    assert r.exit_code == 6 and fragment in r.stderr, r.output
    assert (home / "govarc.toml").read_bytes() == before


def test_configure_is_refused_in_an_archives_workspace(runner, tmp_path) -> None:
    home = tmp_path / "archives"
    init_workspace(home, archives=HoldingsSettings("DAG", "柳州市档案馆"))
    before = (home / "govarc.toml").read_bytes()
    r = runner.invoke(main, ["--home", str(home), "transfer", "configure", "--archives", "DAG", "--url", "x"])
    assert r.exit_code == 6 and "archives workspace" in r.stderr, r.output
    assert (home / "govarc.toml").read_bytes() == before
