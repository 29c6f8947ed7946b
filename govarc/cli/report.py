"""`govarc report`: the catalog's numbers as a static HTML page (charts and tables, Chinese and English)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from govarc.cli.output import Output


@click.command("report")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder to write index.html into (default: reports/report-<UTC time> in the workspace).")
@click.option("--agency", "agencies", multiple=True, metavar="CODE",
              help="Only this agency (repeat for more; default: every agency).")
@click.option("--force", is_flag=True, help="Replace an existing report folder (one that holds only index.html).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document: the page's path and every number "
              "(same as govarc --json report).")
@click.pass_obj
def report(out: Output, out_dir: Path | None, agencies: tuple[str, ...], force: bool, json_: bool) -> None:
    """Write a static HTML report: records archived per agency per month, records by state, exchange
    answers, transfer batches, warnings by code; a chart and a table each. Opens from the file: no
    server, no external asset, no script. An --out that exists is refused (exit 2) unless --force.

    \b
    Example:
      govarc report --out /srv/reports/2024-06 --agency SZF --agency CZJ
      govarc report --out build/report --force --json
    """
    if json_:
        out.json = True
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.report.build import collect, write_report
    from govarc.workspace import Workspace

    ws = Workspace.open(Path(out.home))
    known = [a.code for a in ws.agencies]
    now = dt.datetime.now(dt.timezone.utc)
    target = out_dir or ws.home / "reports" / f"report-{now:%Y%m%d-%H%M%S}"
    with open_workspace_catalog(ws) as cat:
        from govarc.catalog.report import catalog_agencies

        valid = sorted(set(known) | catalog_agencies(cat))
        unknown = [a for a in agencies if a not in valid]
        if unknown:
            raise click.BadParameter(f"unknown agency {', '.join(unknown)}; choose from: {', '.join(valid) or '(none)'}",
                                     param_hint="--agency")
        data = collect(cat, [(a.code, a.name) for a in ws.agencies], only=agencies or None, now=now)
    page = write_report(data, target, force=force)
    if out.json:
        out.emit_json({"path": str(page), "generated_at": data.generated_at,
                       "agencies": [c for c, _ in data.agencies], "metrics": data.metrics()})
        return
    m = data.metrics()
    out.line(f"report: {page}")
    out.line(f"  {len(data.agencies)} agencies, {m['packages.total']} records, {m['records.total']} archived, "
             f"{m['warnings.total']} warnings")
