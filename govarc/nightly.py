"""The nightly archiving job: for every agency, ingest its drop folder, then package what is new.

Holds the workspace lock (a second run exits 7 at once), writes a run log, and is safe to re-run
after a crash at any point: ingest is keyed by content digest, packages are built atomically and
adopted when a crash came between build and catalog update.

Every agency runs in its own failure boundary: whatever goes wrong for one (a missing drop folder,
a read-only or full store, a bug) is recorded for it and the others go on. Every run ends recorded:
the run log is written and fsynced and the `runs` row finished (`ok`, `failed`, `interrupted`),
also when the run is interrupted (KeyboardInterrupt, or SIGTERM turned into one by the CLI); a row
left `running` by a killed run is closed as `interrupted` by the next run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from govarc.catalog.identity import open_workspace_catalog
from govarc.catalog.runs import RunStatus, close_stale_runs, finish_run, start_run, unpackaged_count
from govarc.errors import (
    EXIT_CONFIG, EXIT_DISK_FULL, EXIT_INVALID, EXIT_OK, EXIT_SIGNATURE, EXIT_TRANSFER, EXIT_UNEXPECTED,
    ConfigError, DiskFullError, GovarcError, as_govarc_error, from_os_error,
)
from govarc.findings import Finding, Level
from govarc.fsutil import fsync_path
from govarc.ingest.pipeline import IngestReport, ingest
from govarc.lock import run_lock
from govarc.package.build import Signer
from govarc.package.pending import Packaged, package_pending
from govarc.workspace import Agency, Workspace

KIND = "nightly"
EXIT_INTERRUPTED = 130
"""What an interrupted run's agency reports (the shell's code for SIGINT)."""

# Which agency's exit code the run's exit code is when several failed: the one an operator must
# act on first. A full disk stops every later night, a bug needs a developer, a configuration
# error an administrator; a refused document (or, with --strict, a warning) a clerk.
_SEVERITY = (EXIT_DISK_FULL, EXIT_UNEXPECTED, EXIT_CONFIG, EXIT_SIGNATURE, EXIT_TRANSFER, EXIT_INVALID)



class RunProgress(Protocol):
    """What the nightly job reports as it goes (the CLI draws it on a terminal)."""

    def step(self, agency: str, step: str) -> None:
        """A step of an agency begins: ``ingest`` or ``package``."""

    def total(self, n: int) -> None:
        """How many items the current step will go through."""

    def advance(self, n: int) -> None:
        """``n`` more items of the current step are done."""

    def done(self, agency: str) -> None:
        """An agency is through (well or not)."""


@dataclass(frozen=True)
class AgencyRun:
    """One agency's part of a run; ``error`` when it stopped early (the other agencies went on)."""

    code: str
    ingest: IngestReport | None
    packaged: tuple[Packaged, ...]
    error: str | None = None
    error_exit: int = 0
    error_path: str | None = None
    detail: str | None = None  # a traceback, for an error govarc did not expect

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Every warning of this agency's documents (each also in the run log)."""
        if self.ingest is None:
            return ()
        return tuple(f for o in self.ingest.outcomes for f in o.findings if f.level is Level.WARNING)

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.code,
            "ingest": self.ingest.as_dict() if self.ingest else None,
            "packaged": [p.as_dict() for p in self.packaged],
            "warnings": [w.as_dict() for w in self.warnings],
            "error": self.error,
            "error_path": self.error_path,
            "exit_code": self.error_exit,
            "traceback": self.detail,
        }


