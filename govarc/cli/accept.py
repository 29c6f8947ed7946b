"""`govarc accept`: the archives answer every complete batch in their inbox (checks, holdings, receipts)."""

from __future__ import annotations

from pathlib import Path

import click

from govarc.accept.run import AcceptReport
from govarc.cli.output import Output
from govarc.cli.pki import passphrase_option


@click.command("accept")
@click.option("--from", "url", metavar="URL",
              help="Where batches arrive (file:///…, a folder, sftp://…, s3://…); default: inbox in [holdings].")
@passphrase_option
@click.pass_obj
def accept(out: Output, url: str | None, passphrase_file: Path | None) -> AcceptReport:
    """Accept transfers (接收): check every complete batch, keep what passes, publish signed receipts.

    Archives workspaces only. For each inbound/<AGENCY>/<BATCH>/ whose signed transfer list is
    published and not yet answered: the list's signature must be the agency's; every package is
    checked (四性检测, specs/acceptance.md), accepted ones are countersigned and kept in holdings/,
    rejected ones go to rejected/<AGENCY>/<BATCH>/; the signed receipt goes to
    receipts/<AGENCY>/<BATCH>/. Exit 4 when a list's signature is refused, 3 when a list cannot be read.

    \b
    Example:
      govarc --home /srv/archives accept --from file:///srv/exchange
    """
    from govarc.accept.run import accept_workspace
    from govarc.cli.pki import CliPrompter
    from govarc.workspace import Workspace

    ws = Workspace.open(Path(out.home))
    report = accept_workspace(ws, CliPrompter(passphrase_file), url=url)
    if out.json:
        out.emit_json(report.as_dict())
        return report
    if not report.batches:
        out.line("nothing to accept")
    for b in report.batches:
        if b.state == "answered":
            out.line(f"{b.agency}/{b.batch_id}: accepted {b.accepted}, rejected {b.rejected}, duplicate {b.duplicate}; "
                     f"receipt {b.receipt_key}")
        else:
            out.line(f"{b.agency}/{b.batch_id}: {b.state}: {b.message}")
    for b in report.batches:
        if b.state == "refused":
            click.echo(f"govarc: refused {b.agency}/{b.batch_id}: {b.message}", err=True)
    return report
