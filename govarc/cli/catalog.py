"""`govarc catalog …`: look after the catalog (rebuild it from the store)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.output import Output

if TYPE_CHECKING:
    from govarc.archiving.rebuild import RebuildReport


@click.group("catalog")
def catalog() -> None:
    """Look after the catalog (catalog.sqlite).

    \b
    Example:
      govarc --home /srv/govarc catalog rebuild
    """


@catalog.command("rebuild")
@click.option("--force", is_flag=True, help="Rebuild even a healthy catalog (it is kept aside, not deleted).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document (same as govarc --json catalog rebuild).")
@click.pass_obj
def rebuild(out: Output, force: bool, json_: bool) -> RebuildReport:
    """Rebuild the catalog from the packages in the store, verifying each one.

    For a catalog that is missing, empty, damaged or not this workspace's (the other commands
    then exit 6 and say so). Every valid package becomes a record again (state packaged, with its
    archival code, description, files, digest, size and signed flag); files missing from objects/
    are restored from the packages; every archival-code sequence continues after the highest 件号
    in the store, so no code is reused. What cannot be recovered is reported as
    CATALOG_UNRECOVERED (exit 3). Transfer batches kept in transfers/<AGENCY>/<BATCH>/ whose
    signed list verifies are restored too (receipted with their verdicts when their receipt
    verifies, else published), so no batch id is reused and transferred records stay so.
    The old catalog is kept as catalog.sqlite.broken-<time>.
    Holds the run lock; a healthy catalog is refused (exit 6) unless --force.

    \b
    Example:
      govarc --home /srv/govarc catalog rebuild
      govarc --home /srv/govarc catalog rebuild --json | jq '.findings'
    """
    from govarc.archiving.rebuild import rebuild_catalog
    from govarc.workspace import Workspace

    if json_:
        out.json = True
    ws = Workspace.open(Path(out.home))
    with out.items_progress("rebuilding the catalog") as (advance, _total):
        report = rebuild_catalog(ws, force=force, progress=(lambda _p: advance(1)) if advance else None)
    if out.json:
        out.emit_json(report.as_dict())
    else:
        for f in report.unrecovered:
            click.echo(f"govarc: unrecovered: {f.path}: {f.code}: {f.message}", err=True)
        for kept in report.kept_aside:
            out.line(f"kept aside: {kept}")
        per_agency: dict[str, int] = {}
        for r in report.recovered:
            per_agency[r.agency] = per_agency.get(r.agency, 0) + 1
        detail = ", ".join(f"{code} {n}" for code, n in sorted(per_agency.items()))
        out.line(f"catalog rebuilt: {report.catalog}: {len(report.recovered)} packages recovered"
                 + (f" ({detail})" if detail else "") + f", {len(report.unrecovered)} not recovered, "
                 f"{report.objects_restored} files restored to objects/")
        if report.batches_restored or report.batches_skipped:
            states: dict[str, int] = {}
            for b in report.batches_restored:
                states[b.state] = states.get(b.state, 0) + 1
            out.line(f"transfer batches restored: {len(report.batches_restored)}"
                     + (f" ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})" if states else "")
                     + (f", {len(report.batches_skipped)} skipped (nothing of them was sent)" if report.batches_skipped else ""))
        if report.objects_unreferenced:
            out.line(f"{report.objects_unreferenced} files in objects/ belong to no recovered package (records not "
                     "packaged before the catalog was lost, or packages not recovered): ingest their drop folders again")
    return report
