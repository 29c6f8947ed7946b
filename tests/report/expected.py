"""The report's numbers computed again, independently of govarc: plain sqlite3 on the catalog file,
the inventory-state rules of specs/inventory.md written out in Python, warnings through SQLite's
json_each, months and deadlines through datetime."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from pathlib import Path

STATES = ("accepted", "rejected", "transferred", "sent", "signed", "packaged", "registered")


def _state(row: sqlite3.Row, items: list[tuple[str | None, str]], sent: bool) -> str:
    if row["state"] == "transferred":
        return "accepted"
    if row["state"] == "rejected":
        return "rejected"
    if any(verdict is None and batch_state == "published" for verdict, batch_state in items):
        return "transferred"
    if sent:
        return "sent"
    if row["package_path"] is not None:
        return "signed" if row["package_signed"] == 1 else "packaged"
    return "registered"


def expected_metrics(catalog: Path, agencies: list[str], now: dt.datetime) -> dict[str, int]:
    """Every data-metric of the report of ``agencies`` at ``now``."""
    conn = sqlite3.connect(f"{catalog.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        m: dict[str, int] = {}
        records = conn.execute("SELECT * FROM records").fetchall()
        items: dict[int, list[tuple[str | None, str]]] = {}
        for r in conn.execute("SELECT bi.record_id, bi.verdict, b.state FROM batch_items bi JOIN batches b ON b.id = bi.batch_id"):
            items.setdefault(r[0], []).append((r[1], r[2]))
        sent = {r[0] for r in conn.execute("SELECT record_id FROM messages WHERE state='sent' AND record_id IS NOT NULL")}
        months: Counter[tuple[str, str]] = Counter()
        states: Counter[tuple[str, str]] = Counter()
        for r in records:
            if r["packaged_at"]:
                at = dt.datetime.fromisoformat(r["packaged_at"]).astimezone(dt.timezone.utc)
                months[(r["agency"], f"{at:%Y-%m}")] += 1
            states[(r["agency"], _state(r, items.get(r["id"], []), r["id"] in sent))] += 1
        month_list = sorted({mo for a, mo in months if a in agencies})
        for a in agencies:
            for mo in month_list:
                m[f"records.{a}.{mo}"] = months[(a, mo)]
            m[f"records.{a}.total"] = sum(months[(a, mo)] for mo in month_list)
            for s in STATES:
                m[f"packages.{a}.{s}"] = states[(a, s)]
            m[f"packages.{a}.total"] = sum(states[(a, s)] for s in STATES)
            # exchange: the recipients of a's messages
            ex = Counter({"messages": conn.execute("SELECT COUNT(*) FROM messages WHERE sender=?", (a,)).fetchone()[0]})
            for deadline, state in conn.execute(
                    "SELECT m.deadline, r.state FROM message_recipients r JOIN messages m ON m.id = r.message_id "
                    "WHERE m.sender=?", (a,)):
                ex["recipients"] += 1
                ex[state] += 1
                if state in ("pending", "delivered") and deadline and dt.datetime.fromisoformat(deadline) < now:
                    ex["overdue"] += 1
            for k in ("messages", "recipients", "delivered", "signed_for", "returned", "overdue"):
                m[f"exchange.{a}.{k}"] = ex[k]
            # transfers: batches by their items' verdicts
            tr: Counter[str] = Counter()
            for (bid, bstate) in conn.execute("SELECT id, state FROM batches WHERE agency=?", (a,)).fetchall():
                verdicts = [v for (v,) in conn.execute("SELECT verdict FROM batch_items WHERE batch_id=?", (bid,))]
                if bstate == "published":
                    tr["awaiting"] += 1
                elif bstate == "receipted":
                    tr["rejected" if "rejected" in verdicts else "accepted"] += 1
                    for v in verdicts:
                        tr[f"packages_{v}"] += 1
            for k in ("accepted", "rejected", "awaiting", "packages_accepted", "packages_duplicate", "packages_rejected"):
                m[f"transfers.{a}.{k}"] = tr[k]
        for mo in month_list:
            m[f"records.total.{mo}"] = sum(months[(a, mo)] for a in agencies)
        m["records.total"] = sum(months[(a, mo)] for a in agencies for mo in month_list)
        for s in STATES:
            m[f"packages.total.{s}"] = sum(states[(a, s)] for a in agencies)
        m["packages.total"] = sum(states[(a, s)] for a in agencies for s in STATES)
        marks = ",".join("?" * len(agencies)) or "NULL"
        warn = conn.execute(
            "SELECT substr(json_extract(j.value, '$.code'), 1, 64) AS code, COUNT(*), COUNT(DISTINCT r.id) "  # codes cut at 64
            f"FROM records r, json_each(r.warnings) j WHERE r.agency IN ({marks}) GROUP BY code", agencies).fetchall()
        for code, n, recs in warn:
            m[f"warnings.{code}"] = n
            m[f"warnings.{code}.records"] = recs
        m["warnings.total"] = sum(n for _, n, _ in warn)
        return m
    finally:
        conn.close()
