"""Fake steps and a small two-agency workspace (no documents) for the job machinery's tests."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from govarc.admin import init_workspace
from govarc.catalog.identity import open_workspace_catalog
from govarc.domain import Agency
from govarc.jobs.steps import StepContext, StepFailed, StepResult
from govarc.lock import LockScope
from govarc.workspace import Workspace

CITY = """
[[agency]]
code = "SZF"
name = "柳州市人民政府办公室"
fonds = "0012"
unsigned = true

[[agency]]
code = "CZJ"
name = "柳州市财政局"
fonds = "0035"
unsigned = true
"""


@dataclass(frozen=True)
class FakeStep:
    """A step that records its call in ``calls`` and then does what ``action`` says, per agency.

    ``action(agency_code)`` returns a StepResult, or raises to fail the step.
    """

    name: str
    calls: list[tuple[str, str]]
    action: Callable[[StepContext], StepResult] = lambda ctx: StepResult({"done": 1})
    needs: tuple[str, ...] = ()
    lock: LockScope = LockScope.WORKSPACE
    only: tuple[str, ...] | None = None  # the agencies it applies to (None: all)
    writes: tuple[Path, ...] = field(default=())

    @property
    def empty(self) -> StepResult:
        return StepResult({"done": 0}, log={self.name: None})

    def applies(self, agency: Agency) -> bool:
        return self.only is None or agency.code in self.only

    def folders(self, ws: Workspace, agency: Agency) -> tuple[Path, ...]:
        return self.writes

    def run(self, ctx: StepContext) -> StepResult:
        self.calls.append((ctx.agency.code, self.name))
        return self.action(ctx)


def raises(error: BaseException, *, on: str | None = None) -> Callable[[StepContext], StepResult]:
    """An action that raises ``error`` (for agency ``on`` only, when given), else does its work."""
    def action(ctx: StepContext) -> StepResult:
        if on is None or ctx.agency.code == on:
            raise error
        return StepResult({"done": 1}, log={"what": ctx.agency.code})
    return action


def partly(done: int, error: Exception) -> Callable[[StepContext], StepResult]:
    """An action that does ``done`` items and then fails with ``error``, keeping the part done."""
    def action(ctx: StepContext) -> StepResult:
        try:
            raise error
        except Exception as e:
            raise StepFailed(StepResult({"done": done}, log={"what": "part"})) from e
    return action


def enospc() -> OSError:
    """A write that ran out of room: no file named (as a write(2), unlike an open(2), says it)."""
    return OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    city = tmp_path / "city.toml"
    city.write_text(CITY, encoding="utf-8")
    workspace, _ = init_workspace(tmp_path / "home", city)
    return workspace


@pytest.fixture
def ctx_for(ws: Workspace) -> Iterator[Callable[[str], StepContext]]:
    """``ctx_for(code)``: a step context for that agency of ``ws`` (its catalog open)."""
    with open_workspace_catalog(ws) as cat:
        yield lambda code: StepContext(ws, cat, ws.agency(code))


class Progress:
    """A run progress that remembers what it heard."""

    def __init__(self) -> None:
        self.heard: list[Any] = []

    def step(self, agency: str, step: str) -> None:
        self.heard.append(("step", agency, step))

    def total(self, n: int) -> None:
        self.heard.append(("total", n))

    def advance(self, n: int) -> None:
        self.heard.append(("advance", n))

    def done(self, agency: str) -> None:
        self.heard.append(("done", agency))
