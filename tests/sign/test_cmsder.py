"""The DER walk of govarc.sign.cmsder against asn1crypto: the same fields, or it steps aside.

A signature check parses the usual signature shape with the walk and anything else with
asn1crypto; these tests parse real signatures and thousands of damaged variants both ways and
require the same outcome (the same fields, or the same SIGNATURE_MALFORMED wording).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import serialization

from govarc.sign.cms import sign_bytes
from govarc.sign.cmsder import Unusual, walk
from govarc.sign.validate import ChainCache, _Malformed, _parse, _parse_asn1, _Parsed

from .conftest import Pki

CONTENT = "manifest-sha256.txt 0123\n".encode()


def _outcome(parse: object, der: bytes) -> tuple[object, ...]:
    try:
        p: _Parsed = parse(der)  # type: ignore[operator]
    except _Malformed as e:
        return ("malformed", str(e))
    der_of = lambda c: c.public_bytes(serialization.Encoding.DER)  # noqa: E731
    return ("ok", p.digest_algorithm, p.signature_algo, p.signature_hash, p.pss, p.signature, p.signed_attrs,
            p.content_type, p.message_digest, p.signing_time, der_of(p.signer), tuple(der_of(c) for c in p.others))


def _same(der: bytes, cache: ChainCache) -> bool:
    """Both parses agree on ``der``; True when the walk itself read it."""
    expected = _outcome(_parse_asn1, der)
    assert _outcome(lambda d: _parse(d, cache), der) == expected
    assert _outcome(_parse, der) == expected
    try:
        walk(der)
    except Unusual:
        return False
    return True


def _signature(pki: Pki, who: str) -> bytes:
    c = pki.creds[who]
    return sign_bytes(CONTENT, c.key, c.cert, c.chain)


@pytest.mark.parametrize("who", ["agency", "archives", "rsa1024", "no_sign", "expired"])
def test_real_signatures_are_walked_and_agree(pki: Pki, who: str) -> None:
    der = _signature(pki, who)
    assert _same(der, ChainCache())
    w = walk(der)
    assert w.content_type == "data" and w.digest_algorithm == "sha256" and len(w.certificates) == 2


@pytest.mark.parametrize("who", ["agency", "rsa1024"])
@pytest.mark.parametrize("how", ["flip", "truncate", "insert", "delete"])
def test_damaged_signatures_agree(pki: Pki, who: str, how: str) -> None:
    der = _signature(pki, who)
    rng = random.Random(f"{who}-{how}")
    cache = ChainCache()
    for _ in range(150):
        at = rng.randrange(len(der))
        if how == "flip":
            bad = der[:at] + bytes([der[at] ^ (1 << rng.randrange(8))]) + der[at + 1:]
        elif how == "truncate":
            bad = der[:at]
        elif how == "insert":
            bad = der[:at] + bytes([rng.randrange(256)]) + der[at:]
        else:
            bad = der[:at] + der[at + 1:]
        _same(bad, cache)


def _rebuild(pki: Pki, change: str) -> bytes:
    ci = asn1_cms.ContentInfo.load(_signature(pki, "agency"))
    sd = ci["content"]
    si = sd["signer_infos"][0]
    attrs = list(si["signed_attrs"])
    if change == "generalized_time":
        t = next(a for a in attrs if a["type"].native == "signing_time")
        t["values"] = [asn1_cms.Time({"generalized_time": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)})]
    elif change == "two_signing_times":
        attrs.append(next(a for a in attrs if a["type"].native == "signing_time"))
    elif change == "no_message_digest":
        attrs = [a for a in attrs if a["type"].native != "message_digest"]
    elif change == "other_content_type":
        t = next(a for a in attrs if a["type"].native == "content_type")
        t["values"] = ["signed_data"]
    elif change == "no_certificates":
        sd["certificates"] = None
    elif change == "key_identifier":
        cert = pki.creds["agency"].cert
        from cryptography import x509
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        si["sid"] = asn1_cms.SignerIdentifier({"subject_key_identifier": ski})
    elif change == "two_signer_infos":
        sd["signer_infos"] = [si, si]
    elif change == "sha1_digest":
        si["digest_algorithm"] = {"algorithm": "sha1"}
    elif change == "embedded_content":
        sd["encap_content_info"] = {"content_type": "data", "content": CONTENT}
    si["signed_attrs"] = attrs
    return ci.dump(force=True)


@pytest.mark.parametrize(("change", "walked"), [
    ("generalized_time", False), ("two_signing_times", False), ("no_message_digest", True),
    ("other_content_type", False), ("no_certificates", False), ("key_identifier", True),
    ("two_signer_infos", False), ("sha1_digest", False), ("embedded_content", False),
])
def test_unusual_shapes_agree(pki: Pki, change: str, walked: bool) -> None:
    assert _same(_rebuild(pki, change), ChainCache()) is walked


@pytest.mark.parametrize("form", ["non_minimal", "indefinite", "trailing", "high_tag"])
def test_non_der_encodings_step_aside(pki: Pki, form: str) -> None:
    der = _signature(pki, "agency")
    assert der[1] == 0x82  # a long-form outer length
    if form == "non_minimal":
        bad = der[:1] + b"\x83\x00" + der[2:]
    elif form == "indefinite":
        bad = der[:1] + b"\x80" + der[4:] + b"\x00\x00"
    elif form == "trailing":
        bad = der + b"\x00"
    else:
        bad = b"\x3f\x81" + der[1:]
    with pytest.raises(Unusual):
        walk(bad)
    _same(bad, ChainCache())


def test_certificates_are_parsed_once_per_run(pki: Pki) -> None:
    cache = ChainCache()
    a = _parse(_signature(pki, "agency"), cache)
    b = _parse(_signature(pki, "agency"), cache)
    assert a.signer is b.signer and a.others[0] is b.others[0]
    assert a.chain_key == ChainCache.key(a.signer, a.others)
    c = _parse(_signature(pki, "other_agency"), cache)
    assert c.signer is not a.signer and c.others[0] is a.others[0]  # the same CA certificate
