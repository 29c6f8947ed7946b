"""`govarc ingest` and `govarc nightly`: register documents, and the nightly archiving job."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from govarc.catalog.identity import open_workspace_catalog
from govarc.cli.output import Output, StepsBar
from govarc.findings import Level, exit_code
from govarc.ingest.pipeline import IngestReport, ingest as run_ingest
from govarc.workspace import Workspace

EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


def report_findings(report: IngestReport, out: Output) -> None:
    """One line per refusal (stderr), and warnings when --verbose."""
    for o in report.outcomes:
        for f in o.findings:
            if f.level is Level.ERROR or out.verbose:
                tag = "refused" if o.status == "refused" else f.level.value
                click.echo(f"govarc: {tag}: {f.path}: {f.code}: {f.message}", err=True)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--agency", "code", required=True, help="The agency the documents belong to.")
@click.pass_obj
def ingest(out: Output, paths: tuple[Path, ...], code: str) -> int:
    """Register documents from files or folders in the catalog, with archival codes.

    Metadata comes from a sidecar per document (.json/.xml) or a register (register.csv/.xlsx,
    登记表.csv/.xlsx); see specs/ingest.md. Every good item is registered; every bad one is
    reported (file, finding code, message) and refused whole, and the exit code is then 3.
    Input files are never moved or changed. Ingesting the same file again changes nothing.

    \b
    Example:
      govarc --home /srv/govarc ingest /srv/oa/SZF --agency SZF
    """
    ws = Workspace.open(Path(out.home))
    agency = ws.agency(code)
    with open_workspace_catalog(ws) as cat, out.items_progress("ingesting") as (progress, total):
        report = run_ingest(cat, ws.objects_dir, agency, paths, workers=ws.settings.workers,
                            progress=progress, on_total=total)
    if out.json:
        out.emit_json(report.as_dict())
    else:
        report_findings(report, out)
        out.line(f"{agency.code}: {report.count('registered')} registered, {report.count('duplicate')} already "
                 f"registered, {report.count('refused')} refused")
    # A refused item is one with an error finding (of kind ingest): exit 3.
    return exit_code(f for o in report.outcomes for f in o.findings)


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


@click.command("nightly")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the agencies' key passphrase (else $GOVARC_KEY_PASSPHRASE).")
@click.option("--strict", is_flag=True, help="Exit 3 when there was any warning, as for a refused document.")
@click.pass_obj
def nightly(out: Output, passphrase_file: Path | None, strict: bool) -> None:
    """The nightly job: for every agency, ingest its drop folder and package (and sign) what is new.

    Holds the workspace lock (a second concurrent run exits 7 at once), writes a run log under
    logs/ and a row in the catalog's runs table, prints nothing on success unless --verbose or
    --json, and is safe to re-run after a crash at any point. One agency's failure does not stop
    the others: each is one line on stderr and the exit code is the worst agency's (8 disk full,
    1 unexpected, 6 configuration, 4 signature, 3 refused). Warnings are summed up on stderr, one
    line per code (not with --quiet); with --strict they make the exit code 3. A progress bar
    shows on a terminal. SIGTERM or Ctrl-C records the run as interrupted (exit 143 or 130).

    \b
    Example (crontab, 01:30 every night):
      30 1 * * *  GOVARC_HOME=/srv/govarc /opt/govarc/.venv/bin/govarc nightly
    """
    from govarc.cli.signing import agency_signer_factory
    from govarc.nightly import run_nightly

    ws = Workspace.open(Path(out.home))
    signer_for = agency_signer_factory(ws, out, passphrase_file)
    try:
        with _sigterm_interrupts(), out.steps_progress(len(ws.agencies)) as bar:
            report = run_nightly(ws, signer_for=signer_for, strict=strict, progress=_Steps(bar, out.verbose))
    except _Terminated:
        click.echo("govarc: error: terminated (SIGTERM); the run is recorded as interrupted", err=True)
        raise SystemExit(EXIT_TERMINATED) from None
    if out.json:
        out.emit_json(report.as_dict())
    else:
        for run in report.agencies:
            if run.ingest:
                report_findings(run.ingest, out)
            if run.error:
                click.echo(f"govarc: error: agency {run.code}: {run.error}", err=True)
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
                reg = run.ingest.count("registered") if run.ingest else 0
                click.echo(f"{run.code}: {reg} registered, {len(run.packaged)} packaged")
            click.echo(f"log: {report.log_path}")
    if report.exit_code:
        raise SystemExit(report.exit_code)
