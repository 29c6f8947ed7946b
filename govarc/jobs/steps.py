"""What a job step is: the :class:`Step` protocol, the context it runs in, and what it returns.

A job (the nightly job) is a list of steps run for every party of the workspace in order: in an
agency workspace every agency (:class:`~govarc.domain.Agency`), in an archives workspace the
archives itself (:class:`Archives`). A step does one piece of work for one party (ingest its drop
folder, package what is new, transfer, import receipts; at the archives, accept what arrived)
and knows nothing of the others: the runner
(:mod:`govarc.jobs.runner`) gives every step its own failure boundary, lock, timing and result,
and skips a step whose ``needs`` did not succeed. Adding a step is writing one class and
appending it to the job's list (:data:`govarc.jobs.nightly.NIGHTLY_STEPS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from govarc.catalog.db import Catalog
from govarc.domain import Agency
from govarc.findings import Finding
from govarc.jobs.spool import Journal, Spool
from govarc.lock import LockScope
from govarc.sign.pki import Credentials
from govarc.sign.signer import Signer
from govarc.workspace import Workspace


@dataclass(frozen=True)
class Archives:
    """The archives itself, the one party the job of an archives workspace runs its steps for.

    ``code`` is the archives' code (``[holdings] code``, what its certificate carries), ``name``
    its name; the run log's entry for it is keyed by the code, as an agency's is.
    """

    code: str
    name: str


Party = Agency | Archives
"""Whom a step works for: an agency (agency workspace) or the archives (archives workspace)."""


class StepStatus(str, Enum):
    """How a step of an agency ended, as the run log says it."""

    OK = "ok"
    FAILED = "failed"  # raised: its error is recorded, the steps that need it are skipped
    SKIPPED = "skipped"  # a step it needs did not succeed
    NOT_APPLICABLE = "not_applicable"  # nothing to do for this agency (ingest without a drop folder)
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM came while it ran
    NOT_STARTED = "not_started"  # the run was interrupted before it came to this step


class ItemProgress(Protocol):
    """How a step reports its items as it goes (the CLI draws a bar)."""

    def total(self, n: int) -> None:
        """How many items the step will go through."""

    def advance(self, n: int) -> None:
        """``n`` more items are done."""


class _Silent:
    def total(self, n: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


SILENT: ItemProgress = _Silent()


@dataclass(frozen=True)
class StepContext:
    """Everything a step of one party may use; the runner makes one per party.

    ``party`` is the agency (or, in an archives workspace, the archives) the step works for;
    agency steps read it as :attr:`agency`. ``signer`` is the agency's signing key, ``key`` the
    archives' key and certificate (countersignatures, receipts), each loaded before the run changed
    anything (None when there is none). ``workers`` is the number of processes a step may start
    (0: the workspace's setting). ``journal`` holds the run's per-record rows on disk until the
    run log is written (:mod:`govarc.jobs.spool`).
    """

    ws: Workspace
    catalog: Catalog
    party: Party
    signer: Signer | None = None
    workers: int = 0
    progress: ItemProgress = SILENT
    key: Credentials | None = field(default=None, repr=False)
    journal: Journal | None = field(default=None, repr=False)

    def spool(self) -> Spool:
        """A list for per-record rows of the run log: on disk in the run's journal (kept in memory
        without one)."""
        return self.journal.spool() if self.journal is not None else Spool(None)

    @property
    def agency(self) -> Agency:
        """The agency the step works for; TypeError when the party is the archives (a step of an
        agency job listed in an archives job: its ``applies`` should have said no)."""
        if not isinstance(self.party, Agency):
            raise TypeError(f"{self.party.code} is the archives, not an agency")
        return self.party


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class StepResult:
    """What a step returns (or carries in a :class:`StepFailed`): counts, findings, log fields.

    ``counts`` are what the runs table and ``--verbose`` sum up (``refused`` > 0 makes the run's
    exit code 3). ``findings`` are the documents' findings (warnings are summed up per code).
    ``log`` holds the fields the step adds to its agency's entry in the run log (kept flat there
    for the readers of the log format version 1). ``report`` is the step's own report for library
    callers (an :class:`~govarc.ingest.pipeline.IngestReport`, the packages built), not logged.
    A step with many documents gives its warnings as ``warnings`` (rows of ``Finding.as_dict``,
    spooled) and ``warning_counts`` (per code) instead of in ``findings``.
    """

    counts: Mapping[str, int] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    log: Mapping[str, Any] = field(default_factory=dict)
    report: Any = field(default=None, compare=False)
    warnings: Spool | None = field(default=None, compare=False)
    warning_counts: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _frozen(self.counts))
        object.__setattr__(self, "log", _frozen(self.log))
        if self.warning_counts is not None:
            object.__setattr__(self, "warning_counts", _frozen(self.warning_counts))


class StepFailed(Exception):
    """Raised by a step that failed after doing part of its work: ``result`` is the part done.

    Raise it ``from`` the cause; the runner records the cause as the step's error.
    """

    def __init__(self, result: StepResult) -> None:
        super().__init__("step failed after part of its work")
        self.result = result


class Step(Protocol):
    """One step of a job, for one party (an agency, or the archives) at a time.

    ``name``: how the run log, the progress display and a later ``[nightly] steps`` setting call
    it. ``needs``: the earlier steps that must have succeeded (or had nothing to do) for it to run;
    when one of them failed or was skipped, so is this one; a step not in ``needs`` failing does
    not stop it. ``lock``: the lock scope it runs under (:class:`~govarc.lock.LockScope`).
    ``empty``: its result when it did not run or did not finish (zero counts, empty log fields), so
    that every party's log entry has the same fields.
    """

    @property
    def name(self) -> str: ...

    @property
    def needs(self) -> tuple[str, ...]: ...

    @property
    def lock(self) -> LockScope: ...

    @property
    def empty(self) -> StepResult: ...

    def applies(self, party: Party) -> bool:
        """Whether the step has anything to do for ``party`` (else it is ``not_applicable``): an
        agency step says no to the archives, the archives' steps to an agency."""

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        """The folders the step writes: the one with the least room is named when a write runs out
        of space without naming its file."""

    def run(self, ctx: StepContext) -> StepResult:
        """Do the step's work for ``ctx.party``; raise to fail (:class:`StepFailed` to keep a part)."""
