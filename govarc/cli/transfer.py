"""`govarc transfer …`: send signed batches to the archives, import their receipts, show the state."""

from __future__ import annotations

from pathlib import Path

import click

from govarc.cli.output import Output


@click.group("transfer")
def transfer() -> None:
    """Transfer packages to the archives (移交) and import their signed receipts (接收回执).

    The archives are named in govarc.toml: `[archives]` code, name, url (a folder, file:///…,
    sftp://… or s3://…). See specs/transfer.md for the flow.

    \b
    Example:
      govarc transfer run --agency SZF
      govarc transfer receipts
      govarc transfer status --json
    """


@transfer.command("run")
@click.option("--agency", "code", help="Only this agency (default: every agency of the workspace).")
@click.option("--dry-run", is_flag=True, help="List what would go; change nothing, connect to nothing.")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the agencies' key passphrase (else $GOVARC_KEY_PASSPHRASE, else a prompt).")
@click.pass_obj
def run(out: Output, code: str | None, dry_run: bool, json_: bool, passphrase_file: Path | None) -> None:
    """Send each agency's due packages to the archives as one signed batch.

    Due: packaged, signed, not yet transferred nor waiting in a batch. The batch id is recorded
    before anything is uploaded; a run after a crash finishes the same batch. The signed transfer
    list is published last. Another run for the same agency: exit 7; a transport failure: exit 5.

    \b
    Example:
      govarc --home /srv/govarc transfer run --agency SZF --dry-run
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.cli.signing import agency_signer_factory
    from govarc.lock import agency_lock
    from govarc.transfer.run import open_archives_transport, require_archives, transfer_run
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    require_archives(ws)
    agencies = [ws.agency(code)] if code else list(ws.agencies)
    reports = []
    if dry_run:
        with open_workspace_catalog(ws) as cat:
            reports = [transfer_run(ws, cat, a, None, signer=None, dry_run=True) for a in agencies]
    else:
        signer_for = agency_signer_factory(ws, out, passphrase_file)
        transport = open_archives_transport(ws)
        with open_workspace_catalog(ws) as cat:
            for agency in agencies:
                with agency_lock(ws.home, agency.code):
                    reports.append(transfer_run(ws, cat, agency, transport, signer=signer_for(agency)))
    if out.json:
        out.emit_json([r.as_dict() for r in reports])
        return
    for r in reports:
        if r.dry_run:
            what = f"would resume batch {r.batch_id}" if r.batch_id else "would send a new batch"
            out.line(f"{r.agency}: {what} of {len(r.planned)} packages" if r.planned else f"{r.agency}: nothing due")
            for c in r.planned:
                out.line(f"  {c}")
        elif r.batch_id is None:
            out.line(f"{r.agency}: nothing due")
        else:
            out.line(f"{r.agency}: batch {r.batch_id} {r.state}: {len(r.items)} packages "
                     f"({r.uploaded} uploaded, {r.already} already there){'  (resumed)' if r.resumed else ''}")


@transfer.command("receipts")
@click.option("--agency", "code", help="Only this agency (default: every agency of the workspace).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_obj
def receipts(out: Output, code: str | None, json_: bool) -> int:
    """Import the archives' signed receipts for published batches.

    Each receipt's signature, chain and signer (`[archives] code`) are verified, and that it
    answers the batch sent (batch, agency, list digest, every package). Then its records become
    `transferred` or `rejected`. A bad receipt changes nothing: exit 4 (signature, identity) or 3
    (content), one line each; the others are imported.

    \b
    Example:
      govarc transfer receipts --agency SZF
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.lock import agency_lock
    from govarc.sign.agency import workspace_policy
    from govarc.transfer.receipts import import_receipts
    from govarc.transfer.run import open_archives_transport, require_archives
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    require_archives(ws)
    agencies = [ws.agency(code)] if code else list(ws.agencies)
    transport = open_archives_transport(ws)
    policy = workspace_policy(ws)
    reports = []
    with open_workspace_catalog(ws) as cat:
        for agency in agencies:
            with agency_lock(ws.home, agency.code):
                reports.append(import_receipts(ws, cat, agency, transport, policy))
    code_ = next((r.exit_code for r in reports if r.exit_code), 0)
    if out.json:
        out.emit_json([r.as_dict() for r in reports])
    else:
        for r in reports:
            for i in r.imported:
                out.line(f"{r.agency}: batch {i.batch_id} receipted: {i.accepted} accepted, {i.duplicate} duplicate, "
                         f"{i.rejected} rejected")
                for c in i.rejected_codes:
                    out.line(f"  rejected {c}")
            for b in r.waiting:
                out.line(f"{r.agency}: batch {b} waiting for its receipt")
    for r in reports:
        for refused in r.refused:
            click.echo(f"govarc: error: {refused.message}", err=True)
    return code_


