"""`govarc inventory`: the catalog's records as an inventory (档案目录) in CSV, XLSX, JSON or HTML."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from govarc.catalog.identity import open_workspace_catalog
from govarc.catalog.summary import InventoryState
from govarc.cli.output import Output
from govarc.domain import Retention
from govarc.inventory import (
    Format,
    InventoryFilter,
    InventoryInfo,
    OutputExistsError,
    write_inventory,
    write_inventory_stream,
)
from govarc.workspace import Workspace

FORMATS = ("csv", "xlsx", "json", "html")


class OutputRefused(click.ClickException):
    """An --out that cannot be written as asked: one line, exit 2 (a usage error)."""

    exit_code = 2


@click.command("inventory")
@click.option("--agency", metavar="CODE", help="Only this agency's records.")
@click.option("--year", type=click.IntRange(1000, 9999), help="Only records of this year (年度).")
@click.option("--retention", type=click.Choice([r.value for r in Retention], case_sensitive=False),
              help="Only records kept this long (保管期限).")
@click.option("--state", type=click.Choice([s.value for s in InventoryState]),
              help="Only records in this state (specs/inventory.md).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only records registered (ingested) on or after this day (UTC).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="The format (default: from --out's suffix, else csv; json with the global --json).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), metavar="FILE",
              help="Write to FILE (atomically) instead of stdout; needed for xlsx.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.pass_obj
def inventory(out: Output, agency: str | None, year: int | None, retention: str | None, state: str | None,
              since: dt.datetime | None, fmt: str | None, out_path: Path | None, force: bool) -> None:
    """Write an inventory (档案目录) of the catalog's records: one row per record with Chinese and
    English headers, then totals per agency and year (件数, files, 数据量 in GB) and a grand total.

    CSV is UTF-8 with a BOM (Excel and WPS open it); XLSX has a frozen header and needs --out;
    HTML prints on A4 with the header on every page. Cells a spreadsheet would run as a formula
    are neutralised. Without --out the inventory goes to stdout. An --out that exists is refused
    unless --force. No matching record gives an empty inventory with totals 0.

    \b
    Example:
      govarc inventory --agency SZF --year 2024 --format xlsx --out szf-2024.xlsx
      govarc inventory --state rejected --format html --out rejected.html
      govarc inventory --retention Y --since 2024-01-01 > permanent.csv
    """
    if fmt is None:
        suffix = out_path.suffix.lower().lstrip(".") if out_path is not None else ""
        fmt = suffix if suffix in FORMATS else ("json" if out.json and out_path is None else "csv")
    form = Format(fmt)
    if form is Format.XLSX and out_path is None:
        raise click.UsageError("an xlsx inventory needs --out FILE")
    if out_path is not None:
        if out_path.is_dir():
            raise OutputRefused(f"--out {out_path} is a folder")
        if not out_path.parent.is_dir():
            raise OutputRefused(f"--out {out_path}: the folder {out_path.parent} does not exist")
        if out_path.exists() or out_path.is_symlink():
            if not force:
                raise OutputRefused(f"--out {out_path} exists; give --force to replace it")
    ws = Workspace.open(Path(out.home))
    codes = [a.code for a in ws.agencies]
    if agency is not None and agency not in codes:
        raise click.BadParameter(f"{agency!r} is not an agency of this workspace; choose from: "
                                 f"{', '.join(codes) or '(none)'}", param_hint="--agency")
    f = InventoryFilter(agency=agency, year=year, retention=retention.upper() if retention else None,
                        state=InventoryState(state) if state else None, since=since.date() if since else None)
    filters = tuple((k, str(v)) for k, v in (("agency", agency), ("year", year), ("retention", f.retention),
                                             ("state", state), ("since", f.since)) if v is not None)
    now = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    info = InventoryInfo(generated_at=now, filters=filters)
    with open_workspace_catalog(ws) as cat:
        if out_path is None:
            sys.stdout.flush()
            write_inventory_stream(cat, f, form, sys.stdout.buffer, info)
            return
        with out.items_progress("inventory") as (advance, _total):
            try:
                totals = write_inventory(cat, f, form, out_path, info, force=force, progress=advance)
            except OutputExistsError:
                raise OutputRefused(f"--out {out_path} exists; give --force to replace it") from None
    if out.json:
        out.emit_json({"out": str(out_path), "format": form.value, "filters": dict(filters),
                       "totals": [t.as_dict() for t in totals.groups], "grand_total": totals.grand.as_dict()})
    else:
        g = totals.grand
        out.line(f"inventory 档案目录: {g.items} records 件, {g.files} files, {g.data_gb} GB → {out_path}")
