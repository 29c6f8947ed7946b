"""`govarc init --archives CODE --name NAME`: the archives' workspace, its settings and its key."""

from __future__ import annotations

import pytest

from govarc.cli import main
from govarc.workspace import Workspace


def test_init_archives_creates_the_holdings_and_is_idempotent(tmp_path, runner):
    home = tmp_path / "da"
    args = ["--home", str(home), "init", "--archives", "DAG", "--name", "柳州市档案馆", "--inbox", "file:///srv/x"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    ws = Workspace.open(home)
    assert ws.is_archives and ws.holdings.code == "DAG" and ws.holdings.inbox == "file:///srv/x"
    assert (home / "holdings").is_dir() and (home / "rejected").is_dir()
    assert "role = \"archives\"" in (home / "govarc.toml").read_text(encoding="utf-8")
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "unchanged" in again.output
    # the archives' own key, issued by the local CA like an agency's
    env = {"GOVARC_KEY_PASSPHRASE": "pw"}
    assert runner.invoke(main, ["--home", str(home), "pki", "init-ca"], env=env).exit_code == 0
    issued = runner.invoke(main, ["--home", str(home), "pki", "issue", "DAG"], env=env)
    assert issued.exit_code == 0, issued.output
    assert (home / "keys" / "DAG" / "cert.pem").is_file()


@pytest.mark.parametrize("args,code,words", [
    (["--archives", "DAG"], 2, "--name"),
    (["--name", "x"], 2, "--archives"),
    (["--archives", "D/G", "--name", "x"], 2, "--archives"),
])
def test_init_archives_usage_errors(tmp_path, runner, args, code, words):
    result = runner.invoke(main, ["--home", str(tmp_path / "h"), "init", *args])
    assert result.exit_code == code and words in result.output


def test_an_agency_workspace_is_not_turned_into_an_archives_one(tmp_path, runner):
    home = tmp_path / "h"
    assert runner.invoke(main, ["--home", str(home), "init"]).exit_code == 0
    result = runner.invoke(main, ["--home", str(home), "init", "--archives", "DAG", "--name", "x"])
    assert result.exit_code == 6 and "agency workspace" in result.stderr


@pytest.mark.parametrize("toml,words", [
    ('[workspace]\nrole = "archives"\n', "needs a [holdings]"),
    ('[workspace]\nrole = "museum"\n', "workspace.role"),
    ('[holdings]\ncode = "DAG"\nname = "x"\n', "belongs to an archives"),
    ('[workspace]\nrole = "archives"\n[holdings]\ncode = "DAG"\nname = "x"\nformats = []\n', "unknown key `formats`"),
    ('[workspace]\nrole = "archives"\n[holdings]\ncode = "DAG"\nname = "x"\naccepted_formats = ["PDF/Z"]\n', "PDF/Z"),
])
def test_bad_holdings_settings_are_config_errors(tmp_path, runner, toml, words):
    home = tmp_path / "h"
    home.mkdir()
    (home / "govarc.toml").write_text(toml, encoding="utf-8")
    result = runner.invoke(main, ["--home", str(home), "accept"])
    assert result.exit_code == 6 and words in result.stderr
