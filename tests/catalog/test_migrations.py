"""Every earlier schema version opens and migrates to the current one with its rows intact (issue #8 item 8)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from govarc.catalog.db import MIGRATIONS, SCHEMA_VERSION, apply_migration, open_catalog

CODE = "0012-WS·2024-Y-BGS-{:04d}"


def _rows(conn: sqlite3.Connection, home: Path, outside: Path) -> None:
    """Realistic rows as govarc wrote them before keys: one registered record, two packaged (one of them
    a rebuilt one whose source names its package), one packaged elsewhere (outside the home)."""
    store = home / "store" / "SZF"
    meta = json.dumps({"title": "关于第1项工作的通知", "retention": "Y"}, ensure_ascii=False)
    rows = [
        (1, "registered", None, "/drop/SZF/001.pdf"),
        (2, "packaged", str(store / CODE.format(2)), "/drop/SZF/002.pdf"),
        (3, "packaged", str(store / (CODE.format(3) + ".zip")), str(store / (CODE.format(3) + ".zip"))),
        (4, "packaged", str(outside / "store" / "SZF" / CODE.format(4)), "/drop/SZF/004.pdf"),
    ]
    for item, state, package, source in rows:
        conn.execute(
            "INSERT INTO records (id, agency, archival_code, fonds, category, year, retention, unit, item, title, "
            "document_number, date, classification, content_key, source, metadata, state, ingested_at, package_path, "
            "package_tagmanifest_sha256, package_size, package_signed, packaged_at) "
            "VALUES (?, 'SZF', ?, '0012', 'WS', 2024, 'Y', 'BGS', ?, '关于第1项工作的通知', '柳政发〔2024〕1号', "
            "'2024-03-02', '公开', ?, ?, ?, ?, '2024-03-03T00:00:00+00:00', ?, ?, ?, ?, ?)",
            (item, CODE.format(item), item, f"key{item}", source, meta, state, package,
             "ab" * 32 if package else None, 1000 + item if package else None, 0 if package else None,
             "2024-03-04T00:00:00+00:00" if package else None))
        file_source = f"{package}/data/正文.pdf" if source == package else source
        conn.execute("INSERT INTO record_files VALUES (?, 0, 'main', '正文.pdf', 10, ?, 'application/pdf', 'PDF', "
                     "'1.7', ?)", (item, "cd" * 32, file_source))
    conn.execute("INSERT INTO sequences VALUES ('0012', 'WS', 2024, 'Y', 'BGS', 4)")
    conn.execute("INSERT INTO runs (kind, started_at, finished_at, status, summary) "
                 "VALUES ('nightly', '2024-03-04T00:00:00+00:00', '2024-03-04T00:01:00+00:00', 'ok', '{}')")


def catalog_at(version: int, home: Path, outside: Path) -> Path:
    """A catalog built from the migrations list up to ``version``, with realistic rows."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "catalog.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for number in range(1, version + 1):
        conn.execute("BEGIN")
        apply_migration(conn, path, number)
        conn.execute("COMMIT")
        if number == 1:
            _rows(conn, home, outside)
    if version >= 2:
        conn.execute("INSERT INTO meta VALUES ('catalog_id', '0b9c2c51-5ad1-4d1a-9c3c-5d0f5b3f2a11')")
    conn.close()
    return path


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_catalog_at_every_earlier_version_migrates_with_its_rows(tmp_path: Path, version: int) -> None:
    outside = tmp_path / "elsewhere"
    path = catalog_at(version, tmp_path / "home", outside)
    with open_catalog(path) as cat:
        assert cat.schema_version() == SCHEMA_VERSION
        records = cat.conn.execute("SELECT id, archival_code, state, package_path, source, package_size "
                                   "FROM records ORDER BY id").fetchall()
        files = cat.conn.execute("SELECT record_id, source FROM record_files ORDER BY record_id").fetchall()
        assert cat.conn.execute("SELECT last_item FROM sequences").fetchall() == [(4,)]
        runs = cat.conn.execute("SELECT kind, status, summary FROM runs ORDER BY id").fetchall()
        assert cat.identity() == (None if version < 2 else "0b9c2c51-5ad1-4d1a-9c3c-5d0f5b3f2a11")
    far = str(outside / "store" / "SZF" / CODE.format(4))
    assert records == [
        (1, CODE.format(1), "registered", None, "/drop/SZF/001.pdf", None),
        (2, CODE.format(2), "packaged", f"store/SZF/{CODE.format(2)}", "/drop/SZF/002.pdf", 1002),
        (3, CODE.format(3), "packaged", f"store/SZF/{CODE.format(3)}.zip", f"store/SZF/{CODE.format(3)}.zip", 1003),
        (4, CODE.format(4), "packaged", far, "/drop/SZF/004.pdf", 1004),  # outside the home: left as it was
    ]
    assert files == [(1, "/drop/SZF/001.pdf"), (2, "/drop/SZF/002.pdf"),
                     (3, f"store/SZF/{CODE.format(3)}.zip/data/正文.pdf"), (4, "/drop/SZF/004.pdf")]
    # migration 3 ran once (at open, or while building the version-3 catalog) and reported what it left
    assert [r[:2] for r in runs] == [("nightly", "ok"), ("catalog-migration", "ok")]
    assert json.loads(runs[1][2]) == {"schema": 3, "converted": 2, "left": [far], "left_count": 1}


def test_the_migrations_list_is_the_schema_version() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) == 8


def test_a_catalog_newer_than_govarc_is_refused(tmp_path: Path) -> None:
    path = catalog_at(SCHEMA_VERSION, tmp_path / "home", tmp_path / "elsewhere")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    from govarc.errors import ConfigError

    with pytest.raises(ConfigError, match="newer than this govarc knows"):
        with open_catalog(path):
            pass
