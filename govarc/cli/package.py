"""`govarc package …`: build packages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.output import Output
from govarc.package.build import build_package, collect_source
from govarc.package.metadata import load_metadata

if TYPE_CHECKING:
    from govarc.archiving.agencies import PackagingReport


@click.group("package", invoke_without_command=True)
@click.option("--agency", "code", help="Only this agency (default: every agency of the workspace).")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the agencies' key passphrase (else $GOVARC_KEY_PASSPHRASE, else a prompt).")
@click.pass_context
def package(ctx: click.Context, code: str | None, passphrase_file: Path | None) -> PackagingReport | None:
    """Build archival packages (BagIt bags, govarc profile v1).

    Without a subcommand: build and sign a package for every record of the catalog that has none,
    into the agency's store; `--json` lists what was built. An agency without a key is refused
    (PACKAGE_NO_KEY, exit 6) unless govarc.toml sets `unsigned = true` for it.

    \b
    Example:
      govarc --home /srv/govarc package --agency SZF
      govarc package build ./正文与附件 --metadata record.json --out 0012-WS·2007-Y-BGS-0001
    """
    if ctx.invoked_subcommand is not None:
        return None
    from govarc.archiving.agencies import package_agencies
    from govarc.cli.signing import agency_signer_factory
    from govarc.workspace import Workspace

    out: Output = ctx.obj
    ws = Workspace.open(Path(out.home))
    agencies = [ws.agency(code)] if code else list(ws.agencies)
    signer_for = agency_signer_factory(ws, out, passphrase_file)
    report = package_agencies(ws, agencies, signer_for, progress=lambda c: out.progress(f"packaging {c}"))
    if out.json:
        out.emit_json(report.as_list())
    else:
        for p in report.packaged:
            out.line(f"packaged {p.archival_code}  {p.path}{'  signed' if p.signed else ''}")
        out.line(f"{len(report.packaged)} packages built")
    return report


@package.command("build")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--metadata", "metadata", required=True, type=click.Path(path_type=Path),
              help="Metadata file: JSON (English or Chinese keys) or XML in the record schema.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Where to write the package; must not exist.")
@click.option("--zip", "zip_", is_flag=True, help="Write one .zip instead of a folder.")
@click.option("--sm3", is_flag=True, help="Add SM3 manifests (GB/T 32905) beside SHA-256.")
@click.pass_obj
def build(out_: Output, source: Path, metadata: Path, out: Path, zip_: bool, sm3: bool) -> None:
    """Build one package from SOURCE (a folder or a file) and a metadata file.

    SOURCE is only read. The package is written under a temporary name beside --out and renamed
    when complete, so a crash leaves nothing at --out.

    \b
    Example:
      govarc package build specs/examples/source --metadata specs/examples/record.json --out build/pkg --zip
    """
    record = load_metadata(metadata)
    total = sum(f.size for f in collect_source(source))
    with out_.progress("building", total) as progress:
        info = build_package(source, record, out, zip=zip_, sm3=sm3, progress=progress)
    if out_.json:
        out_.emit_json(info.as_dict())
    else:
        out_.line(f"built {info.path}  {info.archival_code}  {info.payload_files} files, {info.payload_bytes} bytes")
