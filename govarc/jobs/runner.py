"""Run a list of steps for one agency, each in its own failure boundary, lock and result.

For every step in order: skip it when a step it needs did not succeed, else announce it, take
its lock, time it and run it. Whatever a step raises (an :class:`Exception`) is its own: it is
recorded as the step's error (one line naming the file, and its exit code; a traceback for an
error govarc did not expect) and the agency's other steps go on unless they need it. An
interrupt (KeyboardInterrupt, SystemExit: any other BaseException) ends the agency: the step is
recorded as ``interrupted``, the later ones as ``not_started``, and the interrupt is handed back
to the caller, who records the run and raises it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from govarc.errors import EXIT_OK, EXIT_UNEXPECTED, DiskFullError, as_govarc_error
from govarc.jobs.steps import Step, StepContext, StepFailed, StepResult, StepStatus
from govarc.lock import LockScope, agency_lock

EXIT_INTERRUPTED = 130
"""What an interrupted step reports (the shell's code for SIGINT)."""
INTERRUPTED = "interrupted before it finished"
NOT_STARTED = "not started"


class RunProgress(Protocol):
    """What a job reports as it goes (the CLI draws it on a terminal)."""

    def step(self, agency: str, step: str) -> None:
        """A step of an agency begins (``ingest``, ``package``, …)."""

    def total(self, n: int) -> None:
        """How many items the current step will go through."""

    def advance(self, n: int) -> None:
        """``n`` more items of the current step are done."""

    def done(self, agency: str) -> None:
        """An agency is through (well or not)."""


def now() -> str:
    """The time now, UTC, to the second (as the run log and the runs table write it)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StepRun:
    """One step of one agency in one run, as the runner recorded it.

    ``error`` (one line, naming the file first when there is one), ``error_path`` and ``exit_code``
    are set for a ``failed``, ``interrupted`` or ``not_started`` step; ``traceback`` only for an
    error govarc did not expect. ``reason`` says why a step was skipped or not applicable.
    """

    step: str
    status: StepStatus
    result: StepResult
    error: str | None = None
    exit_code: int = EXIT_OK
    error_path: str | None = None
    traceback: str | None = field(default=None, compare=False)
    reason: str | None = None
    started_at: str | None = None
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        """Whether the steps that need this one may run: it ended ``ok`` or had nothing to do."""
        return self.status in (StepStatus.OK, StepStatus.NOT_APPLICABLE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "status": self.status.value, "counts": dict(self.result.counts),
            "error": self.error, "error_path": self.error_path, "exit_code": self.exit_code,
            "traceback": self.traceback, "reason": self.reason,
            "started_at": self.started_at, "seconds": round(self.seconds, 3),
        }


def _fullest(folders: Sequence[Path]) -> Path | None:
    """Of the folders that exist, the one with the least room (bytes, or none when out of inodes)."""
    best: tuple[int, Path] | None = None
    for folder in folders:
        try:
            st = os.statvfs(folder)
        except OSError:
            continue
        room = 0 if st.f_files > 0 and st.f_favail == 0 else st.f_bavail * st.f_frsize
        if best is None or room < best[0]:
            best = (room, folder)
    return best[1] if best else None


def _failed(step: Step, ctx: StepContext, e: Exception, started_at: str, seconds: float) -> StepRun:
    """The record of a step that raised ``e``: its error as one line, its exit code, its part done."""
    result = step.empty
    cause: BaseException = e
    if isinstance(e, StepFailed):
        result = e.result
        cause = e.__cause__ or e
    err = as_govarc_error(cause, str(ctx.ws.catalog_path))
    if isinstance(err, DiskFullError) and err.path is None:
        # A write that ran out of space names no file (only an open does): name the folder.
        fullest = _fullest(step.folders(ctx.ws, ctx.party))
        err = DiskFullError(err.message, str(fullest) if fullest else None)
    if err is None:
        return StepRun(step.name, StepStatus.FAILED, result, f"unexpected error: {type(cause).__name__}: {cause}",
                       EXIT_UNEXPECTED, None, "".join(traceback.format_exception(cause)),
                       started_at=started_at, seconds=seconds)
    return StepRun(step.name, StepStatus.FAILED, result, str(err), err.exit_code, err.path,
                   started_at=started_at, seconds=seconds)


def not_started(steps: Sequence[Step]) -> tuple[StepRun, ...]:
    """The records of steps the run did not come to, because it was interrupted."""
    return tuple(StepRun(s.name, StepStatus.NOT_STARTED, s.empty, NOT_STARTED, EXIT_INTERRUPTED) for s in steps)


def run_agency(
    steps: Sequence[Step], ctx: StepContext, progress: RunProgress | None = None,
) -> tuple[tuple[StepRun, ...], BaseException | None]:
    """Run ``steps`` in order for ``ctx.party`` (an agency, or the archives); each step's record, and the interrupt if one came.

    A step runs when every step it ``needs`` that is in ``steps`` succeeded (a step not in the
    list is no obstacle, so that a job may leave steps out). The caller holds the workspace lock;
    a step whose scope is :attr:`LockScope.AGENCY` also holds its agency's lock while it runs.
    """
    done: dict[str, StepRun] = {}
    runs: list[StepRun] = []
    for i, step in enumerate(steps):
        blocked = [n for n in step.needs if n in done and not done[n].succeeded]
        if blocked:
            run = StepRun(step.name, StepStatus.SKIPPED, step.empty,
                          reason=f"needs {', '.join(blocked)}, which did not succeed")
        elif not step.applies(ctx.party):
            run = StepRun(step.name, StepStatus.NOT_APPLICABLE, step.empty, reason=f"nothing to do for {ctx.party.code}")
        else:
            started_at, clock = now(), time.monotonic()
            try:
                if progress:
                    progress.step(ctx.party.code, step.name)
                lock = agency_lock(ctx.ws.home, ctx.party.code) if step.lock is LockScope.AGENCY \
                    else contextlib.nullcontext()
                with lock:
                    result = step.run(ctx)
                run = StepRun(step.name, StepStatus.OK, result, started_at=started_at,
                              seconds=time.monotonic() - clock)
            except Exception as e:  # the step's failure boundary: the steps that do not need it go on
                run = _failed(step, ctx, e, started_at, time.monotonic() - clock)
            except BaseException as e:  # noqa: B902 - recorded here, raised again by the caller
                runs.append(StepRun(step.name, StepStatus.INTERRUPTED, step.empty, INTERRUPTED, EXIT_INTERRUPTED,
                                    started_at=started_at, seconds=time.monotonic() - clock))
                return tuple(runs) + not_started(steps[i + 1:]), e
        done[step.name] = run
        runs.append(run)
    return tuple(runs), None
