"""The govarc command line: parse, make one library call, render. Only this package imports click/rich."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any, NoReturn

import click

from govarc import __version__
from govarc.cli.output import Output
from govarc.errors import (
    EXIT_CONFIG,
    EXIT_DISK_FULL,
    EXIT_INVALID,
    EXIT_LOCKED,
    EXIT_SIGNATURE,
    EXIT_TRANSFER,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    GovarcError,
    as_govarc_error,
)


# Commands load on first use: a cron job calling `govarc verify` should not pay for pypdf and SQLite.
_COMMANDS = {
    "init": ("govarc.cli.workspace", "init"),
    "agency": ("govarc.cli.workspace", "agency"),
    "status": ("govarc.cli.workspace", "status"),
    "ingest": ("govarc.cli.ingest", "ingest"),
    "nightly": ("govarc.cli.nightly", "nightly"),
    "package": ("govarc.cli.package", "package"),
    "verify": ("govarc.cli.verify", "verify"),
    "pki": ("govarc.cli.pki", "pki"),
    "sign": ("govarc.cli.sign", "sign"),
    "catalog": ("govarc.cli.catalog", "catalog"),
    "transfer": ("govarc.cli.transfer", "transfer"),
    "accept": ("govarc.cli.accept", "accept"),
    "send": ("govarc.cli.exchange", "send"),
    "exchange": ("govarc.cli.exchange", "exchange"),
    "inbox": ("govarc.cli.inbox", "inbox"),
    "inventory": ("govarc.cli.inventory", "inventory"),
    "receive": ("govarc.cli.inbox", "receive"),
    "sign-for": ("govarc.cli.inbox", "sign_for"),
    "return": ("govarc.cli.inbox", "return_"),
    "report": ("govarc.cli.report", "report"),
    "audit": ("govarc.cli.audit", "audit"),
}


# The one-line summary `govarc --help` shows for each command, so listing the commands loads none
# of them (loading them all costs pypdf, cryptography, lxml, boto3… ~0.5 s). It is the first
# sentence of the command's docstring; tests/cli/test_startup.py checks the two agree. A command
# without one here is loaded to ask it.
_SUMMARIES = {
    "init": "Create a workspace in the home folder: govarc.toml, the catalog and the store.",
    "agency": "Manage the agencies (立档单位) this installation serves.",
    "status": "Records, packages and where they are, per agency.",
    "ingest": "Register documents from files or folders in the catalog, with archival codes.",
    "nightly": "The nightly job: for every agency, ingest, package (and sign), transfer, import receipts.",
    "package": "Build archival packages (BagIt bags, govarc profile v1).",
    "verify": "Verify packages (folders or .zip files) and their signatures, and report every finding.",
    "pki": "Keys and certificates: a local CA, agency certificates, imports, trust anchors and CRLs.",
    "sign": "Sign PACKAGE: a detached CMS signature over its tag manifest, at signatures/<CODE>.p7s.",
    "catalog": "Look after the catalog (catalog.sqlite).",
    "transfer": "Transfer packages to the archives (移交) and import their signed receipts (接收回执).",
    "accept": "Accept transfers (接收): check every complete batch, keep what passes, publish signed receipts.",
    "send": "Send PACKAGE (an archival code of the sender, or a package path) to many agencies.",
    "exchange": "Supervise the document exchange (电子监察): receipts, signed for, returned, overdue.",
    "inbox": "List the messages waiting in each agency's exchange inbox (收文待收).",
    "receive": "Receive the messages in each agency's inbox: verify, keep as 收文, hand over to the OA.",
    "sign-for": "Sign for a received message (签收): publish a receipt signed by the agency.",
    "return": "Return a received message to its sender (退回), with a reason, in a receipt signed by the agency.",
    "inventory": "Write an inventory (档案目录) of the catalog's records: one row per record with Chinese and English headers, then totals per agency and year (件数, files, 数据量 in GB) and a grand total.",
    "report": "Write a static HTML report: records archived per agency per month, records by state, exchange answers, transfer batches, warnings by code; a chart and a table each.",
    "audit": "The audit trail (审计日志): who did what, in a hash chain anchored by signed checkpoints.",
}


class _Group(click.Group):
    """The one boundary: a GovarcError becomes one line and its exit code; a traceback only with --verbose.

    A command that returns a result with an ``exit_code`` (a verify report…), or an exit code the
    library worked out, exits with it: commands render, the result decides the exit.
    """

    # Set by the program's entry (govarc.__main__.run), which pauses the garbage collector while
    # the command loads: resumed once it is loaded, with what start-up loaded frozen.
    gc_paused = False

    def resume_gc(self) -> None:
        if self.gc_paused:
            self.gc_paused = False
            gc.freeze()
            gc.enable()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        finally:
            self.resume_gc()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS and cmd_name not in self.commands:
            module, attr = _COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, from :data:`_SUMMARIES` for the commands not loaded yet."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name)
            if cmd is None and name in _SUMMARIES:
                cmd = click.Command(name, help=_SUMMARIES[name])  # stands in for the help line only
            else:
                cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)  # as click does
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        finally:  # `main` noted the audit chain's head; a command that appended events ends with a checkpoint
            from govarc.cli.audit import checkpoint_after

            checkpoint_after(ctx.find_object(Output), ctx.invoked_subcommand, ctx.meta.get(_AUDIT_HEAD))

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except GovarcError as e:
            _fail(ctx, str(e), e.exit_code, e.message, e.path)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", EXIT_INTERRUPTED, "interrupted", None)
        except Exception as e:  # the last resort: never a bare traceback for a user
            if isinstance(e, BrokenPipeError) and _stdout_gone():
                _reader_gone(ctx)
            err = as_govarc_error(e)
            if err is not None:
                _fail(ctx, str(err), err.exit_code, err.message, err.path)
            message = f"unexpected error: {type(e).__name__}: {e}"
            _fail(ctx, message, EXIT_UNEXPECTED, message, None)
        # A command returns its result; the result's exit code (a report's verdict) is the exit.
        code = result if isinstance(result, int) else getattr(result, "exit_code", 0)
        if code:
            ctx.exit(code)
        return result


_AUDIT_HEAD = "govarc.audit_head"
# Commands that never load pypdf (tests/cli/test_startup.py checks verify's imports), and None:
# `govarc --help`/`--version` alone.
_NO_PDF = frozenset({None, "verify"})


# Exit codes by name, for `--json` errors ({"error": {"code": "config", ...}, "exit_code": 6}).
EXIT_INTERRUPTED = 130
EXIT_READER_GONE = 141  # what a shell reports for a program killed by SIGPIPE: the reader of stdout closed it
EXIT_NAMES = {
    EXIT_UNEXPECTED: "unexpected", EXIT_USAGE: "usage", EXIT_INVALID: "invalid", EXIT_SIGNATURE: "signature",
    EXIT_TRANSFER: "transfer", EXIT_CONFIG: "config", EXIT_LOCKED: "locked", EXIT_DISK_FULL: "disk_full",
    EXIT_INTERRUPTED: "interrupted", EXIT_READER_GONE: "reader_gone",
}


def error_json(message: str, code: int, path: str | None) -> dict[str, Any]:
    """The one JSON object `--json` prints on stdout when a command fails."""
    return {"error": {"code": EXIT_NAMES.get(code, str(code)), "message": message, "path": path}, "exit_code": code}


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (poll says POLLERR on its write end)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _reader_gone(ctx: click.Context) -> NoReturn:
    """``govarc … | head -1``: the reader has what it wanted. Exit quietly, as a program killed by
    SIGPIPE would, with stdout pointed at /dev/null so that flushing it at exit raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    ctx.exit(EXIT_READER_GONE)


