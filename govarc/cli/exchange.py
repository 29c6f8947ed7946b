"""`govarc send` and `govarc exchange status`: the sender's side of the document exchange (公文交换)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.output import Output

if TYPE_CHECKING:
    from govarc.findings import Finding
    from govarc.domain import Agency
    from govarc.workspace import Workspace

EXIT_OVERDUE = 5


def _sender(ws: Workspace, code: str | None) -> Agency:
    from govarc.errors import ConfigError

    if code:
        return ws.agency(code)
    if len(ws.agencies) == 1:
        return ws.agencies[0]
    raise ConfigError(f"the workspace has {len(ws.agencies)} agencies: name the sender with --agency CODE")


@click.command("send")
@click.argument("package")
@click.option("--agency", "code", metavar="CODE", help="The sending agency (default: the workspace's only agency).")
@click.option("--to", "to", multiple=True, required=True, metavar="CODE|GROUP",
              help="主送: an agency code or a group of [exchange.groups]; repeat for more.")
@click.option("--cc", "cc", multiple=True, metavar="CODE|GROUP", help="抄送: an agency code or a group; repeat for more.")
@click.option("--urgency", type=click.Choice(["特急", "加急", "平急"]), default="平急", show_default=True,
              help="紧急程度.")
@click.option("--deadline", metavar="DATE|DURATION", help="办理时限: a date (2026-12-05, end of day) or 3d, 12h, 2w.")
@click.option("--title", help="题名, when PACKAGE is not a record of the sender's catalog.")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the agency's key passphrase (else $GOVARC_KEY_PASSPHRASE, else a prompt).")
@click.pass_obj
def send(out: Output, package: str, code: str | None, to: tuple[str, ...], cc: tuple[str, ...], urgency: str,
         deadline: str | None, title: str | None, json_: bool, passphrase_file: Path | None) -> None:
    """Send PACKAGE (an archival code of the sender, or a package path) to many agencies.

    The package is stored once on the hub ([exchange] url), content-addressed; each recipient
    gets an envelope signed by the sender in its inbox. Unknown codes or groups: exit 3, nothing
    written. The message id is recorded first; re-running the same command after a crash or a
    transport failure (exit 5) finishes the same message without duplicates.

    \b
    Example:
      govarc send 0012-WS·2026-Y-BGS-0001 --agency SZF --to CZJ --cc 全市各委办局 --urgency 加急 --deadline 3d
    """
    import datetime as dt

    from govarc.catalog.identity import open_workspace_catalog
    from govarc.cli.signing import agency_signer_factory
    from govarc.exchange.documents import Urgency
    from govarc.exchange.send import open_hub, parse_deadline, require_exchange, resolve_addressees
    from govarc.exchange.send import send as send_package
    from govarc.lock import agency_lock
    from govarc.sign.agency import workspace_policy
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    ex = require_exchange(ws)
    sender = _sender(ws, code)
    # unknown recipients are refused before a key is loaded or the hub connected to
    resolve_addressees(ex, [a.code for a in ws.agencies], sender.code, to, cc)
    now = dt.datetime.now(dt.timezone.utc)
    when = parse_deadline(deadline, now) if deadline else None
    signer = agency_signer_factory(ws, out, passphrase_file)(sender)
    with open_workspace_catalog(ws) as cat, agency_lock(ws.home, sender.code):
        with open_hub(ws) as hub:
            report = send_package(ws, cat, sender, package, hub, to=to, cc=cc, urgency=Urgency(urgency), deadline=when,
                                  title=title, signer=signer, policy=workspace_policy(ws), now=now)
    if out.json:
        out.emit_json(report.as_dict())
        return
    n_to = sum(1 for _, r in report.recipients if r == "主送")
    out.line(f"{report.sender}: message {report.message_id}{' (resumed)' if report.resumed else ''}: "
             f"{n_to} 主送, {len(report.recipients) - n_to} 抄送; package {report.package_sha256[:12]}… "
             f"{'uploaded' if report.package_written else 'already on the hub'} ({report.package_size} bytes); "
             f"{report.envelopes_written} envelopes published, {report.envelopes_already} already there")


@click.group("exchange")
def exchange() -> None:
    """Supervise the document exchange (电子监察): receipts, signed for, returned, overdue.

    \b
    Example:
      govarc exchange configure --url sftp://govarc@hub.example:22/srv/hub --group 市直部门=CZJ,DAJ
      govarc exchange status
      govarc exchange status --overdue
    """


@exchange.command("configure")
@click.option("--url", help="The hub: a folder (relative to the home), file:///…, sftp://… or s3://… "
                            "(needed the first time).")
@click.option("--group", "groups", multiple=True, metavar="NAME=CODE,CODE",
              help="A distribution group of [exchange.groups] (added, or replaced by name); repeat for more.")
@click.option("--oa-drop", "oa_drops", multiple=True, metavar="CODE=FOLDER",
              help="Hand the agency's received messages to its OA through this existing folder "
                   "(relative to the home); repeat for more.")
@click.pass_obj
def configure(out: Output, url: str | None, groups: tuple[str, ...], oa_drops: tuple[str, ...]) -> None:
    """Configure the document exchange: write [exchange] url and groups, and agencies' oa_drop, to govarc.toml.

    Other [exchange] keys (duplicate_window_days, [exchange.transport]) and groups not named are
    kept. Checked as govarc.toml is (exit 6 naming the problem, nothing written). Safe to repeat:
    the same values change nothing. Trust the CAs of the other agencies' certificates too
    (`pki trust add`), or their envelopes and receipts are refused.

    \b
    Example:
      govarc exchange configure --url ../hub --group 全市各委办局=CZJ,DAJ --oa-drop CZJ=/srv/oa/CZJ
    """
    from govarc.admin import parse_group, parse_oa_drop, set_exchange
    from govarc.workspace import Workspace

    ws, changed = set_exchange(Workspace.open(Path(out.home)), url, [parse_group(g) for g in groups],
                               [parse_oa_drop(d) for d in oa_drops])
    ex = ws.settings.exchange
    assert ex is not None
    drops = {a.code: str(a.oa_drop) for a in ws.agencies if a.oa_drop is not None}
    if out.json:
        out.emit_json({"changed": changed, "exchange": ex.as_toml(), "oa_drop": drops})
        return
    out.line(f"exchange hub at {ex.url}, {len(ex.groups)} groups: {'updated' if changed else 'unchanged'}")


@exchange.command("status")
@click.argument("message", required=False)
@click.option("--agency", "code", metavar="CODE", help="Only messages this agency sent (default: every agency).")
@click.option("--overdue", is_flag=True, help="Only recipients past the deadline without 签收/退回; exit 5 if any.")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_obj
def status(out: Output, message: str | None, code: str | None, overdue: bool, json_: bool) -> int:
    """Collect receipts from the hub, then show each message and recipient.

    Each receipt is verified (the recipient's signature and identity, the message, the package
    digest) before it counts; a refused one is reported with its code on stderr and the exit is 4
    (signature) or 3 (content). With --overdue only late recipients are listed, and the exit is 5
    when any is late (for cron mail).

    \b
    Example:
      govarc exchange status SZF-20261130020000-0a1b2c3d
      govarc exchange status --overdue --json
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.exchange.send import open_hub, require_exchange
    from govarc.exchange.supervise import collect_receipts, exchange_status
    from govarc.findings import Kind
    from govarc.lock import agency_lock
    from govarc.sign.agency import workspace_policy
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    require_exchange(ws)
    agencies = [ws.agency(code)] if code else list(ws.agencies)
    policy = workspace_policy(ws)
    refused: list[Finding] = []
    with open_workspace_catalog(ws) as cat:
        with open_hub(ws) as hub:
            for agency in agencies:
                with agency_lock(ws.home, agency.code):
                    refused.extend(collect_receipts(cat, agency.code, hub, policy, message).refused)
        found = [m for a in agencies
                 for m in exchange_status(cat, sender=a.code, message_id=message, overdue_only=overdue)]
    if message is not None and not found and not overdue:
        from govarc.errors import InvalidInputError

        raise InvalidInputError(f"no message {message!r} sent by {', '.join(a.code for a in agencies)}")
    late = sum(len(m.overdue) for m in found)
    if out.json:
        out.emit_json({"messages": [m.as_dict() for m in found], "refused": [f.as_dict() for f in refused],
                       "overdue": late})
    else:
        for m in found:
            msg = m.message
            c = m.counts
            out.line(f"{msg.id}  {msg.urgency}  {msg.title}  deadline {msg.deadline or '—'}  {msg.state.value}: "
                     f"{c['signed_for']} signed for, {c['returned']} returned, {c['delivered']} delivered, "
                     f"{c['pending']} pending" + (f", {c['overdue']} OVERDUE" if c["overdue"] else ""))
            for r in m.recipients:
                rc = r.recipient
                extra = f"  ({rc.reason})" if rc.reason else ""
                out.line(f"  {rc.recipient}  {rc.role}  {rc.state.value}{extra}{'  OVERDUE' if r.overdue else ''}")
        if overdue and not found:
            out.line("nothing overdue")
    for f in refused:
        click.echo(f"govarc: error: {f.code}: {f.path}: {f.message}", err=True)
    if refused:
        return 4 if any(f.kind is Kind.SIGNATURE for f in refused) else 3
    return EXIT_OVERDUE if overdue and late else 0
