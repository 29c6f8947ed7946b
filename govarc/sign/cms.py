"""Detached CMS (PKCS#7) SignedData over the exact bytes of ``tagmanifest-sha256.txt``.

A signature is DER, SHA-256, carries the signer certificate, its chain and a signing-time
attribute, and lives at ``signatures/<CODE>.p7s``. It verifies with stock OpenSSL::

    openssl cms -verify -binary -inform DER -in signatures/CODE.p7s \\
        -content tagmanifest-sha256.txt -CAfile ca.pem -purpose any
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from govarc.errors import InvalidInputError, InvalidPackageError, SignatureError
from govarc.fsutil import atomic_write, write_atomic
from govarc.package import layout
from govarc.sign.keys import PrivateKey
from govarc.sign.pki import Credentials, key_matches, subject_of
from govarc.sign.signer import Signer

_CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def signature_name(code: str) -> str:
    """The file name below ``signatures/`` for the signature of ``code``."""
    if not _CODE.match(code) or code.startswith("."):
        raise InvalidInputError(f"{code!r} cannot name a signature file (letters, digits, . _ - only)")
    return f"{code}.p7s"


def sign_bytes(data: bytes, key: PrivateKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()) -> bytes:
    """A detached CMS SignedData (DER) over ``data``: SHA-256, certificates embedded, signingTime signed."""
    if not key_matches(key, cert):
        raise SignatureError(f"the private key does not match certificate {subject_of(cert)}")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
    for c in chain:
        if c != cert:
            builder = builder.add_certificate(c)
    der = builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    # The signing time is what validation checks the certificate against: make sure it is there.
    attrs = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    if "signing_time" not in {a["type"].native for a in attrs}:
        raise SignatureError("the CMS library wrote no signing-time attribute")
    return der


def make_signer(code: str, creds: Credentials) -> Signer:
    """The callable :func:`govarc.package.build.build_package` takes as ``signer=``."""
    name = signature_name(code)

    def signer(tagmanifest: bytes) -> dict[str, bytes]:
        return {name: sign_bytes(tagmanifest, creds.key, creds.cert, creds.chain)}

    return signer


def _check_signable(path: Path) -> None:
    # Signing attests the package: refuse one whose digests or structure are already wrong.
    from govarc.findings import Kind
    from govarc.package.verify import verify_package

    result = verify_package(path)
    bad = [f for f in result.errors if f.kind is Kind.INTEGRITY]
    if bad:
        first = bad[0]
        raise InvalidPackageError(f"will not sign an invalid package: {first.code} {first.path}: {first.message}", str(path))


def sign_package(path: Path, code: str, creds: Credentials, *, replace: bool = False, check: bool = True) -> str:
    """Add the signature of ``code`` to the package at ``path`` (a folder or a .zip); returns its name.

    The package is first verified (``check``); a package with integrity errors is refused. Other
    signatures are kept, so a countersignature leaves the first one valid. An existing
    ``signatures/<code>.p7s`` is refused unless ``replace``. A folder gets the file through a
    temporary file and a rename; a .zip is rewritten beside itself and renamed over the original.
    """
    path = Path(path)
    name = signature_name(code)
    if check:
        _check_signable(path)
    if path.is_dir() and not path.is_symlink():
        _sign_dir(path, name, creds, replace)
    elif path.is_file() and zipfile.is_zipfile(path):
        _sign_zip(path, name, creds, replace)
    else:
        raise InvalidInputError("not a package folder or .zip", str(path))
    return f"{layout.SIGNATURES_DIR}/{name}"


def _sign_dir(path: Path, name: str, creds: Credentials, replace: bool) -> None:
    tm = path / layout.REQUIRED_TAGMANIFEST
    if tm.is_symlink() or not tm.is_file():
        raise InvalidPackageError(f"{layout.REQUIRED_TAGMANIFEST} is missing", str(path))
    der = sign_bytes(tm.read_bytes(), creds.key, creds.cert, creds.chain)
    sigdir = path / layout.SIGNATURES_DIR
    if sigdir.is_symlink():
        raise InvalidPackageError("signatures/ is a link", str(path))
    sigdir.mkdir(exist_ok=True)
    target = sigdir / name
    if os.path.lexists(target) and not replace:
        raise SignatureError(f"{layout.SIGNATURES_DIR}/{name} already exists; pass replace to re-sign", str(path))
    write_atomic(target, der, replace=replace)


def _sign_zip(path: Path, name: str, creds: Credentials, replace: bool) -> None:
    with zipfile.ZipFile(path) as zin:
        infos = zin.infolist()
        tops = {i.filename.split("/", 1)[0] for i in infos}
        if len(tops) != 1:
            raise InvalidPackageError("the .zip does not hold exactly one top-level folder", str(path))
        top = tops.pop()
        target = f"{top}/{layout.SIGNATURES_DIR}/{name}"
        try:
            tm = zin.read(f"{top}/{layout.REQUIRED_TAGMANIFEST}")
        except KeyError:
            raise InvalidPackageError(f"{layout.REQUIRED_TAGMANIFEST} is missing", str(path)) from None
        exists = any(i.filename == target for i in infos)
        if exists and not replace:
            raise SignatureError(f"{layout.SIGNATURES_DIR}/{name} already exists; pass replace to re-sign", str(path))
        der = sign_bytes(tm, creds.key, creds.cert, creds.chain)
        with atomic_write(path) as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zout:
            date_time = infos[-1].date_time if infos else (1980, 1, 1, 0, 0, 0)
            for info in infos:
                if info.filename == target:
                    continue
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.external_attr = info.external_attr
                copy.compress_type = info.compress_type
                if info.is_dir():
                    zout.writestr(copy, b"")
                    continue
                with zin.open(info) as src, zout.open(copy, "w", force_zip64=info.file_size > 0x7FFFFFFF) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            sig = zipfile.ZipInfo(target, date_time=date_time)
            sig.external_attr = 0o100644 << 16
            zout.writestr(sig, der)
