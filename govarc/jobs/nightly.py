"""The nightly archiving job: for every agency, its list of steps (today ``ingest``, then ``package``).

Holds the workspace lock from start to end (a second run exits 7 at once), writes a run log, and
is safe to re-run after a crash at any point: ingest is keyed by content digest, packages are
built atomically and adopted when a crash came between build and catalog update.

Every step of every agency runs in its own failure boundary (:mod:`govarc.jobs.runner`): whatever
goes wrong in one (a missing drop folder, a read-only or full store, a bug) is recorded for it,
the agency's steps that need it are skipped, and the other agencies go on. Every run ends
recorded: the run log is written and fsynced and the `runs` row finished (`ok`, `failed`,
`interrupted`), also when the run is interrupted (KeyboardInterrupt, or SIGTERM turned into one
by the CLI); a row left `running` by a killed run is closed as `interrupted` by the next run.

The job is per role (:data:`JOBS`): an agency workspace runs :data:`NIGHTLY_STEPS` for each of its
agencies; an archives workspace (``[workspace] role = "archives"``) has no agencies and runs
:data:`ARCHIVES_STEPS` (``accept``) once, for the archives itself (:class:`~govarc.jobs.steps.Archives`),
whose entry in the run log is keyed by the archives' code.

Adding a step is appending it to its role's list; a later ``[nightly] steps`` setting
would pass :func:`steps_named` of its names as ``steps``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from govarc.audit.checkpoint import anchor_if_due
from govarc.catalog.identity import open_workspace_catalog
from govarc.catalog.runs import close_stale_runs, finish_run, start_run
from govarc.domain import Agency
from govarc.errors import ConfigError, GovarcError, as_govarc_error, from_os_error
from govarc.fsutil import atomic_write
from govarc.jobs.accept_step import AcceptStep
from govarc.jobs.exchange_step import ExchangeReceiveStep, ExchangeStatusStep
from govarc.jobs.ingest_step import IngestStep
from govarc.jobs.package_step import PackageStep
from govarc.jobs.transfer_step import ReceiptsStep, TransferStep
from govarc.jobs.report import AgencyRun, NightlyReport
from govarc.jobs.runner import RunProgress, now, not_started, run_agency
from govarc.jobs.spool import Journal
from govarc.jobs.steps import SILENT, Archives, Party, Step, StepContext
from govarc.lock import run_lock
from govarc.sign.pki import Credentials
from govarc.sign.signer import Signer
from govarc.workspace import ROLE_AGENCY, ROLE_ARCHIVES, Workspace

KIND = "nightly"

NIGHTLY_STEPS: tuple[Step, ...] = (IngestStep(), PackageStep(), TransferStep(), ReceiptsStep(), ExchangeReceiveStep(),
                                   ExchangeStatusStep())
"""The nightly job's steps in an agency workspace, in the order each agency runs them."""

ARCHIVES_STEPS: tuple[Step, ...] = (AcceptStep(),)
"""The nightly job's steps in an archives workspace, run once, for the archives."""

JOBS: Mapping[str, tuple[Step, ...]] = {ROLE_AGENCY: NIGHTLY_STEPS, ROLE_ARCHIVES: ARCHIVES_STEPS}
"""The nightly job's steps per workspace role (``[workspace] role``)."""

STEPS: Mapping[str, Step] = {s.name: s for steps in JOBS.values() for s in steps}
"""Every step a job may name."""


def parties(ws: Workspace) -> tuple[Party, ...]:
    """Whom the job of ``ws`` runs its steps for: every agency, in the order of govarc.toml; in an
    archives workspace the archives alone."""
    if ws.is_archives:
        h = ws.holdings
        return (Archives(h.code, h.name),)
    return ws.agencies


def steps_named(names: Sequence[str]) -> tuple[Step, ...]:
    """The steps called ``names``, in that order; ConfigError for an unknown name, a name twice, or
    a step listed before a step it needs (it would never wait for it)."""
    out: list[Step] = []
    for name in names:
        if name not in STEPS:
            raise ConfigError(f"unknown step {name!r}; known: {', '.join(STEPS)}")
        if any(s.name == name for s in out):
            raise ConfigError(f"step {name!r} is listed twice")
        out.append(STEPS[name])
    for i, step in enumerate(out):
        later = [n for n in step.needs if any(s.name == n for s in out[i + 1:])]
        if later:
            raise ConfigError(f"step {step.name!r} needs {', '.join(later)}, which must come before it")
    return tuple(out)


