"""The catalog side of a rebuild: recovered records inserted with their package, clashes reported, sequences kept."""

from __future__ import annotations

import dataclasses

import pytest

from govarc.catalog import records
from govarc.catalog.db import open_catalog
from govarc.catalog.recovery import (
    Clash,
    RecoveredRecord,
    finish_rebuild,
    insert_recovered,
    keep_aside,
    read_sequences,
)
from govarc.catalog.states import RecordState

SEQ = records.SequenceKey("0012", "WS", 2024, "Y", "BGS")
KEY = "store/SZF/0012-WS·2024-Y-BGS-{:04d}.zip"


def recovered(item: int, content: str) -> RecoveredRecord:
    key = KEY.format(item)
    record = records.NewRecord(
        agency="SZF", archival_code=f"0012-WS·2024-Y-BGS-{item:04d}", sequence=SEQ, item=item, title="通知",
        document_number=None, date="2024-03-05", classification="公开", content_key=content, source=key,
        version=1, supersedes=None, metadata={"title": "通知"}, warnings=[], ingested_at="2024-03-06",
        files=(records.NewFile("main", "a.pdf", 3, "ab" * 32, "application/pdf", "PDF", "1.7", f"{key}/data/a.pdf"),),
        state=RecordState.PACKAGED)
    return RecoveredRecord(record, key, "ef" * 32, 1234, True, "2024-03-06")


@pytest.fixture
def catalog(tmp_path):
    with open_catalog(tmp_path / "catalog.sqlite") as cat:
        yield cat


def test_recovered_records_are_packaged_with_their_package_and_clashes_are_reported(catalog):
    first, same_code = recovered(1, "k1"), recovered(1, "k2")
    same_content = recovered(2, "k1")
    assert insert_recovered(catalog, [first, same_code, same_content, recovered(3, "k3")]) == [
        None, Clash(KEY.format(1), True), Clash(KEY.format(1), False), None]
    rows = catalog.conn.execute("SELECT archival_code, state, package_path, package_size, package_signed, source "
                                "FROM records ORDER BY id").fetchall()
    assert rows == [("0012-WS·2024-Y-BGS-0001", "packaged", KEY.format(1), 1234, 1, KEY.format(1)),
                    ("0012-WS·2024-Y-BGS-0003", "packaged", KEY.format(3), 1234, 1, KEY.format(3))]
    assert catalog.conn.execute("SELECT count(*) FROM record_files").fetchone() == (2,)


def test_sequences_written_at_the_end_are_read_back_from_a_catalog_of_the_same_id(tmp_path):
    path = tmp_path / "catalog.sqlite"
    with open_catalog(path) as cat:
        catalog_id = cat.claim_identity("3f1c0d9e-4c1b-4a59-9a39-0e3c1f1f2a10")
        finish_rebuild(cat, [(SEQ, 7), (dataclasses.replace(SEQ, year=2023), 2)], "t0", "t1", "ok", {"recovered": 0})
        assert cat.conn.execute("SELECT kind, status FROM runs").fetchall() == [("catalog-rebuild", "ok")]
    assert sorted(read_sequences(path, catalog_id), key=lambda r: r[0].year) == [
        (dataclasses.replace(SEQ, year=2023), 2), (SEQ, 7)]
    assert read_sequences(path, "another-catalog") == []
    assert read_sequences(tmp_path / "missing.sqlite", catalog_id) == []


def test_keep_aside_keeps_the_old_file_and_its_log_under_paired_names(tmp_path):
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"old")
    (tmp_path / "catalog.sqlite-wal").write_bytes(b"log")
    (tmp_path / "catalog.sqlite-shm").write_bytes(b"index")
    kept = keep_aside(path, "20240306-010203")
    assert kept == [str(tmp_path / "catalog.sqlite.broken-20240306-010203"),
                    str(tmp_path / "catalog.sqlite.broken-20240306-010203-wal")]
    assert path.read_bytes() == b"old"  # still in place until the new one replaces it
    assert not (tmp_path / "catalog.sqlite-shm").exists() and not (tmp_path / "catalog.sqlite-wal").exists()
