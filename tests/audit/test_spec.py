"""specs/audit-log.md and the code agree: the finding codes and their levels."""

from __future__ import annotations

import re
from pathlib import Path

from govarc.findings import CODES

SPEC = Path(__file__).resolve().parents[2] / "specs" / "audit-log.md"


def test_the_spec_lists_every_audit_code_with_its_level() -> None:
    rows = re.findall(r"^\| `(AUDIT_[A-Z_]+)` \| (error|warning) \|", SPEC.read_text(encoding="utf-8"), re.M)
    assert rows == [(c, i.level.value) for c, i in CODES.items() if c.startswith("AUDIT_")]
