"""The report's counts that :mod:`govarc.catalog.summary` does not give: records archived per agency
and month, transfer batches by the archives' verdict, and the ingest warnings by code
(specs/report.md). Portable SQL only (see :mod:`govarc.catalog.db`); the warnings JSON is read here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from govarc.catalog.db import Catalog

# A warnings value longer than this, not JSON or not a list of objects with a string code, is
# counted once under UNREADABLE: the report never fails on one odd row, and never parses megabytes.
MAX_WARNINGS_JSON = 256 * 1024
MAX_CODE = 64
UNREADABLE = "(unreadable)"


@dataclass(frozen=True)
class MonthCount:
    """Records of ``agency`` whose package was built in ``month`` (YYYY-MM of ``packaged_at``, UTC)."""

    agency: str
    month: str
    records: int


@dataclass(frozen=True)
class BatchCount:
    """``agency``'s transfer batches by the archives' answer, and the packages in answered batches."""

    agency: str
    accepted: int  # receipted, no package rejected
    rejected: int  # receipted, at least one package rejected
    awaiting: int  # published, no receipt yet
    packages_accepted: int
    packages_duplicate: int
    packages_rejected: int


@dataclass(frozen=True)
class WarningCount:
    """How many warnings of ``code`` the ingest recorded on ``agency``'s records, on how many records."""

    agency: str
    code: str
    warnings: int
    records: int


def _agency_filter(column: str, agencies: Iterable[str] | None) -> tuple[str, tuple[str, ...]]:
    if agencies is None:
        return "", ()
    wanted = tuple(sorted(set(agencies)))
    if not wanted:
        return " AND 0", ()
    return f" AND {column} IN ({','.join('?' * len(wanted))})", wanted


def archived_by_month(catalog: Catalog, agencies: Iterable[str] | None = None) -> list[MonthCount]:
    """Records per agency and month of ``packaged_at`` (archived = packaged), by agency then month."""
    where, params = _agency_filter("agency", agencies)
    rows = catalog.conn.execute(
        "SELECT agency, substr(packaged_at, 1, 7) AS month, COUNT(*) FROM records "
        f"WHERE packaged_at IS NOT NULL{where} GROUP BY agency, month ORDER BY agency, month", params).fetchall()
    return [MonthCount(str(a), str(m), int(n)) for a, m, n in rows]


def batch_counts(catalog: Catalog, agencies: Iterable[str] | None = None) -> list[BatchCount]:
    """Per agency: its published and receipted transfer batches by verdict (open or uploading ones
    are not counted: the archives have not seen them), and the verdicts on their packages."""
    where, params = _agency_filter("b.agency", agencies)
    rows = catalog.conn.execute(
        "SELECT b.agency, b.state, "
        "COALESCE(SUM(CASE WHEN i.verdict = 'accepted' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN i.verdict = 'duplicate' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN i.verdict = 'rejected' THEN 1 ELSE 0 END), 0) "
        "FROM batches b LEFT JOIN batch_items i ON i.batch_id = b.id "
        f"WHERE b.state IN ('published', 'receipted'){where} GROUP BY b.id, b.agency, b.state", params).fetchall()
    acc: dict[str, list[int]] = {}
    for agency, state, acc_n, dup_n, rej_n in rows:
        c = acc.setdefault(str(agency), [0] * 6)
        if state == "published":
            c[2] += 1
        else:
            c[1 if rej_n else 0] += 1
            c[3] += int(acc_n)
            c[4] += int(dup_n)
            c[5] += int(rej_n)
    return [BatchCount(a, *c) for a, c in sorted(acc.items())]


def _codes(text: object) -> list[str]:
    """The codes of one ``records.warnings`` value, or ``[UNREADABLE]``."""
    if not isinstance(text, str) or len(text) > MAX_WARNINGS_JSON:
        return [UNREADABLE]
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return [UNREADABLE]
    if not isinstance(value, list):
        return [UNREADABLE]
    codes = []
    for w in value:
        code = w.get("code") if isinstance(w, dict) else None
        codes.append(code[:MAX_CODE] if isinstance(code, str) and code else UNREADABLE)
    return codes


def warning_counts(catalog: Catalog, agencies: Iterable[str] | None = None) -> list[WarningCount]:
    """Warnings per agency and code, read row by row (streamed), by agency then code."""
    where, params = _agency_filter("agency", agencies)
    acc: dict[tuple[str, str], list[int]] = {}
    cur = catalog.conn.execute(f"SELECT agency, warnings FROM records WHERE warnings <> '[]'{where}", params)
    for agency, text in cur:
        codes = _codes(text)
        for code in codes:
            acc.setdefault((str(agency), code), [0, 0])[0] += 1
        for code in set(codes):
            acc[(str(agency), code)][1] += 1
    return [WarningCount(a, c, n, r) for (a, c), (n, r) in sorted(acc.items())]


def catalog_agencies(catalog: Catalog) -> set[str]:
    """Every agency code the catalog names: in records, transfer batches or messages sent."""
    rows = catalog.conn.execute(
        "SELECT agency FROM records UNION SELECT agency FROM batches UNION SELECT sender FROM messages").fetchall()
    return {str(r[0]) for r in rows}
