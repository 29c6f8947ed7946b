"""The govarc command line: parse, make one library call, render. Only this package imports click/rich."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from typing import Any

import click

from govarc import __version__
from govarc.cli.output import Output
from govarc.errors import EXIT_UNEXPECTED, GovarcError


# Commands load on first use: a cron job calling `govarc verify` should not pay for pypdf and SQLite.
_COMMANDS = {
    "init": ("govarc.cli.workspace", "init"),
    "agency": ("govarc.cli.workspace", "agency"),
    "status": ("govarc.cli.workspace", "status"),
    "ingest": ("govarc.cli.ingest", "ingest"),
    "nightly": ("govarc.cli.ingest", "nightly"),
    "package": ("govarc.cli.package", "package"),
    "verify": ("govarc.cli.verify", "verify"),
    "pki": ("govarc.cli.pki", "pki"),
    "sign": ("govarc.cli.sign", "sign"),
    "catalog": ("govarc.cli.catalog", "catalog"),
}


class _Group(click.Group):
    """The one boundary: a GovarcError becomes one line and its exit code; a traceback only with --verbose."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS and cmd_name not in self.commands:
            module, attr = _COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except GovarcError as e:
            _fail(ctx, str(e), e.exit_code)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", 130)
        except Exception as e:  # the last resort: never a bare traceback for a user
            _fail(ctx, f"unexpected error: {type(e).__name__}: {e}", EXIT_UNEXPECTED)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    out = ctx.find_object(Output)
    if out is not None and out.verbose:
        traceback.print_exc()
    click.echo(f"govarc: error: {message}", err=True)
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
    # pypdf warns on stderr about harmless quirks of real PDFs; cron jobs must stay quiet when fine.
    logging.getLogger("pypdf").setLevel(logging.WARNING if verbose else logging.ERROR)