@transfer.command("status")
@click.option("--agency", "code", help="Only this agency (default: every agency of the workspace).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--summary", is_flag=True, help="One table row per agency: batches, packages sent, accepted, rejected.")
@click.pass_obj
def status(out: Output, code: str | None, json_: bool, summary: bool) -> None:
    """List batches and their packages' states; flag batches whose receipt is overdue.

    With --summary, one row per agency instead: due, batches, packages sent, accepted,
    duplicate, rejected, pending (no receipt yet) and overdue batches.

    \b
    Example:
      govarc transfer status --agency SZF --json
      govarc transfer status --summary
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.transfer.status import transfer_status
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    agencies = [ws.agency(code)] if code else list(ws.agencies)
    with open_workspace_catalog(ws) as cat:
        reports = [transfer_status(ws, cat, a) for a in agencies]
    if out.json:
        out.emit_json([r.as_dict() for r in reports])
        return
    if summary:
        from rich.table import Table

        table = Table("机构 agency", "待移交 due", "批次 batches", "移交 sent", "接收 accepted", "重复 duplicate",
                      "退回 rejected", "待回执 pending", "逾期 overdue", title="移交与接收 transfer")
        for r in reports:
            c = {k: sum(b.counts[k] for b in r.batches) for k in ("accepted", "duplicate", "rejected", "pending")}
            sent = sum(len(b.items) for b in r.batches)
            table.add_row(r.agency, str(r.due), str(len(r.batches)), str(sent), str(c["accepted"]), str(c["duplicate"]),
                          str(c["rejected"]), str(c["pending"]), str(len(r.overdue)))
        out.console().print(table)
        return
    for r in reports:
        out.line(f"{r.agency}: {r.due} due, {len(r.batches)} batches" + (f", {len(r.overdue)} overdue" if r.overdue else ""))
        for b in r.batches:
            c = b.counts
            out.line(f"  {b.batch.id}  {b.batch.state.value}{'  OVERDUE' if b.overdue else ''}  "
                      f"{len(b.items)} packages: {c['accepted']} accepted, {c['duplicate']} duplicate, "
                      f"{c['rejected']} rejected, {c['pending']} pending")
            if out.verbose:
                for i in b.items:
                    out.line(f"    {i.archival_code}  {i.verdict or 'pending'}"
                             + "".join(f"  {x.get('code')} {x.get('message', '')}" for x in i.reasons))


@transfer.command("configure")
@click.option("--archives", "code", required=True, metavar="CODE",
              help="The archives' code: the organizationIdentifier its certificate carries (receipts must be signed by it).")
@click.option("--url", required=True, help="The transport: a folder (relative to the home), file:///…, sftp://… or s3://….")
@click.option("--name", help="The archives' name (档案馆名称), written into transfer lists.")
@click.pass_obj
def configure(out: Output, code: str, url: str, name: str | None) -> None:
    """Name the archives this workspace transfers to: write [archives] code, url and name to govarc.toml.

    Other [archives] keys (receipt_overdue_days, send_unsigned, [archives.transport]) are kept.
    Safe to repeat: the same values change nothing. Trust the archives' CA too (`pki trust add`),
    or its receipts are refused.

    \b
    Example:
      govarc transfer configure --archives DAG --name 柳州市档案馆 --url file:///srv/exchange
    """
    from govarc.admin import set_archives
    from govarc.workspace import Workspace

    ws, changed = set_archives(Workspace.open(Path(out.home)), code, url, name)
    a = ws.settings.archives
    assert a is not None
    if out.json:
        out.emit_json({"changed": changed, "archives": a.as_toml()})
    else:
        out.line(f"archives {a.code} at {a.url}: {'updated' if changed else 'unchanged'}")
