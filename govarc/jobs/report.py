"""What a run of the nightly job reports: per agency, per step; its exit code, status and run log.

The run log (``logs/nightly-<time>-<pid>.json``, :meth:`NightlyReport.as_dict`) and the ``runs``
row's summary (:meth:`NightlyReport.summary`) are described in ``specs/run-log.md``.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from govarc.catalog.runs import RunStatus
from govarc.errors import (
    EXIT_CONFIG, EXIT_DISK_FULL, EXIT_INVALID, EXIT_LOCKED, EXIT_OK, EXIT_SIGNATURE, EXIT_TRANSFER, EXIT_UNEXPECTED,
    GovarcError,
)
from govarc.findings import Finding, Level
from govarc.jobs.runner import EXIT_INTERRUPTED, StepRun
from govarc.jobs.spool import Rows, Spool, summary, write_json
from govarc.jobs.steps import StepStatus

LOG_VERSION = 1
"""The run log's format version: fields are only ever added within a version."""

# Which exit code the run's is when several steps failed: the one an operator must act on first.
# A full disk stops every later night, a bug needs a developer, a configuration error an
# administrator, a held agency lock only waiting; a refused document (or, with --strict, a warning)
# a clerk.
_SEVERITY = (EXIT_DISK_FULL, EXIT_UNEXPECTED, EXIT_CONFIG, EXIT_SIGNATURE, EXIT_TRANSFER, EXIT_LOCKED, EXIT_INVALID)