def _fail(ctx: click.Context, line: str, code: int, message: str, path: str | None) -> NoReturn:
    """Print the one line on stderr (and with --json one JSON object on stdout), then exit ``code``."""
    out = ctx.find_object(Output)
    if out is not None and out.verbose:
        import traceback

        traceback.print_exc()
    if out is not None and out.json:
        import json

        click.echo(json.dumps(error_json(message, code, path), ensure_ascii=False))
    click.echo(f"govarc: error: {line}", err=True)
    ctx.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "json_", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and more detail.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=str),
    envvar="GOVARC_HOME",
    help="Workspace folder (default: $GOVARC_HOME, else the current folder).",
)
@click.version_option(__version__, prog_name="govarc")
@click.pass_context
def main(ctx: click.Context, json_: bool, verbose: bool, quiet: bool, home: str | None) -> None:
    """govarc: signed archival packages for government electronic records.

    \b
    Example:
      govarc package build ./doc --metadata doc.json --out pkg
      govarc verify pkg
    """
    ctx.obj = Output(json=json_, verbose=verbose, quiet=quiet, home=home or os.getcwd(), tty=sys.stdout.isatty())
    from govarc.cli.audit import head_before

    ctx.meta[_AUDIT_HEAD] = head_before(ctx.obj, ctx.invoked_subcommand)
    # pypdf warns on stderr about harmless quirks of real PDFs; cron jobs must stay quiet when fine.
    # Commands that never read a PDF skip it: importing logging is a tenth of verify's start-up.
    if ctx.invoked_subcommand not in _NO_PDF:
        import logging

        logging.getLogger("pypdf").setLevel(logging.WARNING if verbose else logging.ERROR)
