"""A small, bounded DER walk over the CMS SignedData that govarc itself writes: the fast path.

:func:`govarc.sign.validate` parses a signature with asn1crypto, which costs ~0.36 ms a file in
pure Python, most of it building objects for fields nobody reads. Nearly every signature in a
fixity audit has the one shape ``sign_bytes`` writes (detached, one SignerInfo, ECDSA or RSA
PKCS#1 v1.5 with SHA-2, signed attributes content-type, message-digest, signing-time and
S/MIME capabilities), so this module reads exactly that shape, field by field, and nothing else.

It never decides that a signature is bad: anything outside that shape (a length that is not
minimal DER, indefinite lengths, multi-byte tags, another algorithm, PSS parameters, a repeated
attribute, GeneralizedTime, trailing bytes, a certificate choice that is not a certificate, ...)
raises :class:`Unusual`, and the caller then parses the same bytes with asn1crypto exactly as
before, so every finding and message about a malformed or unusual signature is unchanged. Every
length is checked against its enclosing element before it is used, so a walk is linear in the
input and cannot read outside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


class Unusual(Exception):
    """Outside the shape this walk reads: parse with asn1crypto instead."""


def _oid(dotted: str) -> bytes:
    """The DER contents of an OBJECT IDENTIFIER."""
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for n in parts[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


_SIGNED_DATA = _oid("1.2.840.113549.1.7.2")
_DATA = _oid("1.2.840.113549.1.7.1")
_CONTENT_TYPE = _oid("1.2.840.113549.1.9.3")
_MESSAGE_DIGEST = _oid("1.2.840.113549.1.9.4")
_SIGNING_TIME = _oid("1.2.840.113549.1.9.5")
_SMIME_CAPABILITIES = _oid("1.2.840.113549.1.9.15")

# Digest algorithms by OID, named as asn1crypto names them.
DIGESTS: dict[bytes, str] = {
    _oid("2.16.840.1.101.3.4.2.1"): "sha256", _oid("2.16.840.1.101.3.4.2.2"): "sha384",
    _oid("2.16.840.1.101.3.4.2.3"): "sha512", _oid("2.16.840.1.101.3.4.2.8"): "sha3_256",
    _oid("2.16.840.1.101.3.4.2.9"): "sha3_384", _oid("2.16.840.1.101.3.4.2.10"): "sha3_512",
}
# Signature algorithms by OID: (asn1crypto's signature_algo, its hash_algo or None when it has none).
SIGNATURES: dict[bytes, tuple[str, str | None]] = {
    _oid("1.2.840.10045.4.3.2"): ("ecdsa", "sha256"), _oid("1.2.840.10045.4.3.3"): ("ecdsa", "sha384"),
    _oid("1.2.840.10045.4.3.4"): ("ecdsa", "sha512"),
    _oid("1.2.840.113549.1.1.11"): ("rsassa_pkcs1v15", "sha256"),
    _oid("1.2.840.113549.1.1.12"): ("rsassa_pkcs1v15", "sha384"),
    _oid("1.2.840.113549.1.1.13"): ("rsassa_pkcs1v15", "sha512"),
    _oid("1.2.840.113549.1.1.1"): ("rsassa_pkcs1v15", None),
}


def _tlv(buf: bytes, at: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the element at ``at``, inside ``buf[:end]``."""
    if at + 2 > end:
        raise Unusual("truncated header")
    tag = buf[at]
    if tag & 0x1F == 0x1F:
        raise Unusual("multi-byte tag")
    first = buf[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or at + n > end:
            raise Unusual("indefinite or oversized length")
        length = int.from_bytes(buf[at:at + n], "big")
        if length < 0x80 or length < (1 << (8 * (n - 1))):
            raise Unusual("length not in minimal DER form")
        at += n
    if at + length > end:
        raise Unusual("length past the enclosing element")
    return tag, at, at + length


def _children(buf: bytes, start: int, end: int, limit: int = 64) -> list[tuple[int, int, int, int]]:
    """(tag, element start, contents start, contents end) of each element in ``buf[start:end]``."""
    out: list[tuple[int, int, int, int]] = []
    at = start
    while at < end:
        if len(out) >= limit:
            raise Unusual("too many elements")
        tag, s, e = _tlv(buf, at, end)
        out.append((tag, at, s, e))
        at = e
    return out


def _algorithm(buf: bytes, s: int, e: int) -> bytes:
    """The OID of an AlgorithmIdentifier whose parameters are absent or NULL."""
    parts = _children(buf, s, e)
    if not parts or parts[0][0] != 0x06 or len(parts) > 2:
        raise Unusual("algorithm identifier")
    if len(parts) == 2 and (parts[1][0] != 0x05 or parts[1][2] != parts[1][3]):
        raise Unusual("algorithm parameters other than NULL")
    return buf[parts[0][2]:parts[0][3]]


def _utc_time(raw: bytes) -> dt.datetime:
    """A UTCTime ``YYMMDDHHMMSSZ`` read as asn1crypto reads it (years 50-99 are 19xx)."""
    if len(raw) != 13 or raw[-1:] != b"Z" or not raw[:12].isdigit():
        raise Unusual("UTCTime form")
    y, mo, d, h, mi, s = (int(raw[i:i + 2]) for i in range(0, 12, 2))
    try:
        return dt.datetime(1900 + y if y >= 50 else 2000 + y, mo, d, h, mi, s, tzinfo=dt.timezone.utc)
    except ValueError:
        raise Unusual("UTCTime out of range") from None


@dataclass(frozen=True)
class Walked:
    """The fields a signature check needs, as byte ranges of the DER and decoded values."""

    digest_algorithm: str
    signature_algo: str
    signature_hash: str | None
    signature: bytes
    signed_attrs: bytes  # DER of the SET OF attributes, as signed
    content_type: str | None  # "data", or None when the attribute is absent
    message_digest: bytes | None
    signing_time: dt.datetime | None
    certificates: tuple[bytes, ...]  # the DER of each embedded certificate
    sid_issuer: bytes | None  # DER of the issuer Name (issuer_and_serial_number), else None
    sid_serial: int | None
    sid_key_id: bytes | None  # subject_key_identifier, else None


def walk(der: bytes) -> Walked:
    """Read a detached SignedData of the usual shape; :class:`Unusual` for anything else."""
    end = len(der)
    tag, s, e = _tlv(der, 0, end)
    if tag != 0x30 or e != end:
        raise Unusual("ContentInfo")
    ci = _children(der, s, e)
    if len(ci) != 2 or ci[0][0] != 0x06 or der[ci[0][2]:ci[0][3]] != _SIGNED_DATA or ci[1][0] != 0xA0:
        raise Unusual("not SignedData")
    inner = _children(der, ci[1][2], ci[1][3])
    if len(inner) != 1 or inner[0][0] != 0x30:
        raise Unusual("SignedData")
    sd = _children(der, inner[0][2], inner[0][3])
    tags = [t for t, *_ in sd]
    certs_at = crls = None
    if tags[:3] != [0x02, 0x31, 0x30] or tags[-1] != 0x31:
        raise Unusual("SignedData fields")
    middle = sd[3:-1]
    if middle and middle[0][0] == 0xA0:
        certs_at, middle = middle[0], middle[1:]
    if middle and middle[0][0] == 0xA1:
        crls, middle = middle[0], middle[1:]
    if middle or crls is not None or certs_at is None:
        raise Unusual("SignedData fields")
    encap = _children(der, sd[2][2], sd[2][3])
    if len(encap) != 1 or encap[0][0] != 0x06 or der[encap[0][2]:encap[0][3]] != _DATA:
        raise Unusual("encapsulated content")
    certificates = []
    for t, at, _s, ce in _children(der, certs_at[2], certs_at[3], limit=16):
        if t != 0x30:
            raise Unusual("certificate choice")
        certificates.append(der[at:ce])
    infos = _children(der, sd[-1][2], sd[-1][3])
    if len(infos) != 1 or infos[0][0] != 0x30:
        raise Unusual("SignerInfos")
    si = _children(der, infos[0][2], infos[0][3])
    if len(si) not in (6, 7) or [t for t, *_ in si[:6]] != [0x02, si[1][0], 0x30, 0xA0, 0x30, 0x04] or (
            len(si) == 7 and si[6][0] != 0xA1):
        raise Unusual("SignerInfo fields")
    sid_issuer = sid_serial = sid_key_id = None
    if si[1][0] == 0x30:
        sid = _children(der, si[1][2], si[1][3])
        if len(sid) != 2 or sid[0][0] != 0x30 or sid[1][0] != 0x02 or sid[1][2] == sid[1][3]:
            raise Unusual("issuer and serial number")
        sid_issuer = der[sid[0][1]:sid[0][3]]
        sid_serial = int.from_bytes(der[sid[1][2]:sid[1][3]], "big", signed=True)
    elif si[1][0] == 0x80:
        sid_key_id = der[si[1][2]:si[1][3]]
    else:
        raise Unusual("signer identifier")
    digest = DIGESTS.get(_algorithm(der, si[2][2], si[2][3]))
    sig = SIGNATURES.get(_algorithm(der, si[4][2], si[4][3]))
    if digest is None or sig is None:
        raise Unusual("algorithm")
    attrs_at = si[3]
    if attrs_at[2] == attrs_at[3]:
        raise Unusual("no signed attributes")
    values: dict[bytes, tuple[int, int, int]] = {}
    for t, _at, a_s, a_e in _children(der, attrs_at[2], attrs_at[3], limit=16):
        attr = _children(der, a_s, a_e)
        if t != 0x30 or len(attr) != 2 or attr[0][0] != 0x06 or attr[1][0] != 0x31:
            raise Unusual("attribute")
        kind = der[attr[0][2]:attr[0][3]]
        if kind == _SMIME_CAPABILITIES:
            continue
        if kind not in (_CONTENT_TYPE, _MESSAGE_DIGEST, _SIGNING_TIME) or kind in values:
            raise Unusual("attribute type")
        vals = _children(der, attr[1][2], attr[1][3])
        if len(vals) != 1:
            raise Unusual("attribute values")
        values[kind] = (vals[0][0], vals[0][2], vals[0][3])
    content_type = message_digest = signing_time = None
    if _CONTENT_TYPE in values:
        t, v_s, v_e = values[_CONTENT_TYPE]
        if t != 0x06 or der[v_s:v_e] != _DATA:
            raise Unusual("content type other than data")
        content_type = "data"
    if _MESSAGE_DIGEST in values:
        t, v_s, v_e = values[_MESSAGE_DIGEST]
        if t != 0x04:
            raise Unusual("message digest value")
        message_digest = der[v_s:v_e]
    if _SIGNING_TIME in values:
        t, v_s, v_e = values[_SIGNING_TIME]
        if t != 0x17:
            raise Unusual("signing time value")
        signing_time = _utc_time(der[v_s:v_e])
    return Walked(
        digest_algorithm=digest, signature_algo=sig[0], signature_hash=sig[1],
        signature=der[si[5][2]:si[5][3]], signed_attrs=b"\x31" + der[attrs_at[1] + 1:attrs_at[3]],
        content_type=content_type, message_digest=message_digest, signing_time=signing_time,
        certificates=tuple(certificates), sid_issuer=sid_issuer, sid_serial=sid_serial, sid_key_id=sid_key_id,
    )
