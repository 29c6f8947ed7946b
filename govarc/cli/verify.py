"""`govarc verify`: check packages and report every finding."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import click

from govarc.cli.output import Output
from govarc.package.verify import VerifyReport, verify_package
from govarc.sign.agency import workspace_policy
from govarc.sign.validate import SignaturePolicy, load_crls, load_trust_anchors, make_signature_check


def _parse_at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2027-01-31 or 2027-01-31T12:00:00+08:00", param_hint="--at") from None
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at


def _policy(out: Output, trust: tuple[Path, ...], crl: tuple[Path, ...], at: dt.datetime | None,
            allow_unsigned: bool) -> SignaturePolicy:
    """Options first; in a workspace its trust store and CRLs fill in what the options leave out."""
    from govarc.workspace import Workspace

    ws = Workspace.open(Path(out.home)) if Workspace.exists(Path(out.home)) else None
    base = workspace_policy(ws, at=at, allow_unsigned=allow_unsigned) if ws else SignaturePolicy(at=at, allow_unsigned=allow_unsigned)
    anchors = load_trust_anchors(list(trust)) if trust else base.anchors
    crls = load_crls(list(crl)) if crl else base.crls
    return replace(base, anchors=anchors, crls=crls)


def _signer_line(s: dict[str, object]) -> str:
    codes = s.get("codes")
    verdict = "valid" if s.get("valid") else "NOT VALID " + ",".join(str(c) for c in (codes if isinstance(codes, list) else []))
    return (f"  signer  {s.get('subject') or 'unknown'}  agency {s.get('agency_code') or '-'}  "
            f"signed {s.get('signing_time') or '-'}  {s.get('role')}  {verdict}")


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--trust", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Trust anchors: a PEM file or a folder of them (repeatable; default: the workspace's trust/).")
@click.option("--crl", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CRL to check revocation against (repeatable; default: the workspace's trust/crls/).")
@click.option("--at", "at", metavar="DATE", help="Check certificates at DATE instead of each signature's signing time.")
@click.option("--allow-unsigned", is_flag=True, help="Accept packages without any signature (signed ones are still checked).")
@click.option("--json", "json_", is_flag=True, help="Print one JSON document (same as govarc --json verify).")
@click.pass_obj
def verify(out: Output, paths: tuple[Path, ...], trust: tuple[Path, ...], crl: tuple[Path, ...], at: str | None,
           allow_unsigned: bool, json_: bool) -> VerifyReport:
    """Verify packages (folders or .zip files) and their signatures, and report every finding.

    Checks structure, the profile, every digest, Payload-Oxum, metadata against the schema and
    unsafe paths; then every signature in signatures/: valid over tagmanifest-sha256.txt,
    chaining to a trust anchor, valid at signing time, not revoked, with signing key usage,
    strong algorithms, and made by the agency the package names. Exit 0 when all are valid,
    3 when any has an integrity error, else 4 when a signature is missing, invalid or not trusted.

    \b
    Example:
      govarc verify build/pkg build/other.zip --trust ca.pem --crl ca.crl
      govarc verify build/pkg --json | jq '.packages[0].signers'
    """
    if json_:
        out.json = True
    policy = _policy(out, trust, crl, _parse_at(at), allow_unsigned)
    extra = make_signature_check(policy)
    results = []
    for path in paths:
        with out.progress(f"verifying {path.name}") as progress:
            results.append(verify_package(path, progress=progress, extra=extra))
    report = VerifyReport(tuple(results))
    if out.json:
        out.emit_json(report.as_dict())
    else:
        for r in results:
            if r.valid and out.quiet:
                continue
            verdict = "有效 VALID" if r.valid else "无效 INVALID"
            click.echo(f"{verdict}  {r.path}")
            for s in r.signers:
                click.echo(_signer_line(s))
            for f in r.findings:
                click.echo(f"  {f.level.value:7} {f.code}  {f.path}: {f.message}")
    return report
