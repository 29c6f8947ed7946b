"""`govarc pki …`: the local CA, agency certificates, imports, and the workspace trust store."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from govarc.cli.output import Output
from govarc.errors import ConfigError, InvalidInputError, SignatureError
from govarc.sign.keys import (
    KeyAlgorithm,
    certificates_pem,
    load_certificates,
    parse_private_key,
    read_secret,
    write_atomic,
)
from govarc.sign.pki import (
    CA_CERT,
    Credentials,
    import_agency,
    init_ca,
    issue_agency,
    load_ca,
    read_pkcs12,
    subject_of,
)
from govarc.sign.validate import load_crls

PASSPHRASE_ENV = "GOVARC_KEY_PASSPHRASE"
LOCAL_CA_ANCHOR = "local-ca.pem"


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


def open_workspace(out: Output):  # type: ignore[no-untyped-def]
    from govarc.workspace import Workspace

    return Workspace.open(Path(out.home))


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def read_private_key(path: Path, source_passphrase_file: Path | None, purpose: str):  # type: ignore[no-untyped-def]
    """A key file that may or may not be encrypted; asks for its passphrase only when it is.

    Like ssh, a key file group or others may read is refused (see :func:`read_secret`).
    """
    data = read_secret(path, "the private key")
    try:
        return parse_private_key(data, None, str(path))
    except SignatureError as e:
        if "needs its passphrase" not in e.message:
            raise
    return parse_private_key(data, CliPrompter(source_passphrase_file).passphrase(purpose, False), str(path))


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
    write_atomic(ws.trust_dir / LOCAL_CA_ANCHOR, certificates_pem([cert]), overwrite=True)
    info = {"subject": subject_of(cert), "sha256": fingerprint(cert), "not_after": cert.not_valid_after_utc.isoformat(),
            "ca": str(ws.pki_dir / CA_CERT), "trust_anchor": str(ws.trust_dir / LOCAL_CA_ANCHOR)}
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
    agency = ws.agency(code)
    prompter = CliPrompter(passphrase_file)
    ca = load_ca(ws.pki_dir, prompter.passphrase("the CA key", False))
    creds = issue_agency(ca, ws.keys_dir(code), code, agency.name, prompter.passphrase(f"the new key of agency {code}", True),
                         algorithm=KeyAlgorithm(algorithm or ws.settings.key_algorithm), days=days,
                         identity_oid=ws.settings.identity_oid, replace=replace)
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
    ws.agency(code)
    if p12_path is not None:
        if cert_path or key_path:
            raise click.UsageError("give either --p12 or --cert and --key")
        try:
            data = p12_path.read_bytes()
        except OSError as e:
            raise InvalidInputError(f"cannot read: {e.strerror}", str(p12_path)) from None
        try:
            creds = read_pkcs12(data, None, str(p12_path))
        except SignatureError:
            creds = read_pkcs12(data, CliPrompter(source_passphrase_file).passphrase(f"{p12_path.name}", False), str(p12_path))
        chain = list(creds.chain)
    else:
        if cert_path is None or key_path is None:
            raise click.UsageError("give --cert and --key (or --p12)")
        certs = load_certificates(cert_path)
        key = read_private_key(key_path, source_passphrase_file, key_path.name)
        creds = Credentials(key, certs[0])
        chain = certs[1:]
    if chain_path is not None:
        chain += load_certificates(chain_path)
    stored = import_agency(ws.keys_dir(code), code, creds.key, creds.cert, chain,
                           CliPrompter(passphrase_file).passphrase(f"the stored key of agency {code}", True),
                           identity_oid=ws.settings.identity_oid, replace=replace)
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
    ws = open_workspace(out)
    added = []
    for pem in pems:
        for cert in load_certificates(pem):
            try:
                ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                ca = False
            if not ca:
                raise SignatureError(f"{subject_of(cert)} is not a CA certificate; only CAs can be trust anchors", str(pem))
            target = ws.trust_dir / f"{fingerprint(cert)[:16]}.pem"
            write_atomic(target, certificates_pem([cert]), overwrite=True)
            added.append({"subject": subject_of(cert), "sha256": fingerprint(cert), "file": str(target),
                          "not_after": cert.not_valid_after_utc.isoformat()})
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
    from govarc.sign.validate import load_trust_anchors

    ws = open_workspace(out)
    anchors = load_trust_anchors([ws.trust_dir]) if ws.trust_dir.is_dir() else ()
    crls = load_crls([ws.crl_dir]) if ws.crl_dir.is_dir() else ()
    data: dict[str, list[dict[str, object]]] = {
        "anchors": [{"subject": subject_of(c), "sha256": fingerprint(c), "not_after": c.not_valid_after_utc.isoformat()}
                    for c in anchors],
        "crls": [{"issuer": c.issuer.rfc4514_string(), "last_update": c.last_update_utc.isoformat(),
                  "next_update": c.next_update_utc.isoformat() if c.next_update_utc else None, "revoked": len(c)}
                 for c in crls],
    }
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
    from govarc.sign.validate import load_trust_anchors

    ws = open_workspace(out)
    anchors = load_trust_anchors([ws.trust_dir]) if ws.trust_dir.is_dir() else ()
    added = []
    for f in files:
        for c in load_crls([f]):
            der = c.public_bytes(serialization.Encoding.DER)
            target = ws.crl_dir / f"{hashlib.sha256(der).hexdigest()[:16]}.crl"
            write_atomic(target, der, overwrite=True)
            signed_by_anchor = any(a.subject == c.issuer and c.is_signature_valid(a.public_key()) for a in anchors)  # type: ignore[arg-type]
            added.append({"issuer": c.issuer.rfc4514_string(), "revoked": len(c), "file": str(target),
                          "signed_by_trust_anchor": signed_by_anchor})
    if out.json:
        out.emit_json({"added": added})
    for a in added:
        note = "" if a["signed_by_trust_anchor"] else "  (issuer is not a trust anchor: checked against the chain at verify time)"
        out.line(f"added CRL of {a['issuer']}: {a['revoked']} revoked{note}")
