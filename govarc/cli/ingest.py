"""`govarc ingest`: register documents in the catalog (the nightly job is in :mod:`govarc.cli.nightly`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from govarc.catalog.identity import open_workspace_catalog
from govarc.cli.output import Output
from govarc.findings import Finding, Kind, Level, exit_code
from govarc.ingest.pipeline import IngestReport, Outcome, ingest as run_ingest
from govarc.workspace import Workspace


def report_findings(report: IngestReport, out: Output) -> None:
    """One line per refusal (stderr), and warnings when --verbose."""
    for o in report.outcomes:
        report_item(o.as_dict(), out)


def report_item(item: dict[str, Any], out: Output) -> None:
    """The lines of one item of an ingest report (``Outcome.as_dict``): each refusal, and its
    warnings when --verbose."""
    for f in item["findings"]:
        if f["level"] == Level.ERROR.value or out.verbose:
            tag = "refused" if item["status"] == "refused" else f["level"]
            click.echo(f"govarc: {tag}: {f['path']}: {f['code']}: {f['message']}", err=True)


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
    from govarc.jobs.spool import Journal, write_json

    ws = Workspace.open(Path(out.home))
    agency = ws.agency(code)
    errors: dict[Kind, Finding] = {}  # one error finding per kind: enough for the exit code
    with Journal(ws.tmp_dir) as journal:
        items = journal.spool()  # with --json, every item, on disk until printed: memory stays flat

        def outcome(o: Outcome) -> None:
            for f in o.findings:
                if f.level is Level.ERROR:
                    errors.setdefault(f.kind, f)
            if out.json:
                items.append(o.as_dict())
            else:
                report_item(o.as_dict(), out)  # as it comes, not kept

        with open_workspace_catalog(ws) as cat, out.items_progress("ingesting") as (progress, total):
            report = run_ingest(cat, ws.objects, agency, paths, workers=ws.settings.workers,
                                progress=progress, on_total=total, on_outcome=outcome)
        if out.json:
            write_json({**report.as_dict(), "items": items.finish()}, sys.stdout)
            sys.stdout.write("\n")
        else:
            out.line(f"{agency.code}: {report.count('registered')} registered, {report.count('duplicate')} already "
                     f"registered, {report.count('refused')} refused")
    # A refused item is one with an error finding (of kind ingest): exit 3.
    return exit_code(errors.values())
