"""specs/findings.md and govarc.findings.CODES list the same codes with the same level and kind."""

from __future__ import annotations

import re
from pathlib import Path

from govarc.findings import CODES, Finding

SPEC = Path(__file__).resolve().parents[1] / "specs" / "findings.md"
ROW = re.compile(r"^\|\s*`([A-Z0-9_]+)`\s*\|\s*([a-z]+)\s*\|\s*([a-z]+)\s*\|\s*(.+?)\s*\|\s*$")


def spec_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3), m.group(4)))
        elif line.startswith("| `"):
            raise AssertionError(f"table row that does not parse: {line!r}")
    return rows


def test_spec_table_parses() -> None:
    rows = spec_rows()
    assert len(rows) >= 30
    codes = [r[0] for r in rows]
    assert len(codes) == len(set(codes)), "a code is listed twice in specs/findings.md"


def test_spec_and_code_agree() -> None:
    spec = {code: (level, kind) for code, level, kind, _ in spec_rows()}
    code = {c: (i.level.value, i.kind.value) for c, i in CODES.items()}
    assert set(spec) - set(code) == set(), "in specs/findings.md but not in govarc/findings.py"
    assert set(code) - set(spec) == set(), "in govarc/findings.py but not in specs/findings.md"
    differ = {c: (spec[c], code[c]) for c in spec if spec[c] != code[c]}
    assert differ == {}, "level/kind differ (spec, code)"


def test_every_code_has_a_meaning() -> None:
    for info in CODES.values():
        assert info.meaning.strip() and info.code == info.code.upper()


def test_unknown_codes_are_refused() -> None:
    try:
        Finding("NO_SUCH_CODE", "x", "y")
    except ValueError as e:
        assert "NO_SUCH_CODE" in str(e)
    else:
        raise AssertionError("Finding accepted an unknown code")
