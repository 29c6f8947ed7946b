"""Create a workspace (home) and manage its agencies."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

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
    parse_exchange,
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
    oa_given: dict[str, bool] = {}
    if config is not None:
        config = Path(config)
        data = read_toml(config)
        agencies = parse_agencies(data, config.parent.resolve(), str(config), city=True)
        oa_given = _names_oa_keys(data)
    changed = created = False
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
        changed = created = True
    if ws.is_archives:
        for sub in (ws.holdings_dir, ws.rejected_dir, ws.receipts_dir):
            sub.mkdir(parents=True, exist_ok=True)
    for sub in (ws.objects_dir, ws.logs_dir, ws.tmp_dir, home / "store", home / "keys", ws.trust_dir, ws.crl_dir):
        sub.mkdir(parents=True, exist_ok=True)
    for agency in agencies:
        current = next((a for a in ws.agencies if a.code == agency.code), None)
        if current is not None and not oa_given.get(agency.code, False):
            agency = _keep_oa(agency, current)
        if current != agency:
            ws = ws.with_agency(agency)
            changed = True
    with open_workspace_catalog(ws):
        pass
    if created:
        from govarc.audit.trail import record_event

        holdings = ws.settings.holdings
        record_event(ws, "init", "workspace", holdings.code if holdings is not None else "", role=ws.settings.role,
                     agencies=[a.code for a in ws.agencies])
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


OA_KEYS = ("oa_command", "oa_drop", "oa_timeout", "auto_sign_for")


def _names_oa_keys(data: dict[str, Any]) -> dict[str, bool]:
    """Per agency code of a city file (already checked by :func:`parse_agencies`): whether its
    ``[[agency]]`` table names any of :data:`OA_KEYS`."""
    entries = data.get("agency", [])
    return {str(e.get("code", "")).strip(): any(k in e for k in OA_KEYS)
            for e in (entries if isinstance(entries, list) else []) if isinstance(e, dict)}


def _keep_oa(agency: Agency, current: Agency) -> Agency:
    return replace(agency, oa_command=current.oa_command, oa_drop=current.oa_drop, oa_timeout=current.oa_timeout,
                   auto_sign_for=current.auto_sign_for)


def parse_group(text: str) -> tuple[str, tuple[str, ...]]:
    """``NAME=CODE,CODE`` (``govarc exchange configure --group``) as (name, codes); the name and
    codes are checked with the rest of ``[exchange]`` by :func:`set_exchange`."""
    name, sep, codes = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--group {text[:80]!r}: expected NAME=CODE,CODE (e.g. 全市各委办局=CZJ,DAJ)")
    return name.strip(), tuple(c.strip() for c in codes.split(",") if c.strip())


def parse_oa_drop(text: str) -> tuple[str, str]:
    """``CODE=FOLDER`` (``govarc exchange configure --oa-drop``) as (code, folder)."""
    code, sep, folder = text.partition("=")
    if not sep or not code.strip() or not folder.strip():
        raise ConfigError(f"--oa-drop {text[:80]!r}: expected CODE=FOLDER (e.g. CZJ=/srv/oa/CZJ/incoming)")
    return code.strip(), folder.strip()


def set_exchange(ws: Workspace, url: str | None = None, groups: Sequence[tuple[str, Sequence[str]]] = (),
                 oa_drops: Sequence[tuple[str, str]] = ()) -> tuple[Workspace, bool]:
    """Configure the document exchange of ``ws``: ``[exchange]`` ``url``, groups, agencies' OA drop folders.

    ``url`` names the hub (needed unless ``[exchange]`` exists); each of ``groups`` (name, codes)
    adds that group or replaces the group of that name (the others are kept, as are
    ``duplicate_window_days`` and ``[exchange.transport]``); each of ``oa_drops`` (agency code,
    folder) sets that agency's ``oa_drop`` (relative to the home; an existing folder, not a
    link) in place of its ``oa_command``. Checked as govarc.toml is (ConfigError naming the key,
    nothing written); refused in an archives workspace. Returns the workspace and whether
    govarc.toml changed (the same values again change nothing).
    """
    where = str(ws.home / CONFIG_NAME)
    if ws.is_archives:
        raise ConfigError("this is an archives workspace: [exchange] belongs to an agency workspace", where)
    current = ws.settings.exchange
    if current is None and url is None:
        raise ConfigError("no [exchange] in govarc.toml yet: name the hub with --url", where)
    raw = current.as_toml() if current is not None else {}
    if url is not None:
        raw["url"] = url
    if groups:
        table = dict(raw.get("groups", {}))
        for name, codes in groups:
            table[name] = list(codes)
        raw["groups"] = table
    new = parse_exchange(raw, "command line")
    clash = sorted(name for name, _ in new.groups if any(a.code == name for a in ws.agencies))
    if clash:
        raise ConfigError(f"[exchange.groups]: {', '.join(clash)} is the code of an agency of this workspace; "
                          "a group needs a name of its own", "command line")
    agencies = list(ws.agencies)
    for code, folder in oa_drops:
        agency = ws.agency(code)
        path = (ws.home / folder).resolve()
        try:
            mode = os.lstat(ws.home / folder).st_mode
        except OSError:
            raise ConfigError(f"agency {code}: the OA drop folder does not exist", str(path)) from None
        if not stat.S_ISDIR(mode):
            raise ConfigError(f"agency {code}: the OA drop folder must be a folder, not a link or a file", str(path))
        agencies[agencies.index(agency)] = replace(agency, oa_drop=path, oa_command=None)
    settings = replace(ws.settings, exchange=new, agencies=tuple(agencies))
    if settings == ws.settings:
        return ws, False
    write_settings(settings)
    return Workspace(ws.home, settings), True
