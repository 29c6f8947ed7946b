"""`govarc pki …`: the local CA, agency certificates, imports, and the workspace trust store."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from govarc.cli.output import Output
from govarc.errors import ConfigError
from govarc.sign.credentials import read_credentials, read_pkcs12_file
from govarc.sign.keys import KeyAlgorithm, read_secret
from govarc.sign.pki import CA_CERT, Credentials, import_agency, init_ca, issue_agency, load_ca, subject_of
from govarc.sign.trust import TrustStore, fingerprint

if TYPE_CHECKING:
    from govarc.workspace import Workspace

PASSPHRASE_ENV = "GOVARC_KEY_PASSPHRASE"


class CliPrompter:
    """Passphrases for the CLI: ``--passphrase-file``, else $GOVARC_KEY_PASSPHRASE, else the terminal."""

    def __init__(self, passphrase_file: Path | None = None) -> None:
        self.passphrase_file = passphrase_file

    def passphrase(self, purpose: str, confirm: bool) -> bytes:
        if self.passphrase_file is not None:
            value = read_secret(Path(self.passphrase_file), "the passphrase file").rstrip(b"\r\n")
            if not value:
                raise ConfigError("the passphrase file is empty", str(self.passphrase_file))
            return value
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env.encode("utf-8")
        if sys.stdin.isatty():
            return str(click.prompt(f"Passphrase for {purpose}", hide_input=True, confirmation_prompt=confirm)).encode("utf-8")
        raise ConfigError(f"no passphrase: set {PASSPHRASE_ENV} or --passphrase-file")


passphrase_option = click.option(
    "--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
    help=f"File holding the key passphrase (else ${PASSPHRASE_ENV}, else a prompt on a terminal).",
)


def open_workspace(out: Output) -> Workspace:
    from govarc.workspace import Workspace

    return Workspace.open(Path(out.home))


def trust_store(ws: Workspace) -> TrustStore:
    from govarc.sign.agency import trust_store

    return trust_store(ws)


@click.group("pki")
def pki() -> None:
    """Keys and certificates: a local CA, agency certificates, imports, trust anchors and CRLs.

    Private keys are stored encrypted (mode 0600) with a passphrase from --passphrase-file,
    $GOVARC_KEY_PASSPHRASE or a prompt. An agency is bound to its certificate by its code in the
    subject's organizationIdentifier (OID 2.5.4.97; `identity_oid` in govarc.toml changes it).

    \b
    Example:
      govarc pki init-ca --name "某市档案馆 CA"
      govarc pki issue LZ0012
    """


@pki.command("init-ca")
@click.option("--name", default="govarc local CA", show_default=True, help="The CA's common name.")
@click.option("--algorithm", type=click.Choice([a.value for a in KeyAlgorithm]), default=None,
              help="Key type (default: key_algorithm in govarc.toml, ec-p256).")
@click.option("--days", type=click.IntRange(1, 36500), default=3650, show_default=True, help="Validity in days.")
@passphrase_option
@click.pass_obj
def init_ca_cmd(out: Output, name: str, algorithm: str | None, days: int, passphrase_file: Path | None) -> None:
    """Create the workspace's local CA (pki/) and add it to the trust store.

    For trials and small deployments; production agencies import certificates from a real CA
    with `govarc pki import`.

    \b
    Example:
      GOVARC_KEY_PASSPHRASE=… govarc pki init-ca --name "某市档案馆 CA"
    """
    ws = open_workspace(out)
    alg = KeyAlgorithm(algorithm or ws.settings.key_algorithm)
    passphrase = CliPrompter(passphrase_file).passphrase("the new CA key", True)
    cert = init_ca(ws.pki_dir, name, passphrase, alg, days)
    anchor = trust_store(ws).add_local_ca(cert)
    from govarc.audit.trail import record_certificate

    record_certificate(ws, "pki-init-ca", cert)
    info = {"subject": subject_of(cert), "sha256": fingerprint(cert), "not_after": cert.not_valid_after_utc.isoformat(),
            "ca": str(ws.pki_dir / CA_CERT), "trust_anchor": str(anchor)}
    if out.json:
        out.emit_json(info)
    else:
        out.line(f"created CA {info['subject']}  sha256 {info['sha256']}")
        out.line(f"  certificate {info['ca']}, added to the trust store")


def _describe(code: str, creds: Credentials, where: Path) -> dict[str, object]:
    return {"agency": code, "subject": subject_of(creds.cert), "issuer": creds.cert.issuer.rfc4514_string(),
            "serial": format(creds.cert.serial_number, "x"), "not_before": creds.cert.not_valid_before_utc.isoformat(),
            "not_after": creds.cert.not_valid_after_utc.isoformat(), "sha256": fingerprint(creds.cert), "keys": str(where)}


def _report(out: Output, verb: str, info: dict[str, object]) -> None:
    if out.json:
        out.emit_json(info)
    else:
        out.line(f"{verb} {info['subject']}")
        out.line(f"  valid {info['not_before']} to {info['not_after']}, stored in {info['keys']}")


@pki.command("issue")
@click.argument("code")
@click.option("--days", type=click.IntRange(1, 3650), default=730, show_default=True, help="Validity in days.")
@click.option("--algorithm", type=click.Choice([a.value for a in KeyAlgorithm]), default=None,
              help="Key type (default: key_algorithm in govarc.toml, ec-p256).")
@click.option("--replace", is_flag=True, help="Replace the agency's existing key and certificate.")
@passphrase_option
@click.pass_obj
def issue_cmd(out: Output, code: str, days: int, algorithm: str | None, replace: bool, passphrase_file: Path | None) -> None:
    """Generate a key for agency CODE and certify it with the local CA (digitalSignature, nonRepudiation).

    The CA key and the new agency key use the same passphrase source (a terminal asks for each).

    \b
    Example:
      govarc pki issue LZ0012 --days 730
    """
    ws = open_workspace(out)
    name = ws.signer_name(code)
    prompter = CliPrompter(passphrase_file)
    ca = load_ca(ws.pki_dir, prompter.passphrase("the CA key", False))
    creds = issue_agency(ca, ws.keys_dir(code), code, name, prompter.passphrase(f"the new key of agency {code}", True),
                         algorithm=KeyAlgorithm(algorithm or ws.settings.key_algorithm), days=days,
                         identity_oid=ws.settings.identity_oid, replace=replace)
    from govarc.audit.trail import record_certificate

    record_certificate(ws, "key-issue", creds.cert, code, replaced=replace)
    _report(out, "issued", _describe(code, creds, ws.keys_dir(code)))


@pki.command("import")
@click.argument("code")
@click.option("--cert", "cert_path", type=click.Path(dir_okay=False, path_type=Path), help="The agency certificate (PEM or DER).")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), help="Its private key (PEM or DER).")
@click.option("--chain", "chain_path", type=click.Path(dir_okay=False, path_type=Path), help="CA certificates above it (PEM).")
@click.option("--p12", "p12_path", type=click.Path(dir_okay=False, path_type=Path), help="A PKCS#12 file instead of --cert/--key.")
@click.option("--source-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Passphrase of the key or .p12 being imported (else a prompt, or none).")
@click.option("--replace", is_flag=True, help="Replace the agency's existing key and certificate.")
@passphrase_option
@click.pass_obj
def import_cmd(out: Output, code: str, cert_path: Path | None, key_path: Path | None, chain_path: Path | None,
               p12_path: Path | None, source_passphrase_file: Path | None, replace: bool, passphrase_file: Path | None) -> None:
    """Import agency CODE's certificate and key from a real CA.

    Refuses a key that does not match the certificate, and a certificate whose identity
    (organizationIdentifier, or the configured OID) is not CODE. The key is stored encrypted.

    \b
    Example:
      govarc pki import LZ0012 --cert lz.pem --key lz-key.pem --chain ca-chain.pem
      govarc pki import LZ0012 --p12 lz.p12 --source-passphrase-file p12.pass
    """
    ws = open_workspace(out)
    ws.signer_name(code)
    source = CliPrompter(source_passphrase_file)
    if p12_path is not None:
        if cert_path or key_path:
            raise click.UsageError("give either --p12 or --cert and --key")
        creds = read_pkcs12_file(p12_path, chain_path, source)
    else:
        if cert_path is None or key_path is None:
            raise click.UsageError("give --cert and --key (or --p12)")
        creds = read_credentials(cert_path, key_path, chain_path, source)
    stored = import_agency(ws.keys_dir(code), code, creds.key, creds.cert, creds.chain,
                           CliPrompter(passphrase_file).passphrase(f"the stored key of agency {code}", True),
                           identity_oid=ws.settings.identity_oid, replace=replace)
    from govarc.audit.trail import record_certificate

    record_certificate(ws, "key-import", stored.cert, code, replaced=replace)
    _report(out, "imported", _describe(code, stored, ws.keys_dir(code)))


@pki.group("trust")
def trust() -> None:
    """The workspace's trust anchors (trust/*.pem): CA certificates signatures must chain to.

    \b
    Example:
      govarc pki trust add 省CA.pem
      govarc --json pki trust list
    """


@trust.command("add")
@click.argument("pems", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def trust_add(out: Output, pems: tuple[Path, ...]) -> None:
    """Add CA certificates (PEM or DER) to the trust store; only CA certificates are accepted.

    \b
    Example:
      govarc pki trust add 省电子政务CA.pem
    """
    from govarc.audit.trail import record_event

    ws = open_workspace(out)
    store = trust_store(ws)
    known = {fingerprint(c) for c in store.anchors()}
    added = [a.as_dict() for a in store.add_anchors(pems)]
    for a in added:
        if a["sha256"] not in known:  # an anchor trusted already changes nothing: no event
            known.add(str(a["sha256"]))
            record_event(ws, "trust-add", str(a["sha256"]), subject=a["subject"], not_after=a["not_after"])
    if out.json:
        out.emit_json({"added": added})
    for a in added:
        out.line(f"trusted {a['subject']}  sha256 {a['sha256']}")


@trust.command("list")
@click.pass_obj
def trust_list(out: Output) -> None:
    """List the trust anchors and CRLs of the workspace.

    \b
    Example:
      govarc --home /srv/govarc pki trust list
    """
    data = trust_store(open_workspace(out)).listing().as_dict()
    if out.json:
        out.emit_json(data)
        return
    for a in data["anchors"]:
        out.line(f"anchor  {a['subject']}  until {a['not_after']}")
    for c in data["crls"]:
        out.line(f"crl     {c['issuer']}  {c['revoked']} revoked, next update {c['next_update']}")


@pki.group("crl")
def crl() -> None:
    """Certificate revocation lists (trust/crls/) used by `govarc verify`.

    \b
    Example:
      govarc pki crl add 省CA.crl
    """


@crl.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def crl_add(out: Output, files: tuple[Path, ...]) -> None:
    """Add CRLs (PEM or DER) to the workspace; a CRL no trust anchor signed is still kept, with a note.

    \b
    Example:
      govarc pki crl add 省电子政务CA.crl
    """
    from govarc.audit.trail import record_event

    ws = open_workspace(out)
    known = set(os.listdir(ws.crl_dir)) if ws.crl_dir.is_dir() else set()
    added = [c.as_dict() for c in trust_store(ws).add_crls(files)]
    for c in added:
        name = Path(str(c["file"])).name  # named by the CRL's digest: one kept already changes nothing
        if name not in known:
            known.add(name)
            record_event(ws, "crl-add", str(c["issuer"]), revoked=c["revoked"], file=name,
                         signed_by_trust_anchor=c["signed_by_trust_anchor"])
    if out.json:
        out.emit_json({"added": added})
    for a in added:
        note = "" if a["signed_by_trust_anchor"] else "  (issuer is not a trust anchor: checked against the chain at verify time)"
        out.line(f"added CRL of {a['issuer']}: {a['revoked']} revoked{note}")
