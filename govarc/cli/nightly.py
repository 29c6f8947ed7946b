"""`govarc nightly`: the nightly archiving job (:mod:`govarc.jobs.nightly`), for cron and for a terminal."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.ingest import report_item
from govarc.cli.output import Output, StepsBar
from govarc.workspace import Workspace

if TYPE_CHECKING:
    from govarc.jobs.report import NightlyReport
    from govarc.sign.pki import Credentials

EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the run is recorded as `interrupted`."""


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While the nightly job runs, SIGTERM (what `kill`, systemd and cron timeouts send) ends it the
    way Ctrl-C does: the run log is written and the run row closed as `interrupted`."""
    def handler(signum: int, frame: object) -> None:
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Steps:
    """What the nightly job reports as it goes: a bar on a terminal, and each step with --verbose."""

    def __init__(self, bar: StepsBar | None, verbose: bool) -> None:
        self.bar = bar
        self.verbose = verbose

    def step(self, agency: str, step: str) -> None:
        if self.verbose:
            click.echo(f"{agency}: {step}", err=True)
        if self.bar:
            self.bar.step(agency, step)

    def total(self, n: int) -> None:
        if self.bar:
            self.bar.total(n)

    def advance(self, n: int) -> None:
        if self.bar:
            self.bar.advance(n)

    def done(self, agency: str) -> None:
        if self.bar:
            self.bar.done(agency)


def _summary(code: str, counts: dict[str, int], archives: bool) -> str:
    """One party's line for --verbose: what its steps counted."""
    if archives:
        return (f"{code}: {counts.get('batches', 0)} batches answered, {counts.get('accepted', 0)} accepted, "
                f"{counts.get('rejected', 0)} rejected, {counts.get('duplicate', 0)} duplicate")
    line = f"{code}: {counts.get('registered', 0)} registered, {counts.get('packaged', 0)} packaged"
    if counts.get("transferred") or counts.get("receipted"):
        line += f", {counts.get('transferred', 0)} transferred, {counts.get('receipted', 0)} receipts"
    exchange = ("exchange_received", "exchange_resent", "exchange_answered", "exchange_overdue")
    if any(counts.get(k) for k in exchange):
        line += (f"; exchange: {counts.get('exchange_received', 0)} received, {counts.get('exchange_resent', 0)} "
                 f"sends finished, {counts.get('exchange_answered', 0)} answers, "
                 f"{counts.get('exchange_overdue', 0)} overdue")
    return line


@click.command("nightly")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the agencies' key passphrase (else $GOVARC_KEY_PASSPHRASE).")
@click.option("--strict", is_flag=True, help="Exit 3 when there was any warning, as for a refused document.")
@click.pass_obj
def nightly(out: Output, passphrase_file: Path | None, strict: bool) -> NightlyReport | int:
    """The nightly job: for every agency, ingest, package (and sign), transfer, import receipts.

    In an archives workspace (govarc init --archives) it is `govarc accept` (every complete batch
    in the [holdings] inbox is checked, kept and answered with a signed receipt) with a run log.

    Holds the workspace lock (a second concurrent run exits 7 at once), writes a run log under
    logs/ and a row in the catalog's runs table, prints nothing on success unless --verbose or
    --json, and is safe to re-run after a crash at any point. One agency's failure does not stop
    the others: each failed step is one line on stderr and the exit code is the worst step's (8 disk
    full, 1 unexpected, 6 configuration, 4 signature, 5 transfer, 7 lock, 3 refused). Each agency runs
    the job's steps (ingest, package, then with [archives] transfer and receipts), each recorded in
    the run log with its status, counts and duration. Warnings are summed up on stderr, one
    line per code (not with --quiet); with --strict they make the exit code 3. A progress bar
    shows on a terminal. SIGTERM or Ctrl-C records the run as interrupted (exit 143 or 130).

    \b
    Example (crontab, 01:30 every night):
      30 1 * * *  GOVARC_HOME=/srv/govarc /opt/govarc/.venv/bin/govarc nightly
      15 2 * * *  GOVARC_HOME=/srv/archives /opt/govarc/.venv/bin/govarc nightly
    """
    from govarc.cli.audit import env_signer
    from govarc.cli.signing import agency_signer_factory
    from govarc.jobs.nightly import parties, run_nightly

    ws = Workspace.open(Path(out.home))
    signer_for = agency_signer_factory(ws, out, passphrase_file)

    def archives_key() -> Credentials | None:
        from govarc.cli.pki import CliPrompter
        from govarc.sign.agency import load_agency_key

        return load_agency_key(ws, ws.holdings.code, CliPrompter(passphrase_file))

    from govarc.jobs.spool import Journal

    with Journal(ws.tmp_dir) as journal:  # the run's per-record rows, on disk until printed
        try:
            with _sigterm_interrupts(), out.steps_progress(len(parties(ws))) as bar:
                report = run_nightly(ws, signer_for=signer_for, strict=strict, progress=_Steps(bar, out.verbose),
                                     archives_key=archives_key, journal=journal,
                                     audit_signer=env_signer(ws, passphrase_file))
        except _Terminated:
            click.echo("govarc: error: terminated (SIGTERM); the run is recorded as interrupted", err=True)
            return EXIT_TERMINATED
        return _report(report, out, strict, ws.is_archives)


def _report(report: NightlyReport, out: Output, strict: bool, archives: bool) -> NightlyReport:
    """What ``govarc nightly`` prints of a run: with --json its log in summary (each per-record list
    cut to its first rows; the log file has them all), else a line per refusal and failed step."""
    if out.json:
        out.emit_json(report.as_dict())
    else:
        who = "archives" if archives else "agency"
        for run in report.agencies:
            step = run.step("ingest")
            items = step.result.log.get("ingest") if step is not None and step.result.report is not None else None
            for item in items["items"] if items else ():
                report_item(item, out)
            for step in run.failed:  # one line per failed step, naming its file
                click.echo(f"govarc: error: {who} {run.code}: {step.error}", err=True)
        if report.log_error:
            click.echo(f"govarc: error: the run log was not written: {report.log_error}", err=True)
        if report.warnings and (not out.quiet or strict):
            see = f"see {report.log_path}" if not report.log_error else "the run log was not written"
            for code, count in report.warnings.items():
                click.echo(f"govarc: warning: {code} × {count} ({see})", err=True)
        if out.verbose:
            for stale in report.closed_stale:
                click.echo(f"closed run {stale}, left running by a run that died, as interrupted", err=True)
            for run in report.agencies:
                click.echo(_summary(run.code, run.counts, archives))
            click.echo(f"log: {report.log_path}")
    return report
