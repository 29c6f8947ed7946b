"""specs/inventory.md and the code agree: columns, totals, states and the neutralised characters."""

from __future__ import annotations

import re
from pathlib import Path

from govarc.catalog.summary import STATE_LABELS, InventoryState
from govarc.inventory.columns import COLUMNS, FORMULA_TRIGGERS, TOTAL_COLUMNS

SPEC = Path(__file__).resolve().parents[2] / "specs" / "inventory.md"


def section(title: str) -> list[list[str]]:
    """The rows of the first table under ``## title`` (header and rule left out), cells stripped of backticks."""
    text = SPEC.read_text(encoding="utf-8")
    part = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    return [[c.strip().strip("`") for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines[2:]]


def test_the_columns_are_the_specs() -> None:
    assert [tuple(r[:3]) for r in section("Columns")] == [(c.key, c.zh, c.en) for c in COLUMNS]


def test_the_totals_are_the_specs() -> None:
    assert [tuple(r[:3]) for r in section("Totals")] == [(c.key, c.zh, c.en) for c in TOTAL_COLUMNS]


def test_the_states_are_the_specs_in_order() -> None:
    assert [tuple(r[:2]) for r in section("States")] == [(s.value, STATE_LABELS[s]) for s in InventoryState]


def test_the_neutralised_characters_are_the_specs() -> None:
    points = [r[0] for r in section("Formula neutralisation")]
    assert [chr(int(p[2:], 16)) for p in points] == list(FORMULA_TRIGGERS)
