"""The catalog's record statements: content keys, lookups, 件号 sequences, inserting records with files."""

from __future__ import annotations

import sqlite3

import pytest

from govarc.catalog import records
from govarc.catalog.db import open_catalog
from govarc.catalog.states import RecordState


@pytest.fixture
def catalog(tmp_path):
    with open_catalog(tmp_path / "catalog.sqlite") as cat:
        yield cat


SEQ = records.SequenceKey("0012", "WS", 2024, "Y", "BGS")


def new_record(item: int, *, key: str = "k1", source: str = "/drop/a.pdf", version: int = 1,
               supersedes: int | None = None, code: str | None = None) -> records.NewRecord:
    return records.NewRecord(
        agency="SZF", archival_code=code or f"0012-WS·2024-Y-BGS-{item:04d}", sequence=SEQ, item=item,
        title="关于植树的通知", document_number="柳政办〔2024〕1号", date="2024-03-05", classification="公开",
        content_key=key, source=source, version=version, supersedes=supersedes,
        metadata={"title": "关于植树的通知", "issuer": ["柳州市人民政府办公室"]}, warnings=[],
        ingested_at="2024-03-06T00:00:00+00:00",
        files=(records.NewFile("main", "a.pdf", 3, "ab" * 32, "application/pdf", "PDF", "1.7", source),
               records.NewFile("attachment", "b.pdf", 4, "cd" * 32, "application/pdf", "PDF/A", "1b", "/drop/b.pdf")),
    )


def test_the_runtime_sqlite_has_returning():
    assert sqlite3.sqlite_version_info >= (3, 35)


def test_content_key_ignores_order():
    files = [("main", "a.pdf", "1"), ("attachment", "b.pdf", "2")]
    assert records.content_key(files) == records.content_key(reversed(files))
    assert records.content_key(files) != records.content_key([("main", "a.pdf", "1")])


def test_sequences_count_from_one_per_key(catalog):
    with catalog.write() as conn:
        assert [records.next_item(conn, SEQ) for _ in range(3)] == [1, 2, 3]
        assert records.next_item(conn, records.SequenceKey("0012", "WS", 2025, "Y", "BGS")) == 1
    assert catalog.conn.execute("SELECT last_item FROM sequences WHERE year=2024").fetchone()[0] == 3


def test_a_rolled_back_number_is_taken_again(catalog):
    with pytest.raises(RuntimeError), catalog.write() as conn:
        records.next_item(conn, SEQ)
        raise RuntimeError
    with catalog.write() as conn:
        assert records.next_item(conn, SEQ) == 1


def test_insert_and_find_a_record_with_its_files(catalog):
    with catalog.write() as conn:
        rid = records.insert_record(conn, new_record(1))
    assert records.find_by_content(catalog.conn, "SZF", "k1") == records.RecordRef(rid, "0012-WS·2024-Y-BGS-0001", 1)
    assert records.find_by_content(catalog.conn, "CZJ", "k1") is None
    assert records.find_by_content(catalog.conn, "SZF", "other") is None
    row = catalog.conn.execute("SELECT state, fonds, category, year, retention, unit, item FROM records WHERE id=?",
                               (rid,)).fetchone()
    assert row == (RecordState.REGISTERED.value, "0012", "WS", 2024, "Y", "BGS", 1)
    files = catalog.conn.execute(
        "SELECT position, role, name, format_name, format_version FROM record_files WHERE record_id=? ORDER BY position",
        (rid,)).fetchall()
    assert files == [(0, "main", "a.pdf", "PDF", "1.7"), (1, "attachment", "b.pdf", "PDF/A", "1b")]


def test_latest_by_source_is_the_highest_version(catalog):
    with catalog.write() as conn:
        first = records.insert_record(conn, new_record(1))
        second = records.insert_record(conn, new_record(2, key="k2", version=2, supersedes=first))
    latest = records.latest_by_source(catalog.conn, "SZF", "/drop/a.pdf")
    assert latest == records.RecordRef(second, "0012-WS·2024-Y-BGS-0002", 2)
    assert records.latest_by_source(catalog.conn, "SZF", "/drop/other.pdf") is None
    assert catalog.conn.execute("SELECT supersedes FROM records WHERE id=?", (second,)).fetchone()[0] == first
