"""`govarc package …`: build packages."""

from __future__ import annotations

from pathlib import Path

import click

from govarc.cli.output import Output
from govarc.package.build import build_package, collect_source
from govarc.package.metadata import load_metadata


@click.group("package")
def package() -> None:
    """Build archival packages (BagIt bags, govarc profile v1).

    \b
    Example:
      govarc package build ./正文与附件 --metadata record.json --out 0012-WS·2007-Y-BGS-0001
    """


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
      govarc package build samples/doc --metadata samples/doc.json --out build/pkg --zip
    """
    record = load_metadata(metadata)
    total = sum(f.size for f in collect_source(source))
    with out_.progress("building", total) as progress:
        info = build_package(source, record, out, zip=zip_, sm3=sm3, progress=progress)
    if out_.json:
        out_.emit_json(info.as_dict())
    else:
        out_.line(f"built {info.path}  {info.archival_code}  {info.payload_files} files, {info.payload_bytes} bytes")