def _write_log(path: Path, report: NightlyReport) -> None:
    """Write the run log atomically and durably (:func:`govarc.fsutil.atomic_write`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8")
        try:
            report.write_log(text)
        finally:
            text.detach()  # flushes; the file stays atomic_write's to close


def run_nightly(
    ws: Workspace,
    *,
    signer_for: Callable[[Agency], Signer | None] | None = None,
    workers: int = 0,
    strict: bool = False,
    progress: RunProgress | None = None,
    steps: Sequence[Step] | None = None,
    archives_key: Callable[[], Credentials | None] | None = None,
    audit_signer: Callable[[], tuple[str, Credentials] | None] | None = None,
    journal: Journal | None = None,
) -> NightlyReport:
    """Run ``steps`` (default: the role's, :data:`JOBS`) for every party of ``ws`` (:func:`parties`),
    in order; ``progress`` hears of each step.

    A step that fails (a missing drop folder, a read-only or full store, a record that cannot be
    packaged) is reported in its agency's :class:`AgencyRun` and the run goes on with the others:
    in a city of a hundred agencies one broken export must not stop the rest. Signing keys are
    loaded before anything changes (``signer_for`` each agency's, ``archives_key`` the archives'
    own in an archives workspace). With ``strict``, a warning makes the exit code 3. With
    ``audit_signer``, the audit trail is anchored between agencies once enough events piled up, and
    at the end (:func:`~govarc.audit.checkpoint.anchor_if_due`; a failure there is left to the
    checkpoint after the command).

    On KeyboardInterrupt (or any other BaseException) the run is recorded as `interrupted`, its
    log written, and the exception raised again.

    Per-record rows (ingest outcomes, packages, warnings) are kept on disk in ``journal`` until
    the log is written, so that memory does not grow with the night's work. A caller that wants to
    read them from the report afterwards passes its own (and closes it); without one the run
    makes one in ``tmp/`` and closes it, leaving in the report the counts and the first rows.
    """
    own = journal is None
    if journal is None:
        journal = Journal(ws.tmp_dir)
    try:
        return _run(ws, signer_for, workers, strict, progress, steps, archives_key, journal, audit_signer)
    finally:
        if own:
            journal.close()


def _run(
    ws: Workspace, signer_for: Callable[[Agency], Signer | None] | None, workers: int, strict: bool,
    progress: RunProgress | None, steps: Sequence[Step] | None, archives_key: Callable[[], Credentials | None] | None,
    journal: Journal, audit_signer: Callable[[], tuple[str, Credentials] | None] | None = None,
) -> NightlyReport:
    with run_lock(ws.lock_path), open_workspace_catalog(ws) as cat:
        # Load every signer first: a wrong passphrase stops the run before it changes anything.
        signers = {a.code: signer_for(a) if signer_for else None for a in ws.agencies}
        key = archives_key() if archives_key is not None and ws.is_archives else None
        job = tuple(steps) if steps is not None else JOBS[ws.settings.role]
        who = parties(ws)
        started = now()
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = start_run(cat, KIND, started, os.getpid())
        # This process holds the lock, so no other run is live: a `running` row is a dead run's.
        closed = tuple(close_stale_runs(cat, KIND, started, run_id))
        runs: list[AgencyRun] = []
        stop: BaseException | None = None
        for party in who:
            if stop is not None:
                runs.append(AgencyRun(party.code, not_started(job)))
                continue
            ctx = StepContext(ws, cat, party, signers.get(party.code), workers, progress or SILENT, key=key,
                              journal=journal)
            done, stop = run_agency(job, ctx, progress)
            runs.append(AgencyRun(party.code, done))
            if audit_signer is not None and stop is None:
                try:
                    anchor_if_due(ws, cat.conn, audit_signer)
                except (OSError, GovarcError, sqlite3.Error):
                    pass  # the checkpoint after the command tries again, and says why it cannot
            try:
                if progress and stop is None:
                    progress.done(party.code)
            except BaseException as e:  # noqa: B902 - recorded, then raised again below
                stop = e
        log = ws.logs_dir / f"nightly-{stamp}-{os.getpid()}.json"
        report = NightlyReport(started, now(), tuple(runs), str(log), strict, stop is not None, run_id, closed,
                               tuple(s.name for s in job), ws.settings.role)
        try:
            _write_log(log, report)
        except OSError as e:
            report = replace(report, log_error=from_os_error(e))
        try:
            finish_run(cat, run_id, report.finished_at, report.status, report.summary())
        except (OSError, sqlite3.Error) as e:
            if stop is None:
                raise as_govarc_error(e, str(ws.catalog_path)) or e from None
        if stop is not None:
            raise stop
        if audit_signer is not None:  # the run's last events, signed with the run's key source
            try:
                anchor_if_due(ws, cat.conn, audit_signer, every=1)
            except (OSError, GovarcError, sqlite3.Error):
                pass  # the checkpoint after the command tries again, and says why it cannot
        return report
