"""Inventories stream: memory stays bounded however many rows (tracemalloc, not time), and an
interrupted write leaves no file behind (nor changes an existing one)."""

from __future__ import annotations

import dataclasses
import io
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.inventory_bench import fill_catalog
from govarc.catalog.db import open_catalog
from govarc.catalog.inventory import InventoryFilter, InventoryRow
from govarc.catalog.summary import InventoryState
from govarc.inventory import Format, InventoryInfo, write_inventory
from govarc.inventory.writers import write_csv, write_html, write_json, write_xlsx

MiB = 1 << 20
INFO = InventoryInfo("2024-05-01T08:00:00+08:00")
ROW = InventoryRow(agency="SZF", year=2024, archival_code="0012-WS·2024-Y-BGS-000001", title="关于第1项工作的通知" * 4,
                   document_number="柳政发〔2024〕1号", issuer="柳州市人民政府", date="2024-05-01",
                   classification="公开", retention="Y", files=1, pages=2, bytes=1234,
                   state=InventoryState.ACCEPTED, package_digest="0" * 64)


def rows(n: int) -> Iterator[InventoryRow]:
    """``n`` distinct rows, made as they are asked for."""
    for i in range(n):
        yield dataclasses.replace(ROW, year=2000 + i % 25, archival_code=f"0012-WS·2024-Y-BGS-{i:06d}", bytes=i)


class Sink(io.StringIO):
    """A text stream that counts what it is given and keeps none of it."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


def peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("writer", [write_csv, write_json, write_html])
def test_text_writers_stream_in_memory_that_does_not_grow_with_the_rows(writer: Callable[..., object]) -> None:
    """2,000 rows, then 20,000: the peak stays the same (a writer keeping its rows would need 10x)."""
    small, large = Sink(), Sink()
    used_small = peak(lambda: writer(rows(2_000), small, INFO))
    used_large = peak(lambda: writer(rows(20_000), large, INFO))
    assert large.chars > 9 * small.chars > 2_000 * 9 * 150  # all of it was written, none of it kept
    assert used_large < used_small + 256 * 1024 and used_large < MiB, (used_small, used_large)


def test_xlsx_memory_does_not_grow_with_the_rows(tmp_path: Path) -> None:
    small = peak(lambda: write_xlsx(rows(500), tmp_path / "small.xlsx", INFO))
    large = peak(lambda: write_xlsx(rows(5_000), tmp_path / "large.xlsx", INFO))
    assert large < small + MiB // 2 and large < 4 * MiB, (small, large)


@pytest.fixture(scope="module")
def big_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 records (1,000 of DAJ), inserted directly as the bench does."""
    return fill_catalog(tmp_path_factory.mktemp("big") / "home", 20_000)


def test_the_catalog_cursor_streams_in_memory_that_does_not_grow_with_the_rows(big_catalog: Path, tmp_path: Path) -> None:
    used = {}
    with open_catalog(big_catalog) as cat:
        for agency, n in (("DAJ", 1_000), (None, 20_000)):
            out = tmp_path / f"{agency}.csv"
            totals = []
            used[n] = peak(lambda: totals.append(write_inventory(cat, InventoryFilter(agency=agency), Format.CSV, out, INFO)))
            assert totals[0].grand.items == n and out.stat().st_size > n * 200
    assert used[20_000] < used[1_000] + MiB and used[20_000] < 3 * MiB, used


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("existing", [False, True])
def test_an_interrupted_write_leaves_no_file_and_keeps_the_old_one(big_catalog: Path, tmp_path: Path,
                                                                    fmt: Format, existing: bool) -> None:
    out = tmp_path / f"inv.{fmt.value}"
    if existing:
        out.write_bytes(b"the previous inventory")
    calls = []

    def interrupt(n: int) -> None:
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with open_catalog(big_catalog) as cat, pytest.raises(KeyboardInterrupt):
        write_inventory(cat, InventoryFilter(agency="SZF"), fmt, out, INFO, force=True, progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([out.name] if existing else [])
    if existing:
        assert out.read_bytes() == b"the previous inventory"


def test_json_of_the_catalog_is_one_valid_document(big_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "daj.json"
    with open_catalog(big_catalog) as cat:
        write_inventory(cat, InventoryFilter(agency="DAJ"), Format.JSON, out, INFO)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(doc["records"]) == doc["grand_total"]["items"] == 1_000
    assert sum(r["bytes"] for r in doc["records"]) == doc["grand_total"]["bytes"]
