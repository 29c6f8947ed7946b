"""Validate the signatures of a package: CMS structure and cryptography, trust, revocation, identity.

Why asn1crypto: ``cryptography`` writes CMS but cannot verify it, so the SignedData is parsed with
asn1crypto (small, pure Python, already a dependency, the parser pyHanko and certvalidator build
on) and every step is done here explicitly: the message digest against the tag manifest, the
signer's signature over the DER of the signed attributes (with ``cryptography``), then the
certificate path with ``cryptography.x509.verification`` at the signing time, CRLs checked
against their issuer's key, key usage, and the agency code in the subject.

The signing time is the signer's own claim (there is no timestamp token); ``SignaturePolicy.at``
validates at another time instead. A certificate on a CRL is treated as revoked whatever the
revocation date, because a claimed signing time cannot prove that a signature predates it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from govarc.errors import InvalidInputError
from govarc.findings import Finding, Level
from govarc.package import layout
from govarc.package.manifest import bag_info_get
from govarc.package.reader import PackageReader
from govarc.sign.names import IDENTITY_OID, identity_of, subject_of

if TYPE_CHECKING:  # asn1crypto and the path verifier are imported when a signature is checked, not at start-up
    from asn1crypto import cms as asn1_cms

    from govarc.sign.cmsder import Walked

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5, "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
    "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384, "sha3_512": hashes.SHA3_512,
}


@dataclass(frozen=True)
class SignaturePolicy:
    """What signatures must satisfy; the CLI builds it from options or the workspace."""

    anchors: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    at: dt.datetime | None = None
    allow_unsigned: bool = False
    identity_oid: str = IDENTITY_OID
    min_rsa_bits: int = 2048
    allowed_curves: tuple[str, ...] = ("secp256r1", "secp384r1", "secp521r1")
    allowed_digests: tuple[str, ...] = ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512")
    max_clock_skew: dt.timedelta = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SignerReport:
    """The verdict on one signature file."""

    file: str
    subject: str | None
    identity: str | None
    issuer: str | None
    serial: str | None
    signing_time: dt.datetime | None
    findings: tuple[Finding, ...] = field(default=())
    role: str = "signer"  # "agency" for the issuing agency's signature, else "countersignature"

    @property
    def valid(self) -> bool:
        return not any(f.level is Level.ERROR for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file, "subject": self.subject, "agency_code": self.identity, "issuer": self.issuer,
            "serial": self.serial, "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "role": self.role, "valid": self.valid, "codes": [f.code for f in self.findings],
        }


class _Malformed(Exception):
    pass


@dataclass(frozen=True)
class _Parsed:
    digest_algorithm: str
    signature_algo: str  # rsassa_pkcs1v15, rsassa_pss, ecdsa, ...
    signature_hash: str | None  # the hash named by the signature algorithm itself, if any
    pss: tuple[str, str, int] | None  # (hash, mgf hash, salt length)
    signature: bytes
    signed_attrs: bytes  # DER of the SET OF attributes, as signed
    content_type: str | None
    message_digest: bytes | None
    signing_time: dt.datetime | None
    signer: x509.Certificate
    others: tuple[x509.Certificate, ...]
    chain_key: bytes | None = None  # ChainCache.key of signer and others, when already known


def _attrs_by_name(attrs: asn1_cms.CMSAttributes) -> dict[str, list[asn1_cms.CMSAttribute]]:
    """The signed attributes by type name, in one pass (each value is parsed only when asked for)."""
    out: dict[str, list[asn1_cms.CMSAttribute]] = {}
    for a in attrs:
        out.setdefault(a["type"].native, []).append(a)
    return out


def _one_attr(attrs: dict[str, list[asn1_cms.CMSAttribute]], name: str) -> object:
    found = attrs.get(name, [])
    if not found:
        return None
    if len(found) > 1 or len(found[0]["values"]) != 1:
        raise _Malformed(f"attribute {name} must appear once with one value")
    return found[0]["values"][0].native


def _parse(der: bytes, cache: ChainCache | None = None) -> _Parsed:
    """The fields of a signature file: the DER walk of :mod:`govarc.sign.cmsder` for the usual
    shape, else asn1crypto (which then also words every complaint about a malformed file)."""
    if der:
        from govarc.sign.cmsder import walk

        try:
            return _from_walk(walk(der), cache)
        except Exception:  # Unusual, or a certificate cryptography refuses: asn1crypto decides
            pass
    return _parse_asn1(der)


def _is_signer(cert: x509.Certificate, issuer: bytes | None, serial: int | None, key_id: bytes | None) -> bool:
    """Whether ``cert`` is the one a SignerInfo's sid names: by ``issuer`` (DER) and ``serial`` when
    ``issuer`` is given, else by its subject key identifier ``key_id``."""
    if issuer is not None:
        return cert.serial_number == serial and cert.issuer.public_bytes() == issuer
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest == key_id
    except x509.ExtensionNotFound:
        return False


def _from_walk(w: Walked, cache: ChainCache | None) -> _Parsed:
    """A :class:`_Parsed` from a walked SignedData; the signer is chosen as :func:`_parse_asn1` chooses it."""
    certs: list[tuple[x509.Certificate, bytes | None]] = [
        cache.certificate(d) if cache is not None else (x509.load_der_x509_certificate(d), None) for d in w.certificates]
    at = None
    for i, (c, _digest) in enumerate(certs):
        if _is_signer(c, w.sid_issuer, w.sid_serial, w.sid_key_id):
            at = i
    if at is None:
        raise _Malformed("the signer's certificate is not embedded in the signature")
    # ChainCache.key of the signer and the others: their DER digests, known when cached
    digests = [d for _c, d in certs if d is not None]
    chain_key = (b"".join([digests[at]] + [d for i, d in enumerate(digests) if i != at])
                 if len(digests) == len(certs) else None)
    return _Parsed(
        digest_algorithm=w.digest_algorithm, signature_algo=w.signature_algo, signature_hash=w.signature_hash,
        pss=None, signature=w.signature, signed_attrs=w.signed_attrs, content_type=w.content_type,
        message_digest=w.message_digest, signing_time=w.signing_time, signer=certs[at][0],
        others=tuple(c for i, (c, _d) in enumerate(certs) if i != at),
        chain_key=chain_key,
    )


def _parse_asn1(der: bytes) -> _Parsed:
    from asn1crypto import cms as asn1_cms

    if not der:
        raise _Malformed("the file is empty")
    try:
        ci = asn1_cms.ContentInfo.load(der, strict=True)
        if ci["content_type"].native != "signed_data":
            raise _Malformed(f"content type is {ci['content_type'].native}, not SignedData")
        sd = ci["content"]
        encap = sd["encap_content_info"]
        if encap["content_type"].native != "data":
            raise _Malformed(f"encapsulated content type is {encap['content_type'].native}, not data")
        if encap["content"].native is not None:
            raise _Malformed("the signature is not detached (it carries its content)")
        infos = sd["signer_infos"]
        if len(infos) != 1:
            raise _Malformed(f"{len(infos)} SignerInfos; the profile wants exactly one per file")
        si = infos[0]
        certs = []
        for choice in sd["certificates"] or []:
            if choice.name == "certificate":
                certs.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        attrs = si["signed_attrs"]
        if not attrs or len(attrs) == 0:
            raise _Malformed("no signed attributes (message digest and signing time are required)")
        signed_attrs = b"\x31" + attrs.dump()[1:]  # [0] IMPLICIT -> SET OF, as signed
        sig_alg = si["signature_algorithm"]
        try:
            sig_hash: str | None = sig_alg.hash_algo
        except ValueError:
            sig_hash = None
        pss = None
        if sig_alg.signature_algo == "rsassa_pss":
            params = sig_alg["parameters"]
            pss = (params["hash_algorithm"]["algorithm"].native,
                   params["mask_gen_algorithm"]["parameters"]["algorithm"].native, int(params["salt_length"].native))
        by_name = _attrs_by_name(attrs)
        signing_time = _one_attr(by_name, "signing_time")
        digest = _one_attr(by_name, "message_digest")
        content_type = _one_attr(by_name, "content_type")
        sid = si["sid"]
        by_serial = sid.name == "issuer_and_serial_number"
        issuer = sid.chosen["issuer"].dump() if by_serial else None
        serial = sid.chosen["serial_number"].native if by_serial else None
        key_id = None if by_serial else sid.chosen.native
        signer = None
        for c in certs:
            if _is_signer(c, issuer, serial, key_id):
                signer = c
        if signer is None:
            raise _Malformed("the signer's certificate is not embedded in the signature")
        return _Parsed(
            digest_algorithm=si["digest_algorithm"]["algorithm"].native,
            signature_algo=sig_alg.signature_algo,
            signature_hash=sig_hash,
            pss=pss,
            signature=si["signature"].native,
            signed_attrs=signed_attrs,
            content_type=content_type if isinstance(content_type, str) else None,
            message_digest=digest if isinstance(digest, bytes) else None,
            signing_time=signing_time if isinstance(signing_time, dt.datetime) else None,
            signer=signer,
            others=tuple(c for c in certs if c is not signer),
        )
    except _Malformed:
        raise
    except Exception as e:  # asn1crypto parses lazily and raises ValueError, TypeError, KeyError…
        raise _Malformed(f"not a DER CMS SignedData: {type(e).__name__}: {str(e)[:120]}") from None


def _weakness(p: _Parsed, policy: SignaturePolicy, key: object = None) -> str | None:
    for what, alg in (("digest", p.digest_algorithm), ("signature hash", p.signature_hash),
                      ("PSS hash", p.pss[0] if p.pss else None), ("PSS MGF hash", p.pss[1] if p.pss else None)):
        if alg is not None and alg not in policy.allowed_digests:
            return f"{what} algorithm {alg} is not allowed (allowed: {', '.join(policy.allowed_digests)})"
    key = key if key is not None else p.signer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < policy.min_rsa_bits:
            return f"RSA key of {key.key_size} bits; at least {policy.min_rsa_bits} are required"
        if p.signature_algo not in ("rsassa_pkcs1v15", "rsassa_pss"):
            return f"signature algorithm {p.signature_algo} does not fit an RSA key"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in policy.allowed_curves:
            return f"curve {key.curve.name} is not allowed (allowed: {', '.join(policy.allowed_curves)})"
        if p.signature_algo != "ecdsa":
            return f"signature algorithm {p.signature_algo} does not fit an EC key"
    else:
        return f"{type(key).__name__} keys are not allowed; RSA or ECDSA only"
    return None


def _verify_signature(p: _Parsed, key: object = None) -> bool:
    key = key if key is not None else p.signer.public_key()
    h = _HASHES[p.signature_hash or p.digest_algorithm]()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if p.pss:
                pad: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(_HASHES[p.pss[1]]()), salt_length=p.pss[2])
                h = _HASHES[p.pss[0]]()
            else:
                pad = padding.PKCS1v15()
            key.verify(p.signature, p.signed_attrs, pad, h)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(p.signature, p.signed_attrs, ec.ECDSA(h))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _has_signing_usage(cert: x509.Certificate) -> str | None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "the certificate has no key usage extension; digitalSignature or nonRepudiation is required"
    if not (ku.digital_signature or ku.content_commitment):
        return "the certificate's key usage allows neither digitalSignature nor nonRepudiation"
    return None


@dataclass(frozen=True)
class _SignerFacts:
    """What a signature check needs from the signer's certificate, worked out once per certificate."""

    subject: str
    identity: str | None
    issuer: str
    serial: str
    key: object  # the public key


