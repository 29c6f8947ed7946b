"""specs/acceptance.md and govarc.accept.checks.CHECKS list the same checks."""

from __future__ import annotations

import re
from pathlib import Path

from govarc.accept.checks import CHECKS
from govarc.transfer.documents import PROPERTIES

SPEC = Path(__file__).resolve().parents[2] / "specs" / "acceptance.md"


def test_the_spec_and_the_code_list_the_same_checks() -> None:
    rows = re.findall(r"^\| (\d-\d+) \| ([^|]+?) \| ([^|]+?) \|", SPEC.read_text(encoding="utf-8"), re.M)
    assert [(c, n, p) for c, n, p in rows] == [(c.code, c.name, c.property) for c in CHECKS.values()]


def test_every_property_fits_its_code() -> None:
    for c in CHECKS.values():
        assert PROPERTIES[c.code[0]] == c.property
