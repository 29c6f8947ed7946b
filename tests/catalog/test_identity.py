"""The workspace knows its catalog: an id in both; a missing, empty, damaged or foreign catalog is exit 6."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.admin import init_workspace
from govarc.catalog.db import MIGRATIONS, SCHEMA_VERSION, open_catalog
from govarc.catalog.identity import ID_FILE, open_workspace_catalog, read_id_file
from govarc.cli import main
from govarc.errors import ConfigError
from govarc.workspace import Workspace
from tests.catalog.conftest import DAMAGES, snapshot
from tests.citykit import make_city


def cli(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def catalog_id(path: Path) -> str | None:
    with open_catalog(path) as cat:
        return cat.identity()


def test_a_fresh_workspace_gets_one_id_in_the_catalog_and_beside_it(tmp_path):
    ws, _ = init_workspace(tmp_path / "home")
    file_id = read_id_file(ws.home)
    assert file_id is not None and catalog_id(ws.catalog_path) == file_id
    assert (ws.home / ID_FILE).read_text(encoding="ascii") == file_id + "\n"
    init_workspace(tmp_path / "home")  # again: nothing changes
    assert read_id_file(ws.home) == file_id == catalog_id(ws.catalog_path)


def test_a_fresh_workspace_without_init_still_works_and_gets_its_id(tmp_path):
    """A workspace whose catalog was never opened (govarc.toml only) needs no setup."""
    city = make_city(tmp_path, n=1)
    home = tmp_path / "home"
    init_workspace(home, city)
    (home / "catalog.sqlite").unlink()
    (home / ID_FILE).unlink()
    result = cli(home, "ingest", str(tmp_path / "drop" / "SZF"), "--agency", "SZF")
    assert result.exit_code == 0, result.output
    assert read_id_file(home) == catalog_id(home / "catalog.sqlite") is not None


def v1_catalog(path: Path) -> None:
    """A catalog as govarc made it at schema version 1 (before the meta table)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for sql in MIGRATIONS[0]:
        conn.execute(sql)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO sequences VALUES ('0012', 'WS', 2024, 'Y', 'BGS', 7)")
    conn.close()


def test_a_version_1_catalog_migrates_to_the_current_version(tmp_path):
    path = tmp_path / "catalog.sqlite"
    v1_catalog(path)
    with open_catalog(path) as cat:
        assert cat.schema_version() == SCHEMA_VERSION == 8  # 3: package locations as keys, 4: transfer batches, 5: the archives side, 6: exchange messages, 7: exchange incoming, 8: audit trail
        tables = {r[0] for r in cat.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"records", "record_files", "sequences", "runs", "meta"} <= tables
        assert cat.conn.execute("SELECT last_item FROM sequences").fetchall() == [(7,)]
        assert cat.identity() is None


def test_a_workspace_from_before_identities_is_adopted(city):
    """Catalog at version 1 without ids, no catalog.id, packages in the store that it knows: adopted."""
    rows_before = None
    with open_catalog(city.catalog_path) as cat:
        rows_before = cat.conn.execute("SELECT archival_code, state FROM records ORDER BY id").fetchall()
        with cat.write() as conn:
            conn.execute("DROP TABLE meta")
            conn.execute("DROP TABLE batch_items")
            conn.execute("DROP TABLE batches")
            conn.execute("PRAGMA user_version = 1")
    (city.home / ID_FILE).unlink()
    result = cli(city.home, "--json", "status")
    assert result.exit_code == 0, result.output
    file_id = read_id_file(city.home)
    assert file_id is not None and catalog_id(city.catalog_path) == file_id
    with open_catalog(city.catalog_path) as cat:
        assert cat.schema_version() == SCHEMA_VERSION
        assert cat.conn.execute("SELECT archival_code, state FROM records ORDER BY id").fetchall() == rows_before


def test_a_lost_id_file_is_written_again_when_the_catalog_knows_the_store(city):
    before = read_id_file(city.home)
    (city.home / ID_FILE).unlink()
    with open_workspace_catalog(city):
        pass
    assert read_id_file(city.home) == before


COMMANDS = {
    "nightly": ("nightly",),
    "ingest": ("ingest", "{drop}", "--agency", "SZF"),
    "package": ("package",),
    "status": ("status",),
    "init": ("init",),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_command_refuses_a_catalog_that_is_not_the_workspaces(city, tmp_path, damage, command):
    DAMAGES[damage](city, tmp_path / "elsewhere")
    before = snapshot(city.home)
    args = [a.replace("{drop}", str(city.home.parent / "drop" / "SZF")) for a in COMMANDS[command]]
    result = cli(city.home, *args)
    assert result.exit_code == 6, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"govarc: error: {city.catalog_path}: ")
    assert "govarc catalog rebuild" in lines[0] and "unexpected" not in lines[0]
    assert snapshot(city.home) == before  # nothing written: catalog, catalog.id, objects/, store/, logs/


@pytest.mark.parametrize("damage", ["deleted", "zero-bytes", "garbage", "foreign"])
def test_the_real_command_prints_one_line_and_exits_6(city, tmp_path, damage):
    DAMAGES[damage](city, tmp_path / "elsewhere")
    result = subprocess.run([sys.executable, "-m", "govarc", "--home", str(city.home), "nightly"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 6
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert str(city.catalog_path) in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [b"", b"not a uuid\n", b"\xff\xfe" * 10, b"0" * 4096])
def test_a_damaged_id_file_is_exit_6(city, content):
    (city.home / ID_FILE).write_bytes(content)
    result = cli(city.home, "status")
    assert result.exit_code == 6 and str(city.home / ID_FILE) in result.output


def test_an_id_file_that_is_a_fifo_is_refused_without_blocking(city):
    (city.home / ID_FILE).unlink()
    import os

    os.mkfifo(city.home / ID_FILE)
    with pytest.raises(ConfigError, match="not a regular file"):
        with open_workspace_catalog(city):
            pass


def test_a_catalog_that_is_a_folder_or_fifo_is_refused(city):
    import os

    city.catalog_path.unlink()
    os.mkfifo(city.catalog_path)
    with pytest.raises(ConfigError, match="not a regular file"):
        with open_workspace_catalog(city):
            pass


def test_a_catalog_damaged_while_open_is_one_line_naming_it(tmp_path):
    """A malformed page met during a query (not at open) is a ConfigError too, not DatabaseError."""
    ws, _ = init_workspace(tmp_path / "home")
    with open_catalog(ws.catalog_path) as cat, cat.write() as conn:
        conn.executemany("INSERT INTO runs (kind, started_at, status) VALUES (?, ?, ?)",
                         [("nightly", "x" * 500, "ok")] * 400)
    size = ws.catalog_path.stat().st_size
    with open(ws.catalog_path, "r+b") as f:  # overwrite a page deep inside with garbage
        f.seek(size - 4096 * 3)
        f.write(b"\xff" * 4096)
    with pytest.raises(ConfigError, match="damaged"):
        with open_workspace_catalog(Workspace.open(ws.home)) as cat:
            cat.conn.execute("SELECT COUNT(*), MAX(length(started_at)) FROM runs").fetchall()
