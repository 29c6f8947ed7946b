"""specs/limits.md and govarc/limits.py name the same limits with the same values."""

from __future__ import annotations

import re
from pathlib import Path

from govarc import limits

SPEC = Path(__file__).resolve().parents[1] / "specs" / "limits.md"
ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([0-9][0-9_]*)\s*\|\s*(.+?)\s*\|\s*$")


def spec_rows() -> list[tuple[str, int, str]]:
    rows = []
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), int(m.group(2).replace("_", "")), m.group(3)))
        elif line.startswith("| `"):
            raise AssertionError(f"table row that does not parse: {line!r}")
    return rows


def code_limits() -> dict[str, int]:
    """Every MAX_* constant of govarc.limits (KIB and MIB are units, not limits)."""
    return {name: value for name, value in vars(limits).items() if name.startswith("MAX_") and isinstance(value, int)}


def test_spec_table_parses() -> None:
    rows = spec_rows()
    assert len(rows) >= 10
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), "a limit is listed twice in specs/limits.md"
    for _, value, applies in rows:
        assert value > 0 and applies.strip()


def test_spec_and_code_agree() -> None:
    spec = {name: value for name, value, _ in spec_rows()}
    code = code_limits()
    assert set(spec) - set(code) == set(), "in specs/limits.md but not in govarc/limits.py"
    assert set(code) - set(spec) == set(), "in govarc/limits.py but not in specs/limits.md"
    assert {n: (spec[n], code[n]) for n in spec if spec[n] != code[n]} == {}, "values differ (spec, code)"


def test_every_limit_is_documented_in_the_code() -> None:
    """Each constant carries a docstring (the string literal right after it) saying what it bounds."""
    source = Path(limits.__file__).read_text(encoding="utf-8")
    for name in code_limits():
        assert re.search(rf"^{name} = .+\n\"\"\"\S", source, re.MULTILINE), f"{name} has no docstring"


def test_limits_hold_together() -> None:
    """What the builder may write stays inside what verify reads."""
    assert limits.MAX_ZIP_ENTRIES > limits.MAX_PACKAGE_FILES
    assert limits.MAX_LINE_BYTES < limits.MAX_TAG_FILE_BYTES
    assert limits.MAX_FIELD_CHARS * 4 < limits.MAX_LINE_BYTES  # one value in UTF-8 fits a bag-info line