def _signer_facts(cert: x509.Certificate, identity_oid: str) -> _SignerFacts:
    return _SignerFacts(subject_of(cert), identity_of(cert, identity_oid), cert.issuer.rfc4514_string(),
                        format(cert.serial_number, "x"), cert.public_key())


class ChainCache:
    """What a run of many signature checks can share: certificate paths and CRL signatures.

    The same signer signs thousands of packages, so the path from its certificate (with the
    certificates embedded beside it) to a trust anchor is built once and reused whenever the
    validation time falls inside the validity of every certificate on that path: the only part of
    path validation that depends on the time. Any other time builds the path again (and an
    expired or failing one is never cached). Revocation is checked on every signature, with each
    CRL's signature verified once per issuer. One cache belongs to one policy (anchors, CRLs) and
    lives for one run; it holds at most ``max_paths`` paths.
    """

    def __init__(self, max_paths: int = 4096) -> None:
        self.max_paths = max_paths
        self._paths: dict[bytes, tuple[tuple[x509.Certificate, ...], dt.datetime, dt.datetime]] = {}
        self._crl_valid: dict[tuple[bytes, bytes], bool] = {}
        self._signers: dict[tuple[x509.Certificate, str], _SignerFacts] = {}
        self._usage: dict[x509.Certificate, str | None] = {}
        self._certs: dict[bytes, tuple[x509.Certificate, bytes]] = {}

    def certificate(self, der: bytes) -> tuple[x509.Certificate, bytes]:
        """The certificate of DER bytes ``der`` and their SHA-256, parsed once per run: every
        package of one agency embeds the same chain. Keyed by the SHA-256 of the bytes."""
        digest = hashlib.sha256(der).digest()
        hit = self._certs.get(digest)
        if hit is None:
            if len(self._certs) >= self.max_paths:
                self._certs.pop(next(iter(self._certs)))
            hit = self._certs[digest] = (x509.load_der_x509_certificate(der), digest)
        return hit

    def usage(self, cert: x509.Certificate) -> str | None:
        """:func:`_has_signing_usage` of ``cert``, worked out once per certificate in the run."""
        if cert not in self._usage:
            if len(self._usage) >= self.max_paths:
                self._usage.pop(next(iter(self._usage)))
            self._usage[cert] = _has_signing_usage(cert)
        return self._usage[cert]

    def signer(self, cert: x509.Certificate, identity_oid: str) -> _SignerFacts:
        """The facts of a signer's certificate (equal certificates are equal DER), kept for the run."""
        facts = self._signers.get((cert, identity_oid))
        if facts is None:
            if len(self._signers) >= self.max_paths:
                self._signers.pop(next(iter(self._signers)))
            facts = self._signers[(cert, identity_oid)] = _signer_facts(cert, identity_oid)
        return facts

    @staticmethod
    def key(leaf: x509.Certificate, others: Sequence[x509.Certificate]) -> bytes:
        return b"".join([leaf.fingerprint(hashes.SHA256())] + [c.fingerprint(hashes.SHA256()) for c in others])

    def path(self, key: bytes, at: dt.datetime) -> tuple[x509.Certificate, ...] | None:
        hit = self._paths.get(key)
        if hit is not None and hit[1] <= at <= hit[2]:
            return hit[0]
        return None

    def keep(self, key: bytes, chain: Sequence[x509.Certificate]) -> None:
        if len(self._paths) >= self.max_paths:
            self._paths.pop(next(iter(self._paths)))
        start = max(c.not_valid_before_utc for c in chain)
        end = min(c.not_valid_after_utc for c in chain)
        self._paths[key] = (tuple(chain), start, end)

    def crl_signature_valid(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        key = (crl.fingerprint(hashes.SHA256()), issuer.fingerprint(hashes.SHA256()))
        valid = self._crl_valid.get(key)
        if valid is None:
            valid = self._crl_valid[key] = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        return valid


def _revocation(chain: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList],
                path: str, subject: str, cache: ChainCache | None = None) -> tuple[list[Finding], str | None]:
    """Findings for CRLs that fail their signature, and the reason if a certificate of ``chain`` is revoked."""
    findings = []
    for cert, issuer in zip(chain, chain[1:]):
        for crl in crls:
            if crl.issuer != cert.issuer:
                continue
            valid = (cache.crl_signature_valid(crl, issuer) if cache is not None
                     else crl.is_signature_valid(issuer.public_key()))  # type: ignore[arg-type]
            if not valid:
                findings.append(Finding("CRL_INVALID", path, f"a CRL of {crl.issuer.rfc4514_string()} is not signed by "
                                        f"its issuer; ignored while checking {subject}"))
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                try:
                    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
                except x509.ExtensionNotFound:
                    reason = "unspecified"
                who = "the signer's certificate" if cert is chain[0] else f"CA certificate {subject_of(cert)}"
                return findings, f"{who} was revoked on {entry.revocation_date_utc.isoformat()} ({reason})"
    return findings, None


