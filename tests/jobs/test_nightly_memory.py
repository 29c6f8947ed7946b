"""The nightly job's memory does not grow with the night's work (tracemalloc, not time).

Per-record detail (ingest outcomes, packages, warnings) goes to the run's spool on disk and is
copied into the run log as it is written. Discovery of a drop folder of documents with their own
sidecars reads one sub-folder at a time and holds nothing per document; any other drop folder
(a register, a file of its own) is still listed whole first, which these tests measure and set apart.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from govarc.admin import init_workspace
from govarc.ingest.sources import discover
from govarc.jobs.ingest_step import IngestStep
from govarc.jobs.nightly import run_nightly
from govarc.jobs.package_step import PackageStep
from govarc.jobs.spool import SAMPLE, Journal, Rows, Spool, summary, write_json
from govarc.workspace import Workspace

KiB = 1 << 10


def peak(work: Callable[[], Any]) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        out = work()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def register_city(root: Path, n: int) -> tuple[Workspace, Path]:
    """An agency whose drop folder holds a register of ``n`` rows naming files that are not there."""
    drop = root / "drop"
    drop.mkdir(parents=True)
    rows = "".join(f"文件{i:06d}.pdf,关于第{i}项工作的通知,柳州市人民政府办公室,永久,公开,\n" for i in range(n))
    (drop / "登记表.csv").write_text("文件名,题名,责任者,保管期限,密级,附件\n" + rows, encoding="utf-8-sig")
    (root / "city.toml").write_text(
        f'[[agency]]\ncode = "SZF"\nname = "柳州市人民政府办公室"\nfonds = "0012"\nunsigned = true\ndrop = "{drop}"\n',
        encoding="utf-8")
    ws, _ = init_workspace(root / "home", root / "city.toml")
    return ws, drop


def test_a_register_of_missing_files_runs_in_memory_that_grows_only_by_its_input_list(tmp_path: Path) -> None:
    """600 rows, then 3,000, every one refused: beyond discovery's list, memory barely grows.

    (Both more than the ingest pool takes ahead of the registration, 512 items on two workers.)
    """
    beyond = {}
    for n in (600, 3_000):
        ws, drop = register_city(tmp_path / str(n), n)
        listed, _ = peak(lambda: discover([drop]))
        used, report = peak(lambda: run_nightly(ws, steps=(IngestStep(), PackageStep())))
        beyond[n] = used - listed
        assert report.agencies[0].counts == {"registered": 0, "duplicate": 0, "refused": n, "packaged": 0}
        assert report.exit_code == 3
        # the log has every row, in the order of the register; --json's summary the first ones
        log = json.loads(Path(report.log_path).read_text(encoding="utf-8"))
        items = log["agencies"][0]["ingest"]["items"]
        assert [Path(i["path"]).name for i in items] == [f"文件{i:06d}.pdf" for i in range(n)]
        assert {i["status"] for i in items} == {"refused"}
        assert all(i["findings"][0]["code"] == "INGEST_UNREADABLE" for i in items)
        assert len(report.as_dict()["agencies"][0]["ingest"]["items"]) == min(n, SAMPLE)
        assert report.as_dict()["agencies"][0]["ingest"]["refused"] == n
        assert not list(ws.tmp_dir.iterdir())  # the spool is gone with the run
    # Kept whole, each outcome with its finding and its row in the log would take well over 250 B;
    # what is left is a few pointers an item (which documents are new, the pool's list of them).
    assert beyond[3_000] - beyond[600] < 2_400 * 250, beyond


def test_the_spool_copies_its_rows_into_the_log_in_memory_that_does_not_grow(tmp_path: Path) -> None:
    def run(n: int) -> Path:
        log = tmp_path / f"log-{n}.json"
        with Journal(tmp_path) as journal, open(log, "w", encoding="utf-8") as out:
            items, warnings = journal.spool(), journal.spool()
            for i in range(n):
                items.append({"path": f"/drop/{i}.pdf", "status": "registered", "title": "关于工作的通知" * 4})
                if i % 3 == 0:
                    warnings.append({"code": "INGEST_TEXT_DISAGREES", "path": f"/drop/{i}.pdf"})
            items.finish()
            warnings.finish()
            write_json({"agencies": [{"ingest": {"items": items}, "warnings": Rows([[{"code": "X"}], warnings])}]}, out)
        return log

    small, _ = peak(lambda: run(2_000))
    large, log = peak(lambda: run(20_000))
    assert large < small + 256 * KiB, (small, large)  # kept whole, 18,000 more rows would take megabytes
    data = json.loads(log.read_text(encoding="utf-8"))["agencies"][0]
    assert [r["path"] for r in data["ingest"]["items"]] == [f"/drop/{i}.pdf" for i in range(20_000)]
    assert data["warnings"][0] == {"code": "X"} and len(data["warnings"]) == 1 + len(range(0, 20_000, 3))


@pytest.mark.parametrize("folder", ["a-file", "below-a-file", "below-a-file-deeper"])
def test_a_spool_that_cannot_use_its_folder_keeps_its_rows_in_memory(tmp_path: Path, folder: str) -> None:
    (tmp_path / "file").write_text("not a folder")
    where = {"a-file": tmp_path / "file", "below-a-file": tmp_path / "file" / "tmp",
             "below-a-file-deeper": tmp_path / "file" / "a" / "tmp"}[folder]
    with Journal(where) as journal:
        s = journal.spool()
        for i in range(SAMPLE + 50):
            s.append({"i": i})
        s.finish()
        out = io.StringIO()
        write_json({"rows": s}, out)
    assert json.loads(out.getvalue()) == {"rows": [{"i": i} for i in range(SAMPLE + 50)]}
    assert len(s.sample) == SAMPLE + 50  # kept in memory, whole
    assert (tmp_path / "file").read_text() == "not a folder"


def test_without_a_journal_a_spool_keeps_every_row_and_the_summary_cuts_it() -> None:
    s = Spool(None)
    for i in range(SAMPLE * 3):
        s.append(i)
    assert list(s) == list(range(SAMPLE * 3)) and len(s) == SAMPLE * 3
    assert summary({"a": [s, {"b": s}], "r": Rows([[-1], s])}) == {
        "a": [list(range(SAMPLE)), {"b": list(range(SAMPLE))}], "r": [-1, *range(SAMPLE - 1)]}


def test_write_json_writes_what_json_dumps_reads_back() -> None:
    value = {"a": 1, "b": [1, {"c": None, "d": ["x", "文"]}], "e": {}, "f": [], "g": "é", "h": [[1, 2], []],
             "i": {"j": {"k": True}}}
    out = io.StringIO()
    write_json(value, out)
    assert json.loads(out.getvalue()) == value
    assert out.getvalue() == json.dumps(value, ensure_ascii=False, indent=2)


def test_a_real_run_logs_every_row_past_the_sample_and_json_gets_the_sample(tmp_path: Path, monkeypatch) -> None:
    """With the in-memory sample cut to one row, the log still has every item and package."""
    from tests.citykit import make_city

    monkeypatch.setattr("govarc.jobs.spool.SAMPLE", 1)
    ws, _ = init_workspace(tmp_path / "home", make_city(tmp_path, n=3))
    report = run_nightly(ws)
    assert report.exit_code == 0
    (szf,) = json.loads(Path(report.log_path).read_text(encoding="utf-8"))["agencies"]
    codes = sorted(i["archival_code"] for i in szf["ingest"]["items"])
    assert len(codes) == 3 and {i["status"] for i in szf["ingest"]["items"]} == {"registered"}
    assert sorted(p["archival_code"] for p in szf["packaged"]) == codes
    assert all(Path(p["path"]).is_dir() and p["signed"] is False for p in szf["packaged"])
    summed = report.as_dict()["agencies"][0]
    assert len(summed["ingest"]["items"]) == 1 and len(summed["packaged"]) == 1
    assert summed["ingest"]["registered"] == 3 and report.agencies[0].counts["packaged"] == 3
    assert not list(ws.tmp_dir.iterdir())


@pytest.mark.parametrize("page", [1, 2, 3, 500])
def test_the_package_step_reads_waiting_records_a_page_at_a_time(tmp_path: Path, page: int) -> None:
    """Pages of any size give every waiting record once, in id order; one packaged meanwhile is passed over."""
    from govarc.catalog import packages as cp
    from govarc.catalog.db import open_catalog
    from tests.citykit import ingest_into, make_city

    ws, _ = init_workspace(tmp_path / "home", make_city(tmp_path, n=3))
    assert ingest_into(ws, tmp_path / "drop" / "SZF").count("registered") == 3
    with open_catalog(ws.catalog_path) as cat:
        whole = cp.registered_records(cat, "SZF")
        assert cp.registered_span(cat, "SZF") == (3, whole[-1][0])
        assert cp.registered_span(cat, "CZJ") == (0, 0)
        assert list(cp.iter_registered_records(cat, "SZF", whole[-1][0], page)) == whole
        assert list(cp.iter_registered_records(cat, "SZF", whole[1][0], page)) == whole[:2]  # none past `upto`
        assert list(cp.iter_registered_records(cat, "CZJ", whole[-1][0], page)) == []
        seen = []
        for rid, code in cp.iter_registered_records(cat, "SZF", whole[-1][0], page):
            seen.append((rid, code))
            if rid == whole[0][0]:
                cp.mark_packaged(cat, [cp.PackagedRow(whole[-1][0], "store/SZF/C", "33" * 32, 1, False,
                                                      "2024-01-01T00:00:00+00:00")])
        # the last record, packaged while the first was being handled, is passed over unless its page was read
        assert seen == (whole if page >= 3 else whole[:2])


def _sidecar(path: Path, i: int, **extra: Any) -> None:
    fields = {"题名": f"关于第{i}项工作的通知", "责任者": "柳州市人民政府办公室", "保管期限": "永久", "密级": "公开",
              "日期": "2024-01-02", "文号": f"柳政办〔2024〕{i}号", **extra}
    path.write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")


def _layout(root: Path, kind: str) -> list[Path]:
    """A drop folder of one kind; the paths to discover in it."""
    drop = root / "drop"
    drop.mkdir()
    for i, name in enumerate(["a", "a-b", "a0", "b", "文件"]):
        (drop / f"{name}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        _sidecar(drop / f"{name}.json", i)
    sub = drop / "a"
    sub.mkdir()
    (sub / "x.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    _sidecar(sub / "x.json", 9)
    if kind == "attachment":
        (drop / "b-附件.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        _sidecar(drop / "b.json", 3, 附件="b-附件.pdf")
    elif kind == "leftover":
        (drop / "c.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    elif kind == "two-sidecars":
        (drop / "b.xml").write_text("<r/>", encoding="utf-8")  # b.pdf is described twice
    elif kind == "bad-sidecar":
        (drop / "a0.json").write_text("{not json", encoding="utf-8")
    elif kind == "two-documents":
        (drop / "b.doc").write_bytes(b"not a pdf")
    elif kind == "register":
        (drop / "登记表.csv").write_text(
            "文件名,题名,责任者,保管期限,密级,附件\n"
            "a/y.pdf,关于工作的通知,柳州市人民政府办公室,永久,公开,\n,无文件,柳州市人民政府办公室,永久,公开,\n"
            ",无文件,柳州市人民政府办公室,永久,公开,\n../out.pdf,越界,柳州市人民政府办公室,永久,公开,\n", encoding="utf-8-sig")
    elif kind == "link":
        (drop / "l.pdf").symlink_to(drop / "a.pdf")
        _sidecar(drop / "l.json", 7)
    elif kind == "fifo":
        os.mkfifo(drop / "f.pdf")
        _sidecar(drop / "f.json", 8)
    elif kind == "twice":
        return [drop, drop / "b.pdf", drop]
    elif kind == "missing":
        return [drop, root / "nowhere"]
    return [drop]


@pytest.mark.parametrize("kind", ["plain", "attachment", "leftover", "two-sidecars", "bad-sidecar", "two-documents",
                                  "register", "link", "fifo", "twice", "missing"])
def test_streamed_discovery_yields_what_discover_returns_in_its_order(tmp_path: Path, kind: str) -> None:
    from govarc.ingest.sources import Discovery

    paths = _layout(tmp_path, kind)
    whole = discover(paths)
    streamed = Discovery(paths)
    assert len(streamed) == len(whole)
    assert list(streamed) == whole
    assert [str(it.main) for it in whole] == sorted(str(it.main) for it in whole) or kind in ("twice", "missing")


def _cheap_drop(root: Path, n: int) -> Path:
    drop = root / "drop"
    drop.mkdir(parents=True)
    for i in range(n):
        (drop / f"文件{i:06d}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        _sidecar(drop / f"文件{i:06d}.json", i)
    return drop


def test_streamed_discovery_holds_no_sidecar_fields_per_document(tmp_path: Path) -> None:
    """300 documents, then 3,000: read whole, each item keeps its sidecar's fields (over 1 KB);
    streamed, a document waiting for its turn is its path and a few shared values."""
    from govarc.ingest.sources import Discovery

    def held(make: Callable[[], Any]) -> tuple[int, Any]:
        tracemalloc.start()
        try:
            out = make()
            gc.collect()
            return tracemalloc.get_traced_memory()[0], out
        finally:
            tracemalloc.stop()

    eager, lazy = {}, {}
    for n in (300, 3_000):
        drop = _cheap_drop(tmp_path / str(n), n)
        eager[n], whole = held(lambda: discover([drop]))
        lazy[n], streamed = held(lambda: Discovery([drop]))
        assert len(streamed) == n and list(streamed) == whole
        assert not any(it.refused for it in whole)
        del whole, streamed
    per_eager = (eager[3_000] - eager[300]) / 2_700
    per_lazy = (lazy[3_000] - lazy[300]) / 2_700
    assert per_lazy < per_eager / 3, (per_eager, per_lazy)


def _drop_of_sub_folders(root: Path, n: int, per: int = 250) -> Path:
    """``n`` documents with their JSON sidecars, ``per`` to a sub-folder, as a drop folder of scans tends to be."""
    drop = root / "drop"
    for i in range(n):
        sub = drop / f"{i // per:03d}"
        if i % per == 0:
            sub.mkdir(parents=True)
        (sub / f"文件{i:06d}.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        _sidecar(sub / f"文件{i:06d}.json", i)
    return drop


def test_streamed_discovery_of_sub_folders_peaks_at_the_same_memory_for_500_and_5000_documents(tmp_path: Path) -> None:
    """Counted, then read one sub-folder at a time, every sidecar read and every item let go as
    ingest lets it go: the peak is one sub-folder's listing, whatever the number of sub-folders.
    (Whole, discover() holds every item with its fields: over 1 KB a document.)"""
    from govarc.ingest.sources import Discovery

    # CPython interns every part of every Path in one table that is reallocated, at a size set by
    # what the whole process has interned, when it fills with names made and let go; that would
    # show in one run's peak and not another's. Room made beforehand keeps it out of both.
    room = [sys.intern(f"room for names {i}") for i in range(150_000)]

    def read(drop: Path) -> int:
        count = 0
        for item in Discovery([drop]):
            assert not item.refused, item.findings
            count += 1
        return count

    streamed, whole = {}, {}
    for n in (500, 5_000):
        drop = _drop_of_sub_folders(tmp_path / str(n), n)
        read(drop)
        gc.collect()
        streamed[n], count = peak(lambda: read(drop))
        assert count == n
        whole[n], items = peak(lambda: discover([drop]))
        assert len(items) == n and list(Discovery([drop])) == items
        del items
    del room
    assert whole[5_000] - whole[500] > 4_500 * 1_000, whole  # what holding every item would cost
    assert streamed[5_000] - streamed[500] < 4_500 * 30, streamed  # not a tenth of one item a document
