"""`govarc inbox`, `govarc receive`, `govarc sign-for`, `govarc return`: the recipient's side of the exchange."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from govarc.cli.output import Output

_PASSPHRASE = click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
                           help="File holding the agency's key passphrase (else $GOVARC_KEY_PASSPHRASE, else a prompt).")


def _agencies(ws: Any, code: str | None) -> list[Any]:
    return [ws.agency(code)] if code else list(ws.agencies)


@click.command("inbox")
@click.option("--agency", "code", help="Only this agency (default: every agency of the workspace).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_obj
def inbox(out: Output, code: str | None, json_: bool) -> None:
    """List the messages waiting in each agency's exchange inbox (收文待收).

    Only complete envelopes (their signature published) are listed, each read and verified
    against the trust store: sender, urgency, deadline, title, whether it was received already,
    and the problem when it would be refused. Nothing is downloaded or changed.

    \b
    Example:
      govarc inbox --agency CZJ
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.exchange.receive import inbox as list_inbox, open_hub, receive_settings
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    settings = receive_settings(ws)
    result = []
    with open_hub(ws) as hub, open_workspace_catalog(ws) as cat:
        for agency in _agencies(ws, code):
            result.append((agency.code, list_inbox(cat, hub, agency.code, settings.policy)))
    if out.json:
        out.emit_json([{"agency": c, "messages": [e.as_dict() for e in entries]} for c, entries in result])
        return
    for c, entries in result:
        out.line(f"{c}: {len(entries)} waiting" if entries else f"{c}: inbox empty")
        for e in entries:
            flag = "received" if e.received else "new"
            if e.problem:
                out.line(f"  {e.message_id}  {e.sender or '?'}  {flag}  REFUSED {e.problem}")
            else:
                deadline = f"  限 {e.deadline}" if e.deadline else ""
                out.line(f"  {e.message_id}  {e.sender}  {e.urgency}  {e.role}  {flag}  《{e.title}》{deadline}")


@click.command("receive")
@click.option("--agency", "code", help="Only this agency (default: every agency of the workspace).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@_PASSPHRASE
@click.pass_obj
def receive(out: Output, code: str | None, json_: bool, passphrase_file: Path | None) -> int:
    """Receive the messages in each agency's inbox: verify, keep as 收文, hand over to the OA.

    Each envelope's signature must be its sender's, the package must match the envelope and be
    signed by the sender; the message is kept in incoming/<CODE>/ (no archival code) and handed
    to the agency's `oa_command` or `oa_drop`. A bad message is one line with its code and does
    not stop the others. Exit: 0, else the worst message's: 3 invalid envelope or package (also
    a replay, a message not addressed here), 4 a signature, 5 an OA or hub failure (retried
    next run). A duplicate is a warning (exit 0).

    \b
    Example:
      govarc receive --agency CZJ
    """
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.cli.signing import agency_signer_factory
    from govarc.exchange.receive import ReceiveReport, detached, open_hub, receive as receive_all, receive_settings
    from govarc.lock import agency_lock
    from govarc.workspace import Workspace

    out.json = out.json or json_
    ws = Workspace.open(Path(out.home))
    settings = receive_settings(ws)
    signer_for = agency_signer_factory(ws, out, passphrase_file)
    reports: list[ReceiveReport] = []
    with open_hub(ws) as hub, open_workspace_catalog(ws) as cat:
        for agency in _agencies(ws, code):
            signer = signer_for(agency) if agency.auto_sign_for else None
            with agency_lock(ws.home, agency.code):
                reports.append(receive_all(ws, cat, hub, agency, settings,
                                           sign=detached(signer) if signer is not None else None))
    worst = max((r.exit_code for r in reports), default=0)
    if out.json:
        out.emit_json({"agencies": [r.as_dict() for r in reports], "exit_code": worst})
        return worst
    for r in reports:
        if not r.messages:
            out.line(f"{r.agency}: nothing new")
        for m in r.messages:
            line = f"{r.agency}: {m.line()}"
            if m.exit_code:
                click.echo(f"govarc: {line}", err=True)
            else:
                out.line(line)
    return worst


def _answer(out: Output, message_id: str, code: str | None, action_name: str, reason: str | None,
            passphrase_file: Path | None) -> None:
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.cli.signing import agency_signer_factory
    from govarc.errors import ConfigError
    from govarc.exchange.answer import answer
    from govarc.exchange.documents import ReceiptAction
    from govarc.exchange.receive import detached, open_hub
    from govarc.lock import agency_lock
    from govarc.workspace import Workspace

    ws = Workspace.open(Path(out.home))
    if code is None:
        if len(ws.agencies) != 1:
            raise ConfigError("this workspace serves several agencies: name one with --agency CODE")
        code = ws.agencies[0].code
    agency = ws.agency(code)
    signer = agency_signer_factory(ws, out, passphrase_file)(agency)
    if signer is None:
        raise ConfigError(f"agency {code} has no key to sign its answer: run `govarc pki issue {code}` or "
                          f"`govarc pki import {code}`", str(ws.keys_dir(code)))
    with open_hub(ws) as hub, open_workspace_catalog(ws) as cat, agency_lock(ws.home, code):
        result = answer(ws, cat, hub, agency, message_id, ReceiptAction(action_name), reason, detached(signer))
    if out.json:
        out.emit_json(result.as_dict())
        return
    what = "already given" if result.state == "unchanged" else "published"
    out.line(f"{code}: {message_id} {result.action.value}"
             + (f"（{result.reason}）" if result.reason else "") + f" {what}: {result.receipt_key}")


@click.command("sign-for")
@click.argument("message_id", metavar="MESSAGE")
@click.option("--agency", "code", help="The receiving agency (needed when the workspace serves several).")
@_PASSPHRASE
@click.pass_obj
def sign_for(out: Output, message_id: str, code: str | None, passphrase_file: Path | None) -> None:
    """Sign for a received message (签收): publish a receipt signed by the agency.

    The receipt names the message id and the SHA-256 of the package received. The same answer
    again is a no-op; after a return (退回) it is refused (exit 3).

    \b
    Example:
      govarc sign-for SZF-20261130090000-1a2b3c4d --agency CZJ
    """
    _answer(out, message_id, code, "签收", None, passphrase_file)


@click.command("return")
@click.argument("message_id", metavar="MESSAGE")
@click.option("--reason", required=True, help="Why the message is returned (退回理由), written into the receipt.")
@click.option("--agency", "code", help="The receiving agency (needed when the workspace serves several).")
@_PASSPHRASE
@click.pass_obj
def return_(out: Output, message_id: str, reason: str, code: str | None, passphrase_file: Path | None) -> None:
    """Return a received message to its sender (退回), with a reason, in a receipt signed by the agency.

    The same answer again is a no-op; after a 签收, or with another reason, it is refused (exit 3).

    \b
    Example:
      govarc return SZF-20261130090000-1a2b3c4d --agency CZJ --reason "非本单位职责"
    """
    _answer(out, message_id, code, "退回", reason, passphrase_file)