def check_signature(file: str, der: bytes, content: bytes | None, policy: SignaturePolicy,
                    now: dt.datetime | None = None, content_name: str = layout.REQUIRED_TAGMANIFEST,
                    cache: ChainCache | None = None) -> SignerReport:
    """Check one signature file (its package path ``file``) over ``content`` (the tag manifest bytes,
    or the document named ``content_name`` for a detached signature over another file)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        p = _parse(der, cache)
    except _Malformed as e:
        return SignerReport(file, None, None, None, None, None, (Finding("SIGNATURE_MALFORMED", file, f"signer unknown: {e}"),))
    facts = cache.signer(p.signer, policy.identity_oid) if cache is not None else _signer_facts(p.signer, policy.identity_oid)
    subject = facts.subject
    report = dict(file=file, subject=subject, identity=facts.identity, issuer=facts.issuer,
                  serial=facts.serial, signing_time=p.signing_time)

    def done(*findings: Finding) -> SignerReport:
        return SignerReport(**report, findings=tuple(findings))  # type: ignore[arg-type]

    weak = _weakness(p, policy, facts.key)
    if weak:
        return done(Finding("SIGNATURE_ALGORITHM_WEAK", file, f"{subject}: {weak}"))
    if content is None:
        return done(Finding("SIGNATURE_INVALID", file, f"{subject}: there is no {content_name} to verify against"))
    if p.content_type != "data" or p.message_digest is None:
        return done(Finding("SIGNATURE_INVALID", file, f"{subject}: signed attributes lack content type data or a message digest"))
    h = hashes.Hash(_HASHES[p.digest_algorithm]())
    h.update(content)
    if not hmac.compare_digest(h.finalize(), p.message_digest):
        return done(Finding("SIGNATURE_INVALID", file, f"{subject}: the signed digest differs from {content_name}: "
                            f"{'the tag manifest' if content_name == layout.REQUIRED_TAGMANIFEST else 'it'} "
                            "changed after signing, or the signature is over other content"))
    if not _verify_signature(p, facts.key):
        return done(Finding("SIGNATURE_INVALID", file, f"{subject}: the signature does not verify with the signer's public key"))
    if p.signing_time is not None and p.signing_time > now + policy.max_clock_skew:
        return done(Finding("SIGNATURE_INVALID", file, f"{subject}: signing time {p.signing_time.isoformat()} is in the future"))
    return done(*_trust(file, p, subject, policy, now, cache))


def _trust(file: str, p: _Parsed, subject: str, policy: SignaturePolicy, now: dt.datetime,
           cache: ChainCache | None = None) -> list[Finding]:
    if not policy.anchors:
        return [Finding("SIGNER_NO_TRUST_ANCHORS", file, f"{subject}: no trust anchors are configured, so the signer "
                        "cannot be judged (give --trust, or add anchors to the workspace trust store)")]
    at = policy.at or p.signing_time or now
    when = "at the validation time" if policy.at else ("at signing time" if p.signing_time else "now")
    findings: list[Finding] = []
    usage = cache.usage(p.signer) if cache is not None else _has_signing_usage(p.signer)
    if usage:
        findings.append(Finding("SIGNER_KEY_USAGE", file, f"{subject}: {usage}"))
    leaf = p.signer
    if not (leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc):
        findings.append(Finding("SIGNER_EXPIRED", file, f"{subject}: the certificate is valid from "
                                f"{leaf.not_valid_before_utc.isoformat()} to {leaf.not_valid_after_utc.isoformat()}, "
                                f"not {when} ({at.isoformat()})"))
        return findings
    key = (p.chain_key or ChainCache.key(leaf, p.others)) if cache is not None else b""
    chain = cache.path(key, at) if cache is not None else None
    if chain is None:
        from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

        builder = (PolicyBuilder().store(Store(list(policy.anchors))).time(at)
                   .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()))
        try:
            verified = builder.build_client_verifier().verify(leaf, list(p.others) + list(policy.intermediates))
        except VerificationError as e:
            findings.append(Finding("SIGNER_UNTRUSTED", file, f"{subject}: no valid path to a trust anchor {when}: {e}"))
            return findings
        chain = tuple(verified.chain)
        if cache is not None:
            cache.keep(key, chain)
    crl_findings, revoked = _revocation(chain, policy.crls, file, subject, cache)
    findings += crl_findings
    if revoked:
        findings.append(Finding("SIGNER_REVOKED", file, f"{subject}: {revoked}"))
    return findings


def _record_agency(reader: PackageReader) -> str | None:
    if not reader.has_file(layout.RECORD_XML):
        return None
    from govarc.package.schema import NS
    from govarc.xmlsafe import parse_bytes

    try:
        root = parse_bytes(reader.read(layout.RECORD_XML))
        return root.findtext("r:provenance/r:agencyCode", namespaces={"r": NS})
    except Exception:  # not well-formed: the package checks already report it
        return None


def check_package_signatures(
    reader: PackageReader, bag_info: Sequence[tuple[str, str]], policy: SignaturePolicy, now: dt.datetime | None = None,
    cache: ChainCache | None = None,
) -> tuple[list[Finding], list[SignerReport]]:
    """Check every file in ``signatures/`` of an open package; see the module docstring.

    The issuing agency's signature (its code as in bag-info ``Source-Organization-Identifier``, or
    record.xml ``agencyCode``) must be present; other signatures (the archives' countersignature)
    must each be valid and trusted too but may name other agencies.
    """
    findings: list[Finding] = []
    reports: list[SignerReport] = []
    prefix = layout.SIGNATURES_DIR + "/"
    names = sorted(n for n in reader.entries if n.startswith(prefix))
    try:
        content = reader.read(layout.REQUIRED_TAGMANIFEST) if reader.has_file(layout.REQUIRED_TAGMANIFEST) else None
    except OSError:  # unreadable or over a limit: the package checks report it
        content = None
    for name in names:
        rest = name[len(prefix):]
        if "/" in rest or not rest.endswith(".p7s") or rest.startswith("."):
            findings.append(Finding("SIGNATURE_UNEXPECTED_FILE", name, "signatures/ may hold only <CODE>.p7s files"))
            continue
        if not reader.has_file(name):
            continue  # a link or special file: LINK_IN_PACKAGE / ZIP_UNSAFE_ENTRY already say so
        try:
            der = reader.read(name)
        except OSError as e:  # over a limit (LIMIT_EXCEEDED) or a damaged zip entry (ZIP_INVALID)
            reports.append(SignerReport(name, None, None, None, None, None,
                                        (Finding("SIGNATURE_MALFORMED", name, f"signer unknown: cannot be read: {e}"),)))
            continue
        reports.append(check_signature(name, der, content, policy, now, cache=cache))
    if not reports:
        if not policy.allow_unsigned:
            findings.append(Finding("SIGNATURE_MISSING", prefix, "the package is not signed (no signatures/*.p7s)"))
        return findings, reports
    expected = bag_info_get(list(bag_info), "Source-Organization-Identifier") or _record_agency(reader)
    if expected:
        agency_signed = any(r.identity == expected for r in reports)
        out = []
        for r in reports:
            role = "agency" if r.identity == expected else "countersignature"
            extra: tuple[Finding, ...] = ()
            if not agency_signed and r.subject is not None:  # a malformed file names nobody
                named = f"names agency {r.identity!r}" if r.identity else f"carries no agency code in OID {policy.identity_oid}"
                extra = (Finding("SIGNER_WRONG_AGENCY", r.file, f"{r.subject or 'signer unknown'}: the certificate {named}; "
                                 f"the package is from agency {expected!r}, which has not signed it"),)
            out.append(SignerReport(r.file, r.subject, r.identity, r.issuer, r.serial, r.signing_time,
                                    r.findings + extra, role))
        reports = out
    for r in reports:
        findings.extend(r.findings)
    return findings, reports


def make_signature_check(
    policy: SignaturePolicy, cache: ChainCache | None = None,
) -> Callable[[PackageReader, list[tuple[str, str]]], tuple[list[Finding], list[dict[str, object]]]]:
    """The callable to pass as ``verify_package(extra=...)``; ``cache`` shares paths across the packages it checks."""

    def extra(reader: PackageReader, bag_info: list[tuple[str, str]]) -> tuple[list[Finding], list[dict[str, object]]]:
        findings, reports = check_package_signatures(reader, bag_info, policy, cache=cache)
        return findings, [r.as_dict() for r in reports]

    return extra


def load_trust_anchors(paths: Sequence[Path]) -> tuple[x509.Certificate, ...]:
    """Certificates from PEM/DER files, or from every ``*.pem``/``*.crt``/``*.cer`` in folders."""
    from govarc.sign.keys import load_certificates

    out: list[x509.Certificate] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for f in sorted(path.iterdir()):
                if f.is_file() and f.suffix.lower() in (".pem", ".crt", ".cer"):
                    out.extend(load_certificates(f))
        else:
            out.extend(load_certificates(path))
    return tuple(dict.fromkeys(out))


def load_crls(paths: Sequence[Path]) -> tuple[x509.CertificateRevocationList, ...]:
    """CRLs from PEM (one or more) or DER files, or every ``*.crl``/``*.pem`` in folders."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += [f for f in sorted(path.iterdir()) if f.is_file() and f.suffix.lower() in (".crl", ".pem", ".der")]
        else:
            files.append(path)
    out = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as e:
            raise InvalidInputError(f"cannot read the CRL: {e.strerror}", str(f)) from None
        out.extend(parse_crls(data, str(f)))
    return tuple(out)


def parse_crls(data: bytes, where: str = "CRL") -> list[x509.CertificateRevocationList]:
    """CRLs from PEM (any number of blocks) or DER bytes; raises InvalidInputError if none parse."""
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            blocks = data.split(b"-----END X509 CRL-----")
            return [x509.load_pem_x509_crl(b + b"-----END X509 CRL-----\n") for b in blocks if b"-----BEGIN" in b]
        return [x509.load_der_x509_crl(data)]
    except ValueError as e:
        raise InvalidInputError(f"not a CRL: {e}", where) from None
