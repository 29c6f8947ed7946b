"""Collect the report's numbers from the catalog, render them as one HTML page, write it atomically.

The numbers (specs/report.md): records archived per agency and month, records by inventory state,
exchange answers per sending agency, transfer batches by the archives' verdict, warnings by code.
Each number on the page carries ``data-metric="<key>"``; :meth:`ReportData.metrics` gives the same
keys and values, for ``--json`` and for tests.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from govarc.catalog.db import Catalog
from govarc.catalog.report import (
    BatchCount,
    MonthCount,
    WarningCount,
    archived_by_month,
    batch_counts,
    catalog_agencies,
    warning_counts,
)
from govarc.catalog.summary import ExchangeCount, InventoryState, StateCount, exchange_counts, state_counts
from govarc.errors import EXIT_USAGE, GovarcError

INDEX = "index.html"


class OutputExistsError(GovarcError):
    """The report's folder exists (and ``--force`` was not given, or it is not a report's folder)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows; ``agencies`` (code, name) in the order of the page."""

    generated_at: str
    agencies: tuple[tuple[str, str], ...]
    months: tuple[MonthCount, ...]
    states: tuple[StateCount, ...]
    exchange: tuple[ExchangeCount, ...]
    batches: tuple[BatchCount, ...]
    warnings: tuple[WarningCount, ...]

    def month_list(self) -> list[str]:
        return sorted({m.month for m in self.months})

    def warning_codes(self) -> list[str]:
        return sorted({w.code for w in self.warnings})

    def metrics(self) -> dict[str, int]:
        """Every number of the page by its ``data-metric`` key (zeros included)."""
        m: dict[str, int] = {}
        codes = [a for a, _ in self.agencies]
        months = self.month_list()
        by_month = {(x.agency, x.month): x.records for x in self.months}
        states = {(s.agency, s.state): s.records for s in self.states}
        ex = {e.sender: e for e in self.exchange}
        bt = {b.agency: b for b in self.batches}
        warn: dict[str, list[int]] = {}
        for w in self.warnings:
            c = warn.setdefault(w.code, [0, 0])
            c[0] += w.warnings
            c[1] += w.records
        for a in codes:
            for month in months:
                m[f"records.{a}.{month}"] = by_month.get((a, month), 0)
            m[f"records.{a}.total"] = sum(by_month.get((a, month), 0) for month in months)
            for st in InventoryState:
                m[f"packages.{a}.{st.value}"] = states.get((a, st), 0)
            m[f"packages.{a}.total"] = sum(states.get((a, st), 0) for st in InventoryState)
            e = ex.get(a)
            for k in ("messages", "recipients", "delivered", "signed_for", "returned", "overdue"):
                m[f"exchange.{a}.{k}"] = int(getattr(e, k)) if e else 0
            b = bt.get(a)
            for k in ("accepted", "rejected", "awaiting", "packages_accepted", "packages_duplicate", "packages_rejected"):
                m[f"transfers.{a}.{k}"] = int(getattr(b, k)) if b else 0
        for month in months:
            m[f"records.total.{month}"] = sum(by_month.get((a, month), 0) for a in codes)
        m["records.total"] = sum(by_month.get((a, month), 0) for a in codes for month in months)
        for st in InventoryState:
            m[f"packages.total.{st.value}"] = sum(states.get((a, st), 0) for a in codes)
        m["packages.total"] = sum(states.values())
        for code, (n, r) in sorted(warn.items()):
            m[f"warnings.{code}"] = n
            m[f"warnings.{code}.records"] = r
        m["warnings.total"] = sum(n for n, _ in warn.values())
        return m


def collect(catalog: Catalog, agencies: Sequence[tuple[str, str]], *, only: Iterable[str] | None = None,
            now: dt.datetime | None = None) -> ReportData:
    """The report's numbers for the workspace's ``agencies`` (code, name) and any other agency the
    catalog names; ``only`` keeps those codes. ``now`` (timezone-aware) decides what is overdue."""
    now = now or dt.datetime.now(dt.timezone.utc)
    names = dict(agencies)
    for code in sorted(catalog_agencies(catalog) - set(names)):
        names[code] = ""
    wanted = set(only) if only is not None else None
    codes = [c for c in names if wanted is None or c in wanted]
    keep = set(codes)
    return ReportData(
        generated_at=now.isoformat(timespec="seconds"),
        agencies=tuple((c, names[c]) for c in codes),
        months=tuple(archived_by_month(catalog, keep)),
        states=tuple(state_counts(catalog, keep)),
        exchange=tuple(e for e in exchange_counts(catalog, now) if e.sender in keep),
        batches=tuple(batch_counts(catalog, keep)),
        warnings=tuple(warning_counts(catalog, keep)),
    )


def _check_out(out: Path, force: bool) -> None:
    """Refuse an ``out`` that exists unless ``force`` and it is a folder holding only a report."""
    if not os.path.lexists(out):
        return
    if not force:
        raise OutputExistsError("exists; pass --force to replace it", path=str(out))
    if out.is_symlink() or not out.is_dir():
        raise OutputExistsError("exists and is not a folder; not replaced", path=str(out))
    if {p.name for p in out.iterdir()} - {INDEX}:
        raise OutputExistsError(f"holds more than a report ({INDEX}); not replaced", path=str(out))


def write_report(data: ReportData, out: Path, *, force: bool = False) -> Path:
    """Write ``out/index.html``: built in a temporary folder beside ``out``, then renamed into place;
    an existing report folder is replaced only with ``force``. Returns the page's path."""
    from govarc.report.page import render

    out = Path(out)
    _check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old: Path | None = None
    try:
        page = tmp / INDEX
        with open(page, "w", encoding="utf-8", newline="\n") as f:
            f.write(render(data))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o755)
        _check_out(out, force)
        if os.path.lexists(out):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / out.name).exists() and not os.path.lexists(out):
            os.replace(old / out.name, out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out / INDEX
