#!/usr/bin/env python3
"""What the audit trail adds to the nightly: the catalog writes of ingest and package, with and without their events.

Registers ``--records`` synthetic records (:func:`govarc.ingest.register.register_batch`, batches of
``--batch``, as the ingest step does) and records their packages
(:func:`govarc.catalog.packages.mark_packaged`, the same batches), in a fresh catalog each run,
once as shipped (one ``ingest`` and one ``package`` event per record, appended in the same
transaction) and once with the append replaced by a no-op; prints the median seconds of
``--repeat`` runs, µs per record and the difference. A second table times
:func:`govarc.catalog.audit.append` alone: events/s in transactions of 1, 64 and 1,000 events,
and the checkpoint (unsigned, and signed with an EC P-256 key) that anchors them.

No PDF is read: the records are what inspection would hand over, so the table shows the catalog
cost alone, which is where the trail's cost lies (a nightly record also costs its PDF inspection
and its package build, tens of milliseconds).

    .venv/bin/python bench/audit_bench.py                   # 5,000 records, batches of 64, 3 runs
    .venv/bin/python bench/audit_bench.py --records 20000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"  # git-ignored; each run works in a temporary folder there
sys.path.insert(0, str(HERE.parent))

from govarc.catalog import audit as audit_sql  # noqa: E402
from govarc.catalog.db import open_catalog  # noqa: E402
from govarc.catalog.packages import PackagedRow, mark_packaged  # noqa: E402
from govarc.domain import Agency  # noqa: E402
from govarc.ingest.prepare import Prepared, PreparedFile  # noqa: E402
from govarc.ingest.register import register_batch  # noqa: E402
from govarc.ingest.sources import Item  # noqa: E402

AGENCY = Agency(code="SZF", name="柳州市人民政府办公室", fonds="0012", fonds_name="柳州市人民政府办公室", unit="BGS")


def prepared(n: int, folder: Path) -> list[Prepared]:
    """``n`` records as inspection hands them to registration (one PDF each, distinct content)."""
    out = []
    for i in range(1, n + 1):
        main = folder / f"柳政发〔2024〕{i}号.pdf"
        pf = PreparedFile(main, main.name, "main", 120_000 + i, f"{i:064x}", "application/pdf", "PDF", "1.7", 2)
        fields = {"title": f"关于第{i}项工作的通知", "document_number": f"柳政发〔2024〕{i}号", "date": "2024-03-01",
                  "year": 2024, "retention": "Y", "category": "WS", "unit": "BGS", "classification": "公开",
                  "responsible": "柳州市人民政府"}
        out.append(Prepared(Item(main), (pf,), fields, ()))
    return out


@contextmanager
def appends_disabled(disabled: bool) -> Iterator[None]:
    """With ``disabled``, :func:`govarc.catalog.audit.append` does nothing (as before the audit trail)."""
    original = audit_sql.append
    if disabled:
        audit_sql.append = lambda conn, events, **kw: 0  # type: ignore[assignment]
    try:
        yield
    finally:
        audit_sql.append = original  # type: ignore[assignment]


def one_run(items: list[Prepared], batch: int, disabled: bool) -> tuple[float, float, int]:
    """Seconds to register and to mark packaged every item in a fresh catalog, and the events written."""
    with tempfile.TemporaryDirectory(dir=OUT) as tmp, open_catalog(Path(tmp) / "catalog.sqlite") as cat:
        with appends_disabled(disabled):
            t0 = time.perf_counter()
            ids: list[int] = []
            for k in range(0, len(items), batch):
                ids += [o.record_id for o in register_batch(cat, AGENCY, items[k:k + batch], "2026-01-01T00:00:00")
                        if o.record_id is not None]
            t1 = time.perf_counter()
            for k in range(0, len(ids), batch):
                mark_packaged(cat, [PackagedRow(r, f"SZF/{r}", f"{r:064x}", 200_000, True, "2026-01-01T00:00:01")
                                    for r in ids[k:k + batch]])
            t2 = time.perf_counter()
        events = cat.conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
        return t1 - t0, t2 - t1, int(events)


def append_rate(total: int, per_tx: int) -> float:
    """Events/s of :func:`append` alone in transactions of ``per_tx`` events."""
    from govarc.audit.chain import NewEvent

    with tempfile.TemporaryDirectory(dir=OUT) as tmp, open_catalog(Path(tmp) / "catalog.sqlite") as cat:
        ev = [NewEvent("ingest", f"0012-WS·2024-Y-BGS-{i:04d}", "SZF", details={"record": i, "version": 1})
              for i in range(per_tx)]
        t0 = time.perf_counter()
        for _ in range(max(1, total // per_tx)):
            with cat.write() as conn:
                audit_sql.append(conn, ev)
        return max(1, total // per_tx) * per_tx / (time.perf_counter() - t0)


def checkpoint_seconds(signed: bool) -> float:
    """One checkpoint of a 1,000-event chain (unsigned, or signed with an EC P-256 key), median of 5."""
    from govarc.audit.chain import NewEvent
    from govarc.audit.checkpoint import write_checkpoint
    from govarc.sign.keys import KeyAlgorithm
    from govarc.sign.pki import init_ca, issue_agency, load_ca
    from govarc.workspace import Settings, Workspace

    times = []
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        home = Path(tmp)
        signer = None
        if signed:
            init_ca(home / "pki", "bench CA", b"bench", KeyAlgorithm.EC_P256, 30)
            creds = issue_agency(load_ca(home / "pki", b"bench"), home / "keys", "SZF", "bench", b"bench")
            signer = ("SZF", creds)
        ws = Workspace(home, Settings(home=home))
        with open_catalog(home / "catalog.sqlite") as cat:
            for k in range(5):
                with cat.write() as conn:
                    audit_sql.append(conn, [NewEvent("ingest", f"X-{k}-{i}", "SZF") for i in range(1000)])
                t0 = time.perf_counter()
                write_checkpoint(ws, cat.conn, signer)
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median(runs: list[tuple[float, float, int]], i: int) -> float:
    return statistics.median(r[i] for r in runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=64, help="records per transaction (the ingest step's batch)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    items = prepared(args.records, OUT / "audit-drop")
    with_runs: list[tuple[float, float, int]] = []
    without_runs: list[tuple[float, float, int]] = []
    for _ in range(args.repeat):  # interleaved, so that a busy moment hits both
        with_runs.append(one_run(items, args.batch, disabled=False))
        without_runs.append(one_run(items, args.batch, disabled=True))
    n = args.records
    rows: list[dict[str, Any]] = []
    for label, i in (("register_batch", 0), ("mark_packaged", 1)):
        a, b = median(with_runs, i), median(without_runs, i)
        rows.append({"step": label, "with_s": a, "without_s": b, "with_us": a / n * 1e6, "without_us": b / n * 1e6,
                     "added_us": (a - b) / n * 1e6, "added_pct": (a - b) / b * 100})
    rates = {per: append_rate(20_000, per) for per in (1, 64, 1000)}
    cps = {"unsigned": checkpoint_seconds(False), "signed": checkpoint_seconds(True)}
    if args.json:
        print(json.dumps({"records": n, "batch": args.batch, "events": with_runs[0][2], "steps": rows,
                          "append_events_per_s": rates, "checkpoint_s": cps}, ensure_ascii=False, indent=2))
        return 0
    print(f"# {platform.python_version()} sqlite {__import__('sqlite3').sqlite_version}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; {n} records, {args.batch} per transaction, median of {args.repeat}")
    print("登记 register_batch, 打包登记 mark_packaged: 有/无审计事件 with/without audit events")
    print(f"{'step':<24}{'with s':>9}{'without s':>11}{'µs/rec with':>13}{'µs/rec without':>16}{'added µs':>10}{'added':>8}")
    for r in rows:
        print(f"{r['step']:<24}{r['with_s']:>9.3f}{r['without_s']:>11.3f}{r['with_us']:>13.1f}{r['without_us']:>16.1f}"
              f"{r['added_us']:>10.1f}{r['added_pct']:>7.1f}%")
    print(f"events written per run: {with_runs[0][2]} (without: {without_runs[0][2]})")
    print()
    print(f"{'append alone':<24}{'events/s':>12}{'µs/event':>10}")
    for per, rate in rates.items():
        print(f"{f'{per} per transaction':<24}{rate:>12,.0f}{1e6 / rate:>10.1f}")
    print(f"checkpoint: unsigned {cps['unsigned'] * 1000:.1f} ms, signed (EC P-256) {cps['signed'] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
