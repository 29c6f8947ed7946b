"""Rendering for the CLI: JSON for scripts, plain or rich text for people, progress bars on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click


@dataclass
class Output:
    json: bool
    verbose: bool
    quiet: bool
    home: str
    tty: bool

    def emit_json(self, data: Any) -> None:
        import json  # not at import: `govarc --help` never needs it

        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))

    def console(self) -> Any:
        """A rich console; off a terminal it is wide enough that tables are not cut at 80 columns."""
        from rich.console import Console

        return Console() if self.tty else Console(width=160)

    def line(self, text: str = "") -> None:
        if not self.quiet and not self.json:
            click.echo(text)

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None] | None]:
        """A callback for the library that drives a rich bar, on a terminal only (else None)."""
        if not self.tty or self.json or self.quiet:
            yield None
            return
        from rich.progress import (
            BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)

    @contextmanager
    def items_progress(self, description: str) -> Iterator[tuple[Callable[[int], None] | None, Callable[[int], None] | None]]:
        """Callbacks (advance by n items, set the total) for a bar counting items, on a terminal only."""
        if not self.tty or self.json or self.quiet:
            yield None, None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=True) as bar:
            task = bar.add_task(description, total=None)
            yield (lambda n: bar.advance(task, n)), (lambda t: bar.update(task, total=t))

    @contextmanager
    def steps_progress(self, units: int) -> Iterator[StepsBar | None]:
        """A two-line bar for work done in steps over ``units`` units (the nightly job: agencies), on a
        terminal only (else None): one line counts the units, the other the items of the current step."""
        if not self.tty or self.json or self.quiet:
            yield None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True) as bar:
            yield StepsBar(bar, units)


class StepsBar:
    """Drives :meth:`Output.steps_progress`: ``step(unit, name)``, ``total``, ``advance``, ``done(unit)``."""

    def __init__(self, bar: Any, units: int) -> None:
        self.bar = bar
        self.units = bar.add_task("agencies", total=units)
        self.items: Any = None

    def step(self, unit: str, name: str) -> None:
        # A new task, not a reset one: rich cannot set a known total back to "unknown".
        if self.items is not None:
            self.bar.remove_task(self.items)
        self.items = self.bar.add_task(f"{unit}: {name}", total=None)

    def total(self, n: int) -> None:
        if self.items is not None:
            self.bar.update(self.items, total=n)

    def advance(self, n: int) -> None:
        if self.items is not None:
            self.bar.advance(self.items, n)

    def done(self, unit: str) -> None:
        self.bar.advance(self.units, 1)
