"""Create a workspace (home) and manage its agencies."""

from __future__ import annotations


from dataclasses import replace
from pathlib import Path

from govarc.catalog.identity import open_workspace_catalog
from govarc.domain import Agency
from govarc.errors import ConfigError
from govarc.workspace import (
    CONFIG_NAME,
    ROLE_ARCHIVES,
    HoldingsSettings,
    Settings,
    Workspace,
    parse_agencies,
    parse_archives,
    read_toml,
    write_settings,
)


def init_workspace(home: Path, config: Path | None = None,
                   archives: HoldingsSettings | None = None) -> tuple[Workspace, bool]:
    """Create ``home`` (settings, catalog, store) or open it; add the agencies of ``config``.

    With ``archives`` the workspace is an archives installation (``[workspace] role = "archives"``
    and ``[holdings]``) with its holdings store; an existing workspace of the other kind, or an
    archives workspace of another code, is refused. Returns the workspace and whether anything
    changed. Running it again with the same arguments changes nothing.
    """
    home = Path(home).resolve()
    agencies: tuple[Agency, ...] = ()
    if config is not None:
        config = Path(config)
        agencies = parse_agencies(read_toml(config), config.parent.resolve(), str(config), city=True)
    changed = False
    if Workspace.exists(home):
        ws = Workspace.open(home)
        if archives is not None:
            have = ws.settings.holdings
            if have is None:
                raise ConfigError("an agency workspace is here already; an archives workspace needs its own home",
                                  str(home / CONFIG_NAME))
            if have.code != archives.code:
                raise ConfigError(f"this is the workspace of archives {have.code}, not {archives.code}",
                                  str(home / CONFIG_NAME))
    else:
        home.mkdir(parents=True, exist_ok=True)
        if archives is not None:
            write_settings(Settings(home=home, role=ROLE_ARCHIVES, holdings=archives))
        else:
            write_settings(Settings(home=home))
        ws = Workspace.open(home)
        changed = True
    if ws.is_archives:
        for sub in (ws.holdings_dir, ws.rejected_dir, ws.receipts_dir):
            sub.mkdir(parents=True, exist_ok=True)
    for sub in (ws.objects_dir, ws.logs_dir, ws.tmp_dir, home / "store", home / "keys", ws.trust_dir, ws.crl_dir):
        sub.mkdir(parents=True, exist_ok=True)
    for agency in agencies:
        current = next((a for a in ws.agencies if a.code == agency.code), None)
        if current != agency:
            ws = ws.with_agency(agency)
            changed = True
    with open_workspace_catalog(ws):
        pass
    return ws, changed


def add_agency(ws: Workspace, agency: Agency) -> Workspace:
    """Add an agency; refuses a code that exists (use a new code, or edit govarc.toml)."""
    if any(a.code == agency.code for a in ws.agencies):
        raise ConfigError(f"agency {agency.code} exists already", str(ws.home / CONFIG_NAME))
    ws = ws.with_agency(agency)
    ws.store_dir(agency.code).mkdir(parents=True, exist_ok=True)
    return ws


def set_archives(ws: Workspace, code: str, url: str, name: str | None = None) -> tuple[Workspace, bool]:
    """Name the archives the agencies of ``ws`` transfer to: ``[archives]`` ``code``, ``url``, ``name``.

    The other keys of an existing ``[archives]`` (policy, transport options) are kept. Checked as
    govarc.toml is (ConfigError naming the key); refused in an archives workspace. Returns the
    workspace and whether govarc.toml changed (the same values again change nothing).
    """
    where = str(ws.home / CONFIG_NAME)
    if ws.is_archives:
        raise ConfigError("this is an archives workspace: [archives] names the archives an agency workspace "
                          "transfers to", where)
    raw = ws.settings.archives.as_toml() if ws.settings.archives is not None else {}
    raw.update({"code": code, "url": url})
    if name is not None:
        raw["name"] = name
    new = parse_archives(raw, "command line")
    if new == ws.settings.archives:
        return ws, False
    settings = replace(ws.settings, archives=new)
    write_settings(settings)
    return Workspace(ws.home, settings), True
