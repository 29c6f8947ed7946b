"""`govarc sign`: add a signature to an existing package (a folder or a .zip)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.output import Output
from govarc.cli.pki import CliPrompter, open_workspace, passphrase_option
from govarc.sign.agency import agency_credentials
from govarc.sign.cms import sign_package
from govarc.sign.credentials import read_credentials, signer_code
from govarc.sign.pki import subject_of

if TYPE_CHECKING:
    from govarc.archiving.agencies import SigningReport


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
         passphrase_file: Path | None) -> SigningReport | None:
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
        return _sign_pending(out, agency, prompter)
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
    return None


def _sign_pending(out: Output, only: str | None, prompter: CliPrompter) -> SigningReport:
    """`govarc sign --pending`: every agency (or ``only``) with a stored key signs its unsigned packages."""
    from govarc.archiving.agencies import sign_agencies
    from govarc.sign.agency import load_agency_key

    ws = open_workspace(out)
    agencies = [ws.agency(only)] if only else list(ws.agencies)
    report = sign_agencies(ws, agencies, lambda code: load_agency_key(ws, code, prompter), sign_package,
                           only=only is not None, progress=lambda code: out.items_progress(f"signing {code}"))
    for a in report.agencies:
        if a.unsigned_without_key:
            out.line(f"{a.agency}: {a.unsigned_without_key} unsigned package(s), no key; issue or import one first")
            continue
        for p in a.signed:
            out.line(f"signed {p.archival_code}  {p.path}" + ("  (already signed; catalog updated)" if p.already else ""))
        for f in a.failed:
            click.echo(f"govarc: error: {f.message}", err=True)
        out.line(f"{a.agency}: {sum(not p.already for p in a.signed)} packages signed, {len(a.failed)} failed")
    if out.json:
        out.emit_json(report.as_dict())
    return report