@dataclass(frozen=True)
class NightlyReport:
    started_at: str
    finished_at: str
    agencies: tuple[AgencyRun, ...]
    log_path: str
    strict: bool = False
    interrupted: bool = False
    run_id: int | None = None
    closed_stale: tuple[int, ...] = ()
    log_error: GovarcError | None = field(default=None, compare=False)

    @property
    def refused(self) -> bool:
        return any(a.ingest is not None and a.ingest.refused for a in self.agencies)

    @property
    def warnings(self) -> dict[str, int]:
        """How many warnings of each code this run met, over every agency."""
        counts = Counter(w.code for a in self.agencies for w in a.warnings)
        return dict(sorted(counts.items()))

    @property
    def exit_code(self) -> int:
        """The worst agency's exit code; else 3 when a document was refused (or, with ``strict``,
        when there was a warning); else 0. Ranked: 8 (disk full), 1, 6, 4, 5, 3."""
        codes = {a.error_exit for a in self.agencies if a.error is not None}
        if self.log_error is not None:
            codes.add(self.log_error.exit_code)
        if self.interrupted:
            return EXIT_INTERRUPTED
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
        """What the `runs` row keeps: per agency counts and errors, and the warnings."""
        return {
            "pid": os.getpid(), "log": self.log_path, "exit_code": self.exit_code, "warnings": self.warnings,
            "closed_stale": list(self.closed_stale),
            "agencies": {a.code: {"registered": a.ingest.count("registered") if a.ingest else 0,
                                  "refused": a.ingest.count("refused") if a.ingest else 0,
                                  "packaged": len(a.packaged), "error": a.error} for a in self.agencies},
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id, "started_at": self.started_at, "finished_at": self.finished_at, "log": self.log_path,
            "status": self.status.value, "exit_code": self.exit_code, "strict": self.strict,
            "refused": self.refused, "warnings": self.warnings, "closed_stale": list(self.closed_stale),
            "log_error": str(self.log_error) if self.log_error else None,
            "agencies": [a.as_dict() for a in self.agencies],
        }


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_log(path: Path, report: dict[str, Any]) -> None:
    """Write the run log atomically and durably (the file, then its folder, fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_path(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fullest(*folders: Path) -> Path | None:
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


def _run_agency(
    ws: Workspace, cat: Any, agency: Agency, signer: Signer | None, workers: int, progress: RunProgress | None,
) -> AgencyRun:
    """One agency's ingest and packaging, inside its failure boundary (any Exception is its own)."""
    report = None
    packaged: list[Packaged] = []
    try:
        if agency.drop is not None:
            if not agency.drop.is_dir():
                raise ConfigError(f"drop folder of agency {agency.code} does not exist", str(agency.drop))
            if progress:
                progress.step(agency.code, "ingest")
            report = ingest(cat, ws.objects_dir, agency, [agency.drop], workers=workers or ws.settings.workers,
                            progress=progress.advance if progress else None,
                            on_total=progress.total if progress else None)
        if progress:
            progress.step(agency.code, "package")
            progress.total(unpackaged_count(cat, agency.code))

        def built(p: Packaged) -> None:
            packaged.append(p)
            if progress:
                progress.advance(1)

        package_pending(
            cat, ws.objects_dir, ws.store_dir(agency.code), ws.tmp_dir, agency.code,
            signer=signer, unsigned=agency.unsigned, keys=ws.keys_dir(agency.code),
            zip=ws.settings.package_zip, sm3=ws.settings.package_sm3, on_package=built,
        )
    except Exception as e:  # the agency's failure boundary: the other agencies go on
        err = as_govarc_error(e, str(ws.catalog_path))
        if isinstance(err, DiskFullError) and err.path is None:
            # A write that ran out of space names no file (only an open does): name the folder.
            fullest = _fullest(ws.store_dir(agency.code), ws.objects_dir, ws.tmp_dir, ws.home)
            err = DiskFullError(err.message, str(fullest) if fullest else None)
        if err is None:
            return AgencyRun(agency.code, report, tuple(packaged), f"unexpected error: {type(e).__name__}: {e}",
                             EXIT_UNEXPECTED, None, traceback.format_exc())
        return AgencyRun(agency.code, report, tuple(packaged), str(err), err.exit_code, err.path)
    return AgencyRun(agency.code, report, tuple(packaged))


def run_nightly(
    ws: Workspace,
    *,
    signer_for: Callable[[Agency], Signer | None] | None = None,
    workers: int = 0,
    strict: bool = False,
    progress: RunProgress | None = None,
) -> NightlyReport:
    """Run the nightly job for every agency of ``ws``; ``progress`` hears of each step.

    An agency that fails (a missing drop folder, a read-only or full store, a record that cannot
    be packaged) is reported in its :class:`AgencyRun` and the run goes on with the others: in a
    city of a hundred agencies one broken export must not stop the rest. Signing keys are loaded
    before anything changes. With ``strict``, a warning makes the exit code 3.

    On KeyboardInterrupt (or any other BaseException) the run is recorded as `interrupted`, its
    log written, and the exception raised again.
    """
    with run_lock(ws.lock_path), open_workspace_catalog(ws) as cat:
        # Load every signer first: a wrong passphrase stops the run before it changes anything.
        signers = {a.code: signer_for(a) if signer_for else None for a in ws.agencies}
        started = _now()
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = start_run(cat, KIND, started, os.getpid())
        # This process holds the lock, so no other run is live: a `running` row is a dead run's.
        closed = tuple(close_stale_runs(cat, KIND, started, run_id))
        runs: list[AgencyRun] = []
        stop: BaseException | None = None
        try:
            for agency in ws.agencies:
                runs.append(_run_agency(ws, cat, agency, signers[agency.code], workers, progress))
                if progress:
                    progress.done(agency.code)
        except BaseException as e:  # noqa: B902 - recorded, then raised again below
            stop = e
            done = {r.code for r in runs}
            runs.extend(AgencyRun(a.code, None, (), "interrupted before it finished" if i == 0 else "not started",
                                  EXIT_INTERRUPTED)
                        for i, a in enumerate(x for x in ws.agencies if x.code not in done))
        log = ws.logs_dir / f"nightly-{stamp}-{os.getpid()}.json"
        report = NightlyReport(started, _now(), tuple(runs), str(log), strict, stop is not None, run_id, closed)
        try:
            _write_log(log, report.as_dict())
        except OSError as e:
            report = replace(report, log_error=from_os_error(e))
        try:
            finish_run(cat, run_id, report.finished_at, report.status, report.summary())
        except (OSError, sqlite3.Error) as e:
            if stop is None:
                raise as_govarc_error(e, str(ws.catalog_path)) or e from None
        if stop is not None:
            raise stop
        return report
