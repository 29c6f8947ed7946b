"""`govarc init`, `govarc agency …`, `govarc status`: the workspace and its agencies."""

from __future__ import annotations

from pathlib import Path

import click

from govarc.admin import add_agency, init_workspace
from govarc.catalog.identity import open_workspace_catalog
from govarc.cli.output import Output
from govarc.domain import DEFAULT_ACCEPTED, Agency
from govarc.errors import ConfigError
from govarc.workspace import Workspace


@click.command("init")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="A city file (TOML with [[agency]] tables) whose agencies to add.")
@click.option("--archives", "archives_code", metavar="CODE",
              help="Create an archives workspace (档案馆) with this code: it accepts transfers into its holdings.")
@click.option("--name", "archives_name", help="The archives' name (with --archives).")
@click.option("--inbox", help="With --archives: the transport URL or folder batches arrive at.")
@click.pass_obj
def init(out: Output, config: Path | None, archives_code: str | None, archives_name: str | None,
         inbox: str | None) -> None:
    """Create a workspace in the home folder: govarc.toml, the catalog and the store.

    Safe to run again: an existing workspace is kept, and agencies from --config are added.
    With --archives CODE --name NAME the workspace is the archives' (holdings, receipts); give
    it a key with `govarc pki init-ca` and `govarc pki issue CODE` (or `pki import`).

    \b
    Example:
      govarc --home /srv/govarc init --config samples/city.toml
      govarc --home /srv/archives init --archives DAG --name 柳州市档案馆 --inbox file:///srv/exchange
    """
    holdings = None
    if archives_code is not None:
        from govarc.domain import is_agency_code
        from govarc.workspace import HoldingsSettings

        if not is_agency_code(archives_code):
            raise click.BadParameter("1-32 letters, digits or hyphens", param_hint="--archives")
        if not archives_name or not archives_name.strip():
            raise click.UsageError("--archives needs --name (the archives' name)")
        holdings = HoldingsSettings(code=archives_code, name=archives_name.strip(), inbox=inbox)
    elif archives_name is not None or inbox is not None:
        raise click.UsageError("--name and --inbox go with --archives")
    ws, changed = init_workspace(Path(out.home), config, holdings)
    if out.json:
        out.emit_json({"home": str(ws.home), "changed": changed, "agencies": [a.code for a in ws.agencies]})
    else:
        verb = "created/updated" if changed else "unchanged"
        out.line(f"workspace {verb}: {ws.home} ({len(ws.agencies)} agencies)")


@click.group("agency")
def agency() -> None:
    """Manage the agencies (立档单位) this installation serves.

    \b
    Example:
      govarc agency add CZJ --name 柳州市财政局 --fonds 0035 --drop /srv/oa/CZJ
    """


@agency.command("add")
@click.argument("code")
@click.option("--name", required=True, help="立档单位名称.")
@click.option("--fonds", required=True, help="全宗号 (the agency's fonds code at the archives).")
@click.option("--fonds-name", help="全宗名称 (default: the name).")
@click.option("--unit", default="BGS", show_default=True, help="Default 机构(问题)代码.")
@click.option("--drop", type=click.Path(file_okay=False, path_type=Path), help="The agency's drop folder.")
@click.option("--accept", "accepted", multiple=True, help="An accepted MIME type (repeat; default: PDF, OFD, DOCX, TIFF, JPEG, PNG).")
@click.option("--allow-classified", is_flag=True, help="Accept 秘密/机密 material.")
@click.option("--unsigned", is_flag=True, help="Package without a signature while the agency has no key.")
@click.pass_obj
def agency_add(out: Output, code: str, name: str, fonds: str, fonds_name: str | None, unit: str,
               drop: Path | None, accepted: tuple[str, ...], allow_classified: bool, unsigned: bool) -> None:
    """Add agency CODE to the workspace.

    \b
    Example:
      govarc agency add DAJ --name 柳州市档案局 --fonds 0001 --unit YWK --drop /srv/oa/DAJ
    """
    from govarc.workspace import parse_agencies

    raw: dict[str, object] = {
        "code": code, "name": name, "fonds": fonds, "fonds_name": fonds_name or name, "unit": unit,
        "accepted_formats": list(accepted or DEFAULT_ACCEPTED), "allow_classified": allow_classified,
        "unsigned": unsigned,
    }
    if drop is not None:
        if not drop.is_dir():
            raise ConfigError("`--drop` names no existing folder; create it first", str(drop))
        raw["drop"] = str(drop.resolve())
    ws = Workspace.open(Path(out.home))
    (new,) = parse_agencies({"agency": [raw]}, Path.cwd(), "command line")
    ws = add_agency(ws, new)
    if out.json:
        out.emit_json(new.as_toml())
    else:
        out.line(f"added agency {new.code} {new.name}")


