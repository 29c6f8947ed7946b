"""How the CLI finds an agency's signer for `govarc package` and `govarc nightly`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from govarc.cli.output import Output
from govarc.domain import Agency
from govarc.sign.signer import Signer
from govarc.workspace import Workspace


def agency_signer_factory(ws: Workspace, out: Output, passphrase_file: Path | None = None) -> Callable[[Agency], Signer | None]:
    """A function giving each agency's signer (None when the agency has no key); asks once per agency.

    The passphrase comes from ``passphrase_file``, else $GOVARC_KEY_PASSPHRASE, else a prompt on a
    terminal; a cron job therefore sets the variable or passes the file.
    """
    from govarc.cli.pki import CliPrompter
    from govarc.sign.agency import load_agency_signer

    prompter = CliPrompter(passphrase_file)

    @cache
    def signer_for(agency: Agency) -> Signer | None:
        return load_agency_signer(ws, agency.code, prompter)

    return signer_for
