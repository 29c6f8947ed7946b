"""`govarc sign`: add a signature to an existing package (a folder or a .zip)."""

from __future__ import annotations

from pathlib import Path

import click

from govarc.cli.output import Output
from govarc.cli.pki import CliPrompter, open_workspace, passphrase_option
from govarc.sign.agency import agency_credentials
from govarc.sign.cms import sign_package
from govarc.sign.credentials import read_credentials, signer_code
from govarc.sign.pki import Credentials, subject_of


@click.command("sign")
@click.argument("package", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--pending", is_flag=True, help="Sign every package of the workspace's store that lacks its agency's signature.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), help="Signing key (PEM or DER).")
@click.option("--cert", "cert_path", type=click.Path(dir_okay=False, path_type=Path), help="Its certificate.")
@click.option("--chain", "chain_path", type=click.Path(dir_okay=False, path_type=Path), help="CA certificates to embed (PEM).")
@click.option("--agency", "agency", help="Sign with this agency's key from the workspace instead of --key/--cert.")
@click.option("--code", help="Name of the signature file (default: the agency code in the certificate).")
@click.option("--identity-oid", default=None, help="Subject OID holding the agency code (default 2.5.4.97, or the workspace's).")
@click.option("--replace", is_flag=True, help="Replace an existing signature of the same code.")
@passphrase_option
@click.pass_obj
def sign(out: Output, package: Path | None, pending: bool, key_path: Path | None, cert_path: Path | None,
         chain_path: Path | None, agency: str | None, code: str | None, identity_oid: str | None, replace: bool,
         passphrase_file: Path | None) -> None:
    """Sign PACKAGE: a detached CMS signature over its tag manifest, at signatures/<CODE>.p7s.

    Other signatures are kept (the archives' countersignature sits beside the agency's). The
    package must verify first; a .zip is rewritten beside itself and renamed over the original.

    With --pending instead of PACKAGE: sign, with each agency's stored key, every package of the
    store that lacks that agency's signature (the backlog from before its key was issued), and
    record them in the catalog; --agency limits it to one agency.

    \b
    Example:
      govarc sign build/pkg --key lz-key.pem --cert lz.pem --chain ca.pem
      govarc sign store/LZ0012/pkg.zip --agency DA0001
      govarc sign --pending --agency LZ0012
    """
    prompter = CliPrompter(passphrase_file)
    if pending:
        if package is not None or key_path or cert_path or chain_path or code or replace:
            raise click.UsageError("--pending takes no PACKAGE, --key, --cert, --chain, --code or --replace")
        _sign_pending(out, agency, prompter)
        return
    if package is None:
        raise click.UsageError("give a PACKAGE to sign, or --pending")
    if agency:
        if key_path or cert_path:
            raise click.UsageError("give either --agency or --key and --cert")
        ws = open_workspace(out)
        creds = agency_credentials(ws, agency, prompter)
        identity_oid = identity_oid or ws.settings.identity_oid
    else:
        if key_path is None or cert_path is None:
            raise click.UsageError("give --key and --cert (or --agency)")
        creds = read_credentials(cert_path, key_path, chain_path, prompter)
    code = signer_code(creds, code=code, identity_oid=identity_oid, agency=agency)
    name = sign_package(package, code, creds, replace=replace)
    if out.json:
        out.emit_json({"package": str(package), "signature": name, "signer": subject_of(creds.cert), "agency_code": code})
    else:
        out.line(f"signed {package}  {name}  by {subject_of(creds.cert)}")


def _sign_pending(out: Output, only: str | None, prompter: CliPrompter) -> None:
    """`govarc sign --pending`: every agency (or ``only``) with a stored key signs its unsigned packages."""
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.errors import EXIT_OK, ConfigError
    from govarc.lock import run_lock
    from govarc.archiving.pending import NO_KEY, sign_pending, unsigned_packages
    from govarc.sign.agency import load_agency_key

    ws = open_workspace(out)
    agencies = [ws.agency(only)] if only else list(ws.agencies)
    report: list[dict[str, object]] = []
    exit_code = EXIT_OK
    with run_lock(ws.lock_path), open_workspace_catalog(ws) as cat:
        for a in agencies:
            store = ws.package_store(a.code)
            todo = unsigned_packages(cat, store, a.code)
            creds = load_agency_key(ws, a.code, prompter) if todo else None
            if todo and creds is None:
                message = (f"{NO_KEY}: agency {a.code} has no signing key ({ws.keys_dir(a.code) / 'key.pem'} does not "
                           f"exist); {len(todo)} package(s) stay unsigned")
                if only:
                    raise ConfigError(message)
                report.append({"agency": a.code, "signed": [], "failed": [], "unsigned_without_key": len(todo)})
                out.line(f"{a.code}: {len(todo)} unsigned package(s), no key; issue or import one first")
                continue

            def one(path: Path, code: str = a.code, creds: Credentials | None = creds) -> str:
                assert creds is not None
                return sign_package(path, code, creds)

            with out.items_progress(f"signing {a.code}") as (advance, total):
                if total:
                    total(len(todo))
                signed, failed = sign_pending(cat, store, a.code, one,
                                              on_package=(lambda _p: advance(1)) if advance else None)
            report.append({"agency": a.code, "signed": [p.as_dict() for p in signed],
                           "failed": [f.as_dict() for f in failed], "unsigned_without_key": 0})
            for p in signed:
                out.line(f"signed {p.archival_code}  {p.path}" + ("  (already signed; catalog updated)" if p.already else ""))
            for f in failed:
                click.echo(f"govarc: error: {f.message}", err=True)
                exit_code = exit_code or f.exit_code
            out.line(f"{a.code}: {sum(not p.already for p in signed)} packages signed, {len(failed)} failed")
    if out.json:
        out.emit_json({"agencies": report, "exit_code": exit_code})
    if exit_code:
        click.get_current_context().exit(exit_code)