def _agency_row(a: Agency) -> dict[str, object]:
    return {"code": a.code, "name": a.name, "fonds": a.fonds, "unit": a.unit,
            "drop": str(a.drop) if a.drop else None, "allow_classified": a.allow_classified}


@agency.command("list")
@click.pass_obj
def agency_list(out: Output) -> None:
    """List the agencies of the workspace.

    \b
    Example:
      govarc --json agency list
    """
    ws = Workspace.open(Path(out.home))
    rows = [_agency_row(a) for a in ws.agencies]
    if out.json:
        out.emit_json(rows)
        return
    from rich.table import Table

    table = Table("代码 code", "名称 name", "全宗号 fonds", "机构代码 unit", "接收目录 drop")
    for r in rows:
        table.add_row(str(r["code"]), str(r["name"]), str(r["fonds"]), str(r["unit"]), str(r["drop"] or "-"))
    out.console().print(table)


@click.command("status")
@click.option("--agency", metavar="CODE", help="Only this agency.")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document (as the global --json).")
@click.pass_obj
def status(out: Output, agency: str | None, json_: bool) -> None:
    """Records, packages and where they are, per agency.

    `signed` counts the packages whose agency signature is on disk. Then the records' states
    (specs/inventory.md): transferred to the archives (accepted, rejected, or awaiting the
    archives' receipt), and the exchange: messages sent, recipients who signed for or returned
    them, and recipients overdue (no answer past the deadline).

    \b
    Example:
      govarc --home /srv/govarc status
      govarc status --agency SZF --json
    """
    import datetime as dt

    from govarc.archiving.pending import agency_counts
    from govarc.catalog.summary import InventoryState, exchange_counts, state_counts

    if json_:
        out.json = True
    ws = Workspace.open(Path(out.home))
    agencies = list(ws.agencies)
    if agency is not None:
        agencies = [a for a in agencies if a.code == agency]
        if not agencies:
            codes = ", ".join(a.code for a in ws.agencies) or "(none)"
            raise click.BadParameter(f"{agency!r} is not an agency of this workspace; choose from: {codes}",
                                     param_hint="--agency")
    rows = []
    with open_workspace_catalog(ws) as cat:
        states: dict[str, dict[str, int]] = {}
        for sc in state_counts(cat, [a.code for a in agencies]):
            states.setdefault(sc.agency, {})[sc.state.value] = sc.records
        exchange = {e.sender: e for e in exchange_counts(cat, dt.datetime.now(dt.timezone.utc))}
        for a in agencies:
            c = agency_counts(cat, ws.package_store(a.code), a.code)
            st = {s.value: states.get(a.code, {}).get(s.value, 0) for s in InventoryState}
            e = exchange.get(a.code)
            awaiting = st[InventoryState.TRANSFERRED.value]
            accepted, rejected = st[InventoryState.ACCEPTED.value], st[InventoryState.REJECTED.value]
            rows.append({"agency": a.code, "name": a.name, "records": c.records, "packages": c.packages,
                         "signed": c.signed, "bytes": c.bytes, "states": st,
                         "transferred": accepted + rejected + awaiting, "awaiting_receipt": awaiting,
                         "accepted": accepted, "rejected": rejected,
                         "exchange": {"sent": e.messages if e else 0, "recipients": e.recipients if e else 0,
                                      "signed_for": e.signed_for if e else 0, "returned": e.returned if e else 0,
                                      "overdue": e.overdue if e else 0}})
    if out.json:
        out.emit_json(rows)
        return
    from rich.table import Table

    table = Table("机构 agency", "名称 name", "记录 records", "包 packages", "已签名 signed", "字节 bytes", title="govarc")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("agency", "name", "records", "packages", "signed", "bytes")))
    flows = Table("机构 agency", "已移交 transferred", "待回执 awaiting receipt", "已接收 accepted", "已退回 rejected",
                  "已发送 sent", "签收 signed for", "退回 returned", "逾期 overdue",
                  title="移交与交换 transfer and exchange")
    for r in rows:
        x = r["exchange"]
        assert isinstance(x, dict)
        flows.add_row(*(str(r[k]) for k in ("agency", "transferred", "awaiting_receipt", "accepted", "rejected")),
                      *(str(x[k]) for k in ("sent", "signed_for", "returned", "overdue")))
    console = out.console()
    console.print(table)
    console.print(flows)