@dataclass(frozen=True)
class AgencyRun:
    """One agency's part of a run: a record per step of the job, in order.

    ``error`` (and ``error_exit``, ``error_path``, ``detail``) are those of its first step that
    failed or did not finish; None when every step went through.
    """

    code: str
    steps: tuple[StepRun, ...]

    def step(self, name: str) -> StepRun | None:
        """The record of step ``name``; None when the job has no such step."""
        return next((s for s in self.steps if s.step == name), None)

    def report(self, name: str) -> Any:
        """Step ``name``'s own report (e.g. the ingest report), None when it did not run."""
        s = self.step(name)
        return s.result.report if s is not None else None

    @property
    def failed(self) -> tuple[StepRun, ...]:
        """The steps that raised an error (each is one line on stderr)."""
        return tuple(s for s in self.steps if s.status is StepStatus.FAILED)

    @property
    def _first_error(self) -> StepRun | None:
        return next((s for s in self.steps if s.error is not None), None)

    @property
    def error(self) -> str | None:
        s = self._first_error
        return s.error if s else None

    @property
    def error_exit(self) -> int:
        s = self._first_error
        return s.exit_code if s else EXIT_OK

    @property
    def error_path(self) -> str | None:
        s = self._first_error
        return s.error_path if s else None

    @property
    def detail(self) -> str | None:
        """The traceback of an error govarc did not expect."""
        s = self._first_error
        return s.traceback if s else None

    @property
    def counts(self) -> dict[str, int]:
        """Every step's counts (``registered``, ``refused``, ``packaged``, …), zero for steps that did not run."""
        out: Counter[str] = Counter()
        for s in self.steps:
            out.update(s.result.counts)
        return {k: out[k] for k in out}

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The warnings of this agency's documents that steps gave as findings (the ingest step
        spools its own: :attr:`warning_rows`)."""
        return tuple(f for s in self.steps for f in s.result.findings if f.level is Level.WARNING)

    @property
    def warning_counts(self) -> Counter[str]:
        """How many warnings of each code this agency's documents had, over every step."""
        out: Counter[str] = Counter(w.code for w in self.warnings)
        for s in self.steps:
            if s.result.warning_counts is not None:
                out.update(s.result.warning_counts)
        return out

    @property
    def warning_rows(self) -> Rows:
        """Every warning of this agency's documents, as the run log lists them."""
        parts: list[Spool | list[Any]] = []
        for s in self.steps:
            found = [f.as_dict() for f in s.result.findings if f.level is Level.WARNING]
            if found:
                parts.append(found)
            if s.result.warnings is not None:
                parts.append(s.result.warnings)
        return Rows(parts)

    def as_dict(self) -> dict[str, Any]:
        """This agency's entry in the run log; per-record lists are :class:`~govarc.jobs.spool.Spool`
        and :class:`~govarc.jobs.spool.Rows` (see :func:`~govarc.jobs.spool.write_json`)."""
        fields: dict[str, Any] = {}
        for s in self.steps:
            fields.update(s.result.log)
        return {
            "agency": self.code, **fields,
            "warnings": self.warning_rows,
            "error": self.error, "error_path": self.error_path, "exit_code": self.error_exit, "traceback": self.detail,
            "steps": [s.as_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class NightlyReport:
    """A whole run: every agency's steps, when it ran, its log, and its bottom line (:attr:`exit_code`)."""

    started_at: str
    finished_at: str
    agencies: tuple[AgencyRun, ...]
    log_path: str
    strict: bool = False
    interrupted: bool = False
    run_id: int | None = None
    closed_stale: tuple[int, ...] = ()
    steps: tuple[str, ...] = ()
    role: str = "agency"
    log_error: GovarcError | None = field(default=None, compare=False)

    @property
    def refused(self) -> bool:
        """Whether a document was refused (a step counted ``refused`` items)."""
        return any(a.counts.get("refused", 0) > 0 for a in self.agencies)

    @property
    def warnings(self) -> dict[str, int]:
        """How many warnings of each code this run met, over every agency."""
        counts: Counter[str] = Counter()
        for a in self.agencies:
            counts.update(a.warning_counts)
        return dict(sorted(counts.items()))

    @property
    def exit_code(self) -> int:
        """130 when interrupted; else the worst failed step's exit code; else 3 when a document was
        refused (or, with ``strict``, when there was a warning); else 0. Ranked: 8 (disk full), 1,
        6, 4, 5, 7, 3."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        codes = {s.exit_code for a in self.agencies for s in a.steps if s.error is not None}
        if self.log_error is not None:
            codes.add(self.log_error.exit_code)
        for code in _SEVERITY:
            if code in codes:
                return code
        if codes:
            return min(codes)
        if self.refused or (self.strict and self.warnings):
            return EXIT_INVALID
        return EXIT_OK

    @property
    def status(self) -> RunStatus:
        """`interrupted`, else `ok` exactly when the exit code is 0, else `failed`."""
        if self.interrupted:
            return RunStatus.INTERRUPTED
        return RunStatus.OK if self.exit_code == EXIT_OK else RunStatus.FAILED

    def summary(self) -> dict[str, Any]:
        """What the `runs` row keeps: per agency counts, error and step statuses, and the warnings."""
        return {
            "pid": os.getpid(), "log": self.log_path, "role": self.role, "exit_code": self.exit_code,
            "warnings": self.warnings,
            "closed_stale": list(self.closed_stale),
            "agencies": {a.code: {**a.counts, "error": a.error, "steps": {s.step: s.status.value for s in a.steps}}
                         for a in self.agencies},
        }

    def as_dict(self) -> dict[str, Any]:
        """The run log in summary: every per-record list (``items``, ``packaged``, ``warnings``)
        cut to its first :data:`~govarc.jobs.spool.SAMPLE` rows (what ``--json`` prints; the log
        file has them all)."""
        return summary(self.log())  # type: ignore[no-any-return]

    def write_log(self, f: IO[str]) -> None:
        """Write the run log (``specs/run-log.md``) to ``f``, every per-record row copied from its
        spool as it comes."""
        write_json(self.log(), f)

    def log(self) -> dict[str, Any]:
        """The run log (``specs/run-log.md``), its per-record lists as spools."""
        return {
            "log_version": LOG_VERSION,
            "run": self.run_id, "started_at": self.started_at, "finished_at": self.finished_at, "log": self.log_path,
            "status": self.status.value, "exit_code": self.exit_code, "strict": self.strict,
            "refused": self.refused, "warnings": self.warnings, "closed_stale": list(self.closed_stale),
            "log_error": str(self.log_error) if self.log_error else None,
            "role": self.role, "steps": list(self.steps),
            "agencies": [a.as_dict() for a in self.agencies],
        }
