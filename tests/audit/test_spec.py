"""specs/audit-log.md and the code agree: the finding codes and their levels, and the actions."""

from __future__ import annotations

import re
from pathlib import Path

from govarc.audit.chain import ACTIONS
from govarc.catalog.states import BatchState
from govarc.findings import CODES

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "audit-log.md"


def test_the_spec_lists_every_audit_code_with_its_level() -> None:
    rows = re.findall(r"^\| `(AUDIT_[A-Z_]+)` \| (error|warning) \|", SPEC.read_text(encoding="utf-8"), re.M)
    assert rows == [(c, i.level.value) for c, i in CODES.items() if c.startswith("AUDIT_")]


def spec_actions() -> list[str]:
    """The actions of the spec's table, in order (``transfer-<state>`` as one per state a batch moves on to)."""
    text = SPEC.read_text(encoding="utf-8")
    table = text[text.index("| action | object | written by |"):text.index("## Canonical serialisation")]
    names: list[str] = []
    for row in re.findall(r"^\| ((?:`[a-z<>-]+`(?:, )?)+) \|", table, re.M):
        for name in re.findall(r"`([a-z<>-]+)`", row):
            if name == "transfer-<state>":
                names += [f"transfer-{s.value}" for s in BatchState if s is not BatchState.OPEN]
            else:
                names.append(name)
    return names


def test_the_spec_lists_every_action_the_code_knows() -> None:
    assert spec_actions() == list(ACTIONS)


# An action named in the source where an event is made: append_one(conn, "x" …), NewEvent("x" …),
# record_event(ws, "x" …), record_certificate(ws, "x" …), and either branch of a conditional name.
_CALL = re.compile(r'(?:append_one\(conn,|NewEvent\(|record_event\(\w+,|record_certificate\(\w+,)\s*'
                   r'(?:"([a-z-]+)" if [^,]+ else "([a-z-]+)"|"([a-z-]+)"|f"transfer-\{)')


def test_every_action_the_code_appends_is_in_the_spec() -> None:
    used: set[str] = set()
    for path in (ROOT / "govarc").rglob("*.py"):
        for m in _CALL.finditer(path.read_text(encoding="utf-8")):
            used.update(n for n in m.groups() if n)
    assert {"init", "config-change", "key-issue", "trust-add", "accept-restart", "sign-for", "return"} <= used
    assert used - set(ACTIONS) == set()
