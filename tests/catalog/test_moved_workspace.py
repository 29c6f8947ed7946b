"""A workspace moved to another folder (``mv home home2``) keeps working: the catalog holds keys, not paths."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from govarc.cli import main
from tests.citykit import make_city, make_doc

ENV = {"GOVARC_KEY_PASSPHRASE": "moved-test-passphrase"}


def cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--home", str(home), *args], env=ENV)


def package_keys(home: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        return conn.execute("SELECT archival_code, package_path, package_signed FROM records ORDER BY id").fetchall()


def status(home: Path) -> dict[str, object]:
    r = cli(home, "--json", "status")
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)
    return row


def test_a_moved_workspace_verifies_packages_signs_pending_and_rebuilds(tmp_path: Path) -> None:
    city = make_city(tmp_path, n=3, unsigned=True)
    home = tmp_path / "home"
    assert cli(home, "init", "--config", str(city)).exit_code == 0
    assert cli(home, "nightly").exit_code == 0
    before = package_keys(home)
    assert [key for _, key, _ in before] == [f"store/SZF/{code}" for code, _, _ in before]

    home2 = tmp_path / "home2"
    home.rename(home2)
    assert not home.exists()

    # verifies: every package the catalog names is found in the new place, and is valid
    packages = [home2 / key for _, key, _ in package_keys(home2)]
    r = cli(home2, "verify", "--allow-unsigned", *map(str, packages))
    assert r.exit_code == 0, r.output
    assert status(home2)["packages"] == 3

    # packages: new documents are packaged into the moved store and recorded by key
    for i in range(4, 6):
        make_doc(tmp_path / "drop" / "SZF", i)
    assert cli(home2, "nightly").exit_code == 0
    after = package_keys(home2)
    assert len(after) == 5 and all((home2 / key).is_dir() and key.startswith("store/SZF/") for _, key, _ in after)

    # signs pending: the backlog is signed in place and the catalog says so
    assert cli(home2, "pki", "init-ca").exit_code == 0
    assert cli(home2, "pki", "issue", "SZF").exit_code == 0
    r = cli(home2, "--json", "sign", "--pending")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["agencies"][0]["signed"]) == 5
    assert [signed for _, _, signed in package_keys(home2)] == [1] * 5
    assert status(home2)["signed"] == 5

    # rebuilds: the catalog recovered from the moved store holds the same keys
    (home2 / "catalog.sqlite").unlink()
    r = cli(home2, "--json", "catalog", "rebuild")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["recovered"] == 5
    assert sorted(key for _, key, _ in package_keys(home2)) == sorted(key for _, key, _ in after)
    with sqlite3.connect(home2 / "catalog.sqlite") as conn:
        sources = [s for (s,) in conn.execute("SELECT source FROM records")]
        file_sources = [s for (s,) in conn.execute("SELECT source FROM record_files")]
    assert all(s.startswith("store/SZF/") for s in sources + file_sources)
    assert str(tmp_path) not in json.dumps(sources + file_sources)
    row = status(home2)
    assert (row["records"], row["packages"], row["signed"]) == (5, 5, 5)
