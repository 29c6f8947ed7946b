"""`govarc audit list|verify|checkpoint`, and the checkpoint written after each command that changed the catalog."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.output import Output

if TYPE_CHECKING:
    from collections.abc import Callable

    from govarc.audit.verify import AuditReport
    from govarc.sign.pki import Credentials
    from govarc.workspace import Workspace

# Commands that may append events; after them a checkpoint anchors the new head.
# (`audit checkpoint` writes its own; `audit list|verify` must change nothing.)
CHANGING = frozenset({"init", "agency", "ingest", "nightly", "package", "pki", "sign", "catalog", "transfer", "accept",
                      "send", "exchange", "inbox", "receive", "sign-for", "return"})


@click.group("audit")
def audit() -> None:
    """The audit trail (审计日志): who did what, in a hash chain anchored by signed checkpoints.

    \b
    Example:
      govarc audit list --agency SZF --action ingest --since 2026-01-01
      govarc audit verify
    """


@audit.command("list")
@click.option("--agency", help="Only events of this agency.")
@click.option("--action", help="Only this action (ingest, package, sign, send, …; see specs/audit-log.md).")
@click.option("--since", help="Only events at or after this date/time (UTC unless it has an offset).")
@click.option("--until", help="Only events before this date/time.")
@click.option("--object", "obj", help="Only events about this object (an archival code, batch or message id).")
@click.option("--limit", type=click.IntRange(1), help="At most this many events.")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def list_(out: Output, agency: str | None, action: str | None, since: str | None, until: str | None,
          obj: str | None, limit: int | None, json_: bool) -> None:
    """List audit events (序号 时间 操作人 机构 操作 对象 结果), oldest first.

    \b
    Example:
      govarc audit list --object SZF-WS-2026-D30-BGS-0001 --json
    """
    from govarc.audit.trail import list_events
    from govarc.workspace import Workspace

    ws = Workspace.open(Path(out.home))
    events = list_events(ws, agency=agency, action=action, since=since, until=until, obj=obj, limit=limit)
    if out.json or json_:
        out.emit_json({"events": [e.as_dict() for e in events]})
        return
    out.line("seq 序号\ttime 时间\tactor 操作人\tagency 机构\taction 操作\tobject 对象\toutcome 结果")
    for e in events:
        out.line(f"{e.seq}\t{e.at}\t{e.user}@{e.host}\t{e.agency or '-'}\t{e.action}\t{e.object}\t{e.outcome}")


@audit.command("verify")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def verify(out: Output, json_: bool) -> AuditReport:
    """Check every event's hash, the chain and each checkpoint; exit 3 when tampering is found.

    Each finding is one line naming the event (by sequence number) or checkpoint and what is wrong.

    \b
    Example:
      govarc --home /srv/govarc audit verify --json
    """
    from govarc.audit.verify import verify_trail
    from govarc.workspace import Workspace

    report = verify_trail(Workspace.open(Path(out.home)))
    if out.json or json_:
        out.emit_json(report.as_dict())
        return report
    for f in report.findings:
        click.echo(f"{f.level.value.upper()} {f.code} {f.path}: {f.message}")
    verdict = "tampering found 发现篡改" if report.exit_code else "intact 完整"
    out.line(f"{report.events} events 事件, head 末序号 {report.head}, {report.checkpoints} checkpoints 检查点: {verdict}")
    return report


@audit.command("checkpoint")
@click.pass_obj
def checkpoint(out: Output) -> None:
    """Anchor the chain's head in a signed checkpoint now (asks for the key's passphrase if needed).

    \b
    Example:
      GOVARC_KEY_PASSPHRASE=... govarc audit checkpoint
    """
    from govarc.audit.checkpoint import checkpoint_now
    from govarc.cli.pki import CliPrompter
    from govarc.workspace import Workspace

    path, why = checkpoint_now(Workspace.open(Path(out.home)), CliPrompter())
    out.line(f"checkpoint 检查点: {path or 'none needed'}" + (f" (unsigned: {why})" if path and why else ""))


class _EnvPrompter:
    """The passphrase for an automatic checkpoint: from the command's ``--passphrase-file`` when it has
    one, else $GOVARC_KEY_PASSPHRASE; never a prompt."""

    def __init__(self, passphrase_file: Path | None = None) -> None:
        self.passphrase_file = passphrase_file

    def passphrase(self, purpose: str, confirm: bool) -> bytes:
        from govarc.cli.pki import PASSPHRASE_ENV, CliPrompter
        from govarc.errors import ConfigError

        if self.passphrase_file is not None:
            return CliPrompter(self.passphrase_file).passphrase(purpose, confirm)
        value = os.environ.get(PASSPHRASE_ENV)
        if not value:
            raise ConfigError(f"no passphrase for {purpose} (set {PASSPHRASE_ENV})")
        return value.encode("utf-8")


def env_signer(ws: Workspace, passphrase_file: Path | None = None) -> Callable[[], tuple[str, Credentials] | None]:
    """The checkpoint signer of a long run, loaded once when first needed with the passphrase of
    ``passphrase_file`` or the environment (never a prompt); None when there is no key or it cannot
    be loaded (unsigned)."""
    loaded: list[tuple[str, Credentials] | None] = []

    def signer() -> tuple[str, Credentials] | None:
        if not loaded:
            from govarc.audit.checkpoint import load_signer
            from govarc.errors import GovarcError

            try:
                loaded.append(load_signer(ws, _EnvPrompter(passphrase_file)))
            except GovarcError:
                loaded.append(None)
        return loaded[0]

    return signer


def head_before(out: Output | None, command: str | None) -> int | None:
    """The head before the command, as the catalog file holds it (cheap: opened immutable, no side
    files). It may lag behind events another open connection keeps in the WAL: then the checkpoint
    after the command is written although the command appended nothing, which anchors those."""
    if out is None or command not in CHANGING or not (Path(out.home) / "govarc.toml").is_file():
        return None
    from govarc.catalog.audit import file_head

    return file_head(Path(out.home) / "catalog.sqlite")


def checkpoint_after(out: Output | None, command: str | None, before: int | None) -> None:
    """After a command that appended events, write a checkpoint (signed when the key's passphrase is in
    the environment); a failure here is one warning line, never the command's failure."""
    if out is None or command not in CHANGING:
        return
    home = Path(out.home)
    if not (home / "govarc.toml").is_file():
        return
    from govarc.catalog.audit import committed_head, file_head

    # The head as committed. With a write-ahead log beside the catalog (another process, a `govarc
    # status` or a backup, holds it open, so this command's last connection did not fold it into the
    # file) only a normal connection sees this command's events; without one the file holds them all,
    # and an immutable read creates no side files (a refused command leaves the workspace as it was).
    # With a log, the catalog is read through SQLite only once it is known to be the workspace's own:
    # a command refused for a foreign catalog must leave it (and its side files) untouched.
    path = home / "catalog.sqlite"
    if path.with_name(path.name + "-wal").exists():
        from govarc.catalog.identity import check_workspace_catalog
        from govarc.workspace import Workspace

        try:
            if check_workspace_catalog(Workspace.open(home)) is not None:
                return  # not claimed yet: the command did not get as far as changing it
        except Exception:  # noqa: BLE001 - not the workspace's catalog (or unreadable): the command said so
            return
        after = committed_head(path)
    else:
        after = file_head(path)
    if after is None or after == (before or 0):
        return
    try:
        from govarc.audit.checkpoint import checkpoint_now
        from govarc.workspace import Workspace

        checkpoint_now(Workspace.open(home), _EnvPrompter())
    except Exception as e:  # noqa: BLE001 - the command's changes are committed; say so and go on
        click.echo(f"govarc: warning: no audit checkpoint written: {e}", err=True)
