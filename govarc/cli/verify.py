"""`govarc verify`: check packages and report every finding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click

from govarc.cli.output import Output
from govarc.errors import ConfigError
from govarc.package.verify import VerifyReport, VerifyResult, verify_package
from govarc.sign.validate import ChainCache, SignaturePolicy, load_crls, load_trust_anchors, make_signature_check


def _parse_at(value: str | None, hint: str = "--at") -> dt.datetime | None:
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2027-01-31 or 2027-01-31T12:00:00+08:00", param_hint=hint) from None
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at


def _policy(out: Output, trust: tuple[Path, ...], crl: tuple[Path, ...], at: dt.datetime | None,
            allow_unsigned: bool) -> SignaturePolicy:
    """Options first; in a workspace its trust store and CRLs fill in what the options leave out."""
    from govarc.workspace import Workspace

    ws = Workspace.open(Path(out.home)) if Workspace.exists(Path(out.home)) else None
    if ws is not None:  # as govarc.sign.agency.workspace_policy, without importing the signing side
        from govarc.sign.trust import TrustStore

        store = TrustStore(ws.trust_dir, ws.crl_dir)
        base = SignaturePolicy(anchors=store.anchors(), crls=store.crls(), at=at, allow_unsigned=allow_unsigned,
                               identity_oid=ws.settings.identity_oid)
    else:
        base = SignaturePolicy(at=at, allow_unsigned=allow_unsigned)
    anchors = load_trust_anchors(list(trust)) if trust else base.anchors
    crls = load_crls(list(crl)) if crl else base.crls
    return replace(base, anchors=anchors, crls=crls)


def _signer_line(s: dict[str, object]) -> str:
    codes = s.get("codes")
    verdict = "valid" if s.get("valid") else "NOT VALID " + ",".join(str(c) for c in (codes if isinstance(codes, list) else []))
    return (f"  signer  {s.get('subject') or 'unknown'}  agency {s.get('agency_code') or '-'}  "
            f"signed {s.get('signing_time') or '-'}  {s.get('role')}  {verdict}")


def _text(r: VerifyResult, quiet: bool) -> None:
    if r.valid and quiet:
        return
    verdict = "有效 VALID" if r.valid else "无效 INVALID"
    click.echo(f"{verdict}  {r.path}")
    for s in r.signers:
        click.echo(_signer_line(s))
    for f in r.findings:
        click.echo(f"  {f.level.value:7} {f.code}  {f.path}: {f.message}")


@click.command("verify")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--trust", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Trust anchors: a PEM file or a folder of them (repeatable; default: the workspace's trust/).")
@click.option("--crl", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CRL to check revocation against (repeatable; default: the workspace's trust/crls/).")
@click.option("--at", "at", metavar="DATE", help="Check certificates at DATE instead of each signature's signing time.")
@click.option("--allow-unsigned", is_flag=True, help="Accept packages without any signature (signed ones are still checked).")
@click.option("--store", "store", is_flag=True, help="Audit every package of the workspace's store/ (all agencies, or --agency).")
@click.option("--agency", "agencies", multiple=True, metavar="CODE", help="With --store: only this agency's packages (repeatable).")
@click.option("--holdings", is_flag=True, help="Audit every package of the archives' holdings/.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes verifying packages at once (default: every core).")
@click.option("--journal", "journal_new", type=click.Path(dir_okay=False, path_type=Path),
              help="Record each verified package in a new audit journal FILE, so an interrupted audit can resume.")
@click.option("--resume", "journal_resume", type=click.Path(dir_okay=False, path_type=Path),
              help="Resume the audit of journal FILE: skip what it lists unchanged, record the rest in it.")
@click.option("--since", metavar="DATE", help="With --resume: skip only packages the journal found valid at or after DATE.")
@click.option("--progress/--no-progress", default=None, help="A progress bar (default: on a terminal only; never off one).")
@click.option("--json", "json_", is_flag=True, help="Print JSON (same as govarc --json verify); one line per package with --store/--holdings.")
@click.pass_obj
def verify(out: Output, paths: tuple[Path, ...], trust: tuple[Path, ...], crl: tuple[Path, ...], at: str | None,
           allow_unsigned: bool, store: bool, agencies: tuple[str, ...], holdings: bool, jobs: int | None,
           journal_new: Path | None, journal_resume: Path | None, since: str | None, progress: bool | None,
           json_: bool) -> object:
    """Verify packages (folders or .zip files) and their signatures, and report every finding.

    Checks structure, the profile, every digest, Payload-Oxum, metadata against the schema and
    unsafe paths; then every signature in signatures/: valid over tagmanifest-sha256.txt,
    chaining to a trust anchor, valid at signing time, not revoked, with signing key usage,
    strong algorithms, and made by the agency the package names. Exit 0 when all are valid,
    3 when any has an integrity error, else 4 when a signature is missing, invalid or not trusted.

    A fixity audit (--store, --holdings, or many PATHS) verifies packages on every core; with
    --journal it records each one, and --resume skips what an interrupted audit already did.

    \b
    Example:
      govarc verify build/pkg build/other.zip --trust ca.pem --crl ca.crl
      govarc verify build/pkg --json | jq '.packages[0].signers'
      govarc verify --store --agency SZF --journal audit-2027.jsonl
      govarc verify --store --resume audit-2027.jsonl
    """
    if json_:
        out.json = True
    whole = store or holdings
    if not paths and not whole:
        raise click.UsageError("give packages (PATHS), or --store or --holdings to audit a workspace")
    if paths and whole:
        raise click.UsageError("give either packages (PATHS) or --store/--holdings, not both")
    if agencies and not store:
        raise click.UsageError("--agency goes with --store")
    if journal_new and journal_resume:
        raise click.UsageError("give --journal to start an audit journal or --resume to continue one, not both")
    if since and not journal_resume:
        raise click.UsageError("--since goes with --resume JOURNAL")
    policy = _policy(out, trust, crl, _parse_at(at), allow_unsigned)
    if whole or journal_new or journal_resume:
        return _audit(out, paths, store, agencies, holdings, policy, jobs, journal_new or journal_resume,
                      journal_resume is not None, _parse_at(since, "--since"), progress)
    if len(paths) > 1 and jobs != 1:
        from govarc.package.audit import verify_many, worker_pool

        show = progress is not False and out.tty and not out.json and not out.quiet
        with worker_pool(policy, jobs) as pool, out.items_progress("verifying") as (advance, total):
            if show and total:
                total(len(paths))
            results = []
            for r in verify_many(paths, policy, jobs, pool=pool):
                results.append(r)
                if show and advance:
                    advance(1)
    else:
        extra = make_signature_check(policy, ChainCache())
        results = []
        for path in paths:
            with out.progress(f"verifying {path.name}") as bar:
                results.append(verify_package(path, progress=bar if progress is not False else None, extra=extra))
    report = VerifyReport(tuple(results))
    if out.json:
        out.emit_json(report.as_dict())
    else:
        for r in results:
            _text(r, out.quiet)
    return report


def _audit(out: Output, paths: tuple[Path, ...], store: bool, agencies: tuple[str, ...], holdings: bool,
           policy: SignaturePolicy, jobs: int | None, journal_path: Path | None, resume: bool,
           since: dt.datetime | None, progress: bool | None) -> object:
    """A fixity audit: results stream out in order (JSON: one line per package, then a summary line)."""
    import json

    from govarc.package.audit import AuditSummary, Journal, Skipped, audit, holdings_packages, worker_pool
    from govarc.workspace import Workspace

    def listing() -> Iterator[Path]:
        if paths:
            yield from paths
            return
        ws = Workspace.open(Path(out.home))
        if holdings:
            yield from holdings_packages(ws.holdings_dir)
        if store:
            for p in ws.stored_packages():
                if not agencies or p.parent.name in agencies:
                    yield p

    if (store or holdings) and not Workspace.exists(Path(out.home)):
        raise ConfigError("no govarc workspace here to audit (give --home, or run govarc init)", str(out.home))
    if holdings:
        Workspace.open(Path(out.home)).holdings  # ConfigError (exit 6) in an agency workspace
    if agencies:  # a typo must not pass as an audit of nothing
        ws = Workspace.open(Path(out.home))
        for agency in agencies:
            if not ws.store_dir(agency).is_dir():
                ws.agency(agency)  # ConfigError (exit 6) for an agency neither configured nor stored
    journal = Journal(journal_path, resume, since) if journal_path is not None else None
    show = progress is not False and out.tty and not out.json and not out.quiet
    counts = {"verified": 0, "valid": 0, "skipped": 0, "skipped_invalid": 0}
    code = 0
    try:
        with worker_pool(policy, jobs) as pool, out.items_progress("verifying packages 校验") as (advance, total):
            if show and total:
                total(sum(1 for _ in listing()))
            for item in audit(listing(), policy, jobs, journal, pool):
                if isinstance(item, Skipped):
                    counts["skipped"] += 1
                    counts["skipped_invalid"] += 0 if item.valid else 1
                    code = worst_of(code, item.exit_code)
                else:
                    counts["verified"] += 1
                    counts["valid"] += 1 if item.valid else 0
                    code = worst_of(code, item.exit_code)
                    if out.json:
                        click.echo(json.dumps(item.as_dict(), ensure_ascii=False, default=str))
                    else:
                        _text(item, out.quiet)
                if show and advance:
                    advance(1)
    finally:
        if journal is not None:
            journal.close()
    summary = AuditSummary(counts["verified"], counts["valid"], counts["skipped"], counts["skipped_invalid"], code)
    if out.json:
        click.echo(json.dumps({"summary": summary.as_dict()}, ensure_ascii=False))
    elif not out.quiet or summary.exit_code:
        click.echo(f"审计 audit: {summary.verified} verified, {summary.valid} valid 有效, {summary.invalid} invalid 无效"
                   + (f"; {summary.skipped} skipped as already verified in {journal_path} "
                      f"({summary.skipped_invalid} of them invalid)" if summary.skipped else ""))
    return summary


def worst_of(a: int, b: int) -> int:
    """The worse of two verify exit codes: 3 (integrity) over 4 (signature) over 0."""
    if 3 in (a, b):
        return 3
    return max(a, b)
