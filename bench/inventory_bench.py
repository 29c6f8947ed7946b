#!/usr/bin/env python3
"""Time `govarc inventory` in each format over a catalog of 1,000,000 records, with peak RSS.

Builds a workspace whose catalog holds ``--records`` records of three agencies (direct inserts
through :func:`fill_catalog`, for the bench only: ingesting a million PDFs would take hours), each
with one or two files, metadata like an ingested record's and a state mix (accepted, rejected,
signed). Then runs `govarc inventory --format F --out FILE` as a subprocess for each format and
prints seconds, rows/s, output size and the peak RSS of the process (os.wait4), beside a run over
1,000 records (``--agency`` of a small agency) to show that memory does not grow with the rows.

    .venv/bin/python bench/inventory_bench.py                     # 1,000,000 records, every format
    .venv/bin/python bench/inventory_bench.py --records 100000 --formats csv json --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

CITY = """
[[agency]]
code = "SZF"
name = "柳州市人民政府办公室"
fonds = "0012"
unit = "BGS"

[[agency]]
code = "CZJ"
name = "柳州市财政局"
fonds = "0035"
unit = "CWK"

[[agency]]
code = "DAJ"
name = "柳州市档案局"
fonds = "0001"
unit = "YWK"
"""

SMALL_AGENCY = "DAJ"
SMALL_RECORDS = 1_000


def _records(n: int, small: int) -> Iterator[tuple[object, ...]]:
    """``n`` records: ``small`` of DAJ, the rest shared by SZF and CZJ over the years 2000-2024."""
    agencies = (("SZF", "0012", "BGS", "柳州市人民政府"), ("CZJ", "0035", "CWK", "柳州市财政局"))
    items: dict[tuple[str, int, str], int] = {}
    for i in range(n):
        if i < small:
            code, fonds, unit, issuer = "DAJ", "0001", "YWK", "柳州市档案局"
        else:
            code, fonds, unit, issuer = agencies[i % 2]
        year = 2000 + (i * 7919) % 25
        retention = ("Y", "D30", "D10")[i % 3]
        key = (code, year, retention)
        items[key] = item = items.get(key, 0) + 1
        archival_code = f"{fonds}-WS·{year}-{retention}-{unit}-{item:06d}"
        title = f"关于第{i}项工作的通知（{'=SUM(A1)' if i % 997 == 0 else '柳州市'}）"
        number = f"柳政发〔{year}〕{i}号"
        date = f"{year}-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}"
        meta = {"title": title, "issuer": [issuer], "retention": retention, "classification": "公开", "date": date,
                "document_number": number, "page_count": 1 + i % 9, "archival_code": archival_code}
        state = "transferred" if i % 20 < 12 else ("rejected" if i % 20 == 12 else "registered")
        digest = f"{i:064x}"
        yield (i + 1, code, archival_code, fonds, "WS", year, retention, unit, item, title, number, date, "公开",
               f"{i:064x}", f"/drop/{code}/{i}.pdf", json.dumps(meta, ensure_ascii=False), state,
               "2024-05-01T08:00:00+00:00", f"store/{code}/{archival_code}.zip", digest, 8_000 + i % 5000, 1,
               "2024-05-01T08:00:00+00:00")


def fill_catalog(home: Path, n: int, small: int = SMALL_RECORDS) -> Path:
    """A workspace at ``home`` (three agencies) whose catalog holds ``n`` records with their files,
    inserted directly (bench and memory tests only). Returns the catalog's path."""
    sys.path.insert(0, str(HERE.parent))
    from govarc.admin import init_workspace
    from govarc.catalog.identity import open_workspace_catalog

    home.mkdir(parents=True, exist_ok=True)
    city = home.parent / f"{home.name}-city.toml"
    city.write_text(CITY, encoding="utf-8")
    ws, _ = init_workspace(home, city)
    with open_workspace_catalog(ws):
        pass
    conn = sqlite3.connect(ws.catalog_path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO records (id, agency, archival_code, fonds, category, year, retention, unit, item, title, "
            "document_number, date, classification, content_key, source, metadata, state, ingested_at, "
            "package_path, package_tagmanifest_sha256, package_size, package_signed, packaged_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", _records(n, small))
        conn.executemany(
            "INSERT INTO record_files (record_id, position, role, name, size, sha256, mime, format_name, "
            "format_version, source) VALUES (?,?,?,?,?,?,?,?,?,?)",
            ((rid, pos, "main" if pos == 0 else "attachment", f"{rid}-{pos}.pdf", 4_000 + (rid * 31 + pos) % 60_000,
              f"{rid:032x}{pos:032x}", "application/pdf", "PDF", "1.7", f"/drop/{rid}-{pos}.pdf")
             for rid in range(1, n + 1) for pos in range(1 + (rid % 4 == 0))))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return ws.catalog_path


@dataclass
class Row:
    format: str
    rows: int
    seconds: float
    rows_per_s: float
    out_mb: float
    peak_rss_mb: float


def run_inventory(home: Path, fmt: str, out: Path, *extra: str) -> tuple[float, float, int]:
    """Seconds and peak RSS (MB) of one `govarc inventory` subprocess; the rows it wrote."""
    if out.exists():
        out.unlink()
    start = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "govarc"), "--home", str(home), "--json", "inventory", "--format", fmt,
                             "--out", str(out), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"govarc inventory --format {fmt} failed ({proc.returncode}): {stderr.decode()}")
    rows = int(json.loads(stdout)["grand_total"]["items"])
    return seconds, usage.ru_maxrss / 1024, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--formats", nargs="+", default=["csv", "xlsx", "json", "html"])
    ap.add_argument("--work", type=Path, default=HERE / "out" / "inventory")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    home = args.work / f"home-{args.records}"
    catalog = home / "catalog.sqlite"
    if not (catalog.exists() and (home / ".filled").exists()):
        shutil.rmtree(home, ignore_errors=True)
        start = time.perf_counter()
        fill_catalog(home, args.records)
        (home / ".filled").write_text(str(args.records))
        print(f"filled a catalog of {args.records:,} records in {time.perf_counter() - start:.1f} s "
              f"({catalog.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    results: list[Row] = []
    for fmt in args.formats:
        out = args.work / f"inventory.{fmt}"
        for extra in (("--agency", SMALL_AGENCY), ()):
            seconds, rss, rows = run_inventory(home, fmt, out, *extra)
            results.append(Row(fmt, rows, round(seconds, 2), round(rows / seconds), round(out.stat().st_size / 1e6, 1),
                               round(rss, 1)))
        out.unlink()
    if args.json:
        print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "results": [asdict(r) for r in results]},
                         indent=2))
        return
    print(f"govarc inventory, {args.records:,} records ({platform.machine()}, {os.cpu_count()} CPUs)")
    print(f"{'format':<7}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'out MB':>10}{'peak RSS MB':>13}")
    for r in results:
        print(f"{r.format:<7}{r.rows:>10,}{r.seconds:>10.2f}{r.rows_per_s:>10,}{r.out_mb:>10.1f}{r.peak_rss_mb:>13.1f}")


if __name__ == "__main__":
    main()
