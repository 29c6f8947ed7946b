"""`govarc verify`: check packages and report every finding."""

from __future__ import annotations

from pathlib import Path

import click

from govarc.cli.output import Output
from govarc.errors import EXIT_INVALID, EXIT_OK, EXIT_SIGNATURE
from govarc.findings import Kind
from govarc.package.verify import VerifyResult, verify_package


def exit_code(results: list[VerifyResult]) -> int:
    """0 when every package is valid; 3 when any has an integrity error; else 4 for signature errors."""
    errors = [f for r in results for f in r.errors]
    if not errors:
        return EXIT_OK
    if any(f.kind is Kind.INTEGRITY for f in errors):
        return EXIT_INVALID
    return EXIT_SIGNATURE


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def verify(out: Output, paths: tuple[Path, ...]) -> None:
    """Verify packages (folders or .zip files) and report every finding.

    Checks structure, the profile, every digest, Payload-Oxum, metadata against the schema and
    unsafe paths. Exit 0 when all are valid, 3 when any is not.

    \b
    Example:
      govarc verify build/pkg build/other.zip
      govarc --json verify build/pkg | jq '.packages[0].findings'
    """
    results = []
    for path in paths:
        with out.progress(f"verifying {path.name}") as progress:
            results.append(verify_package(path, progress=progress))
    code = exit_code(results)
    if out.json:
        out.emit_json({"valid": code == EXIT_OK, "packages": [r.as_dict() for r in results]})
    else:
        for r in results:
            if r.valid and out.quiet:
                continue
            verdict = "有效 VALID" if r.valid else "无效 INVALID"
            click.echo(f"{verdict}  {r.path}")
            for f in r.findings:
                click.echo(f"  {f.level.value:7} {f.code}  {f.path}: {f.message}")
    if code:
        raise SystemExit(code)
