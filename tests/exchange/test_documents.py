"""The envelope and the exchange receipt: round trips, the spec schemas, hostile documents, signatures.

Signatures over both are made with the transfer documents' sign_document and checked by govarc
against the test PKI (identity = the claimed party) and by stock ``openssl cms -verify``.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from govarc.errors import EXIT_INVALID, InvalidInputError
from govarc.exchange.documents import (
    Envelope, ExchangeReceipt, ReceiptAction, Role, Urgency, envelope_from_xml, envelope_to_xml,
    exchange_receipt_from_xml, exchange_receipt_to_xml, package_key,
)
from govarc.limits import MAX_EXCHANGE_DOC_BYTES, MAX_RECIPIENTS, MAX_XML_DEPTH
from govarc.sign.documents import sign_document, verify_document
from tests.sign.conftest import AGENCY, Pki, pki  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
WHERE = "hub/exchange/inbox/CZJ/m.xml"
SHA = "ab" * 32
MID = "SZF-20261130020000-0a1b2c3d"


def envelope(**changes: object) -> Envelope:
    e = Envelope(
        message_id=MID, sender_code="SZF", sender_name="柳州市人民政府办公室", recipient_code="CZJ", role=Role.TO,
        to=("CZJ", "DAJ"), cc=("GAJ",), urgency=Urgency.URGENT, deadline="2026-12-05T23:59:59+08:00",
        sent_at="2026-11-30T02:00:00+08:00", archival_code="0012-WS·2026-Y-BGS-0001", title="关于做好冬季安全生产工作的通知",
        document_number="柳政办发〔2026〕12号", package_key=package_key(SHA), package_sha256=SHA, package_size=123456,
        package_zip=True,
    )
    return dataclasses.replace(e, **changes)  # type: ignore[arg-type]


def receipt(**changes: object) -> ExchangeReceipt:
    r = ExchangeReceipt(message_id=MID, sender_code="SZF", recipient_code="CZJ", recipient_name="柳州市财政局",
                        action=ReceiptAction.SIGNED_FOR, reason=None, package_sha256=SHA, at="2026-11-30T09:00:00+08:00")
    return dataclasses.replace(r, **changes)  # type: ignore[arg-type]


def refused(fn: Callable[[bytes, str], object], data: bytes) -> str:
    with pytest.raises(InvalidInputError) as info:
        fn(data, WHERE)
    message = str(info.value)
    assert info.value.exit_code == EXIT_INVALID and message.startswith(f"{WHERE}: ") and "\n" not in message, message
    assert len(message) < 600
    return message


@pytest.mark.parametrize("e", [
    envelope(),
    envelope(recipient_code="GAJ", role=Role.CC, deadline=None, archival_code=None, document_number=None,
             urgency=Urgency.NORMAL, package_zip=False),
    envelope(to=tuple(f"A{i}" for i in range(MAX_RECIPIENTS - 1)) + ("CZJ",), cc=()),
], ids=["full", "minimal-cc", "max-recipients"])
def test_envelope_round_trip_and_spec_schema(e: Envelope) -> None:
    data = envelope_to_xml(e)
    assert envelope_from_xml(data, WHERE) == e
    schema = etree.XMLSchema(etree.parse(str(SPECS / "envelope.xsd")))
    assert schema.validate(etree.fromstring(data).getroottree()), schema.error_log


@pytest.mark.parametrize("r", [receipt(), receipt(action=ReceiptAction.RETURNED, reason="不属于本单位办理范围")])
def test_receipt_round_trip_and_spec_schema(r: ExchangeReceipt) -> None:
    data = exchange_receipt_to_xml(r)
    assert exchange_receipt_from_xml(data, WHERE) == r
    schema = etree.XMLSchema(etree.parse(str(SPECS / "exchange-receipt.xsd")))
    assert schema.validate(etree.fromstring(data).getroottree()), schema.error_log


def test_shipped_schemas_are_the_spec_schemas() -> None:
    for name in ("envelope.xsd", "exchange-receipt.xsd"):
        assert (ROOT / "govarc" / "schemas" / name).read_bytes() == (SPECS / name).read_bytes()
        assert name in (SPECS / "envelope.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("changes,words", [
    ({"message_id": "../x"}, "message id"),
    ({"message_id": "A" * 81}, "message id"),
    ({"recipient_code": "DAX"}, "not among the 主送 addressees"),
    ({"role": Role.CC}, "not among the 抄送 addressees"),
    ({"to": ()}, "no 主送"),
    ({"cc": ("CZJ",)}, "appears twice"),
    ({"to": ("CZJ", "czj")}, "appears twice"),
    ({"to": tuple(f"A{i}" for i in range(MAX_RECIPIENTS)) + ("CZJ",)}, "MAX_RECIPIENTS"),
    ({"package_key": "exchange/objects/../../x.pkg"}, "package key"),
    ({"package_key": package_key("cd" * 32)}, "package key"),
    ({"package_sha256": "AB" * 32}, "package digest"),
    ({"package_size": -1}, "package size"),
    ({"deadline": "2026-11-29T00:00:00+08:00"}, "before the message was sent"),
    ({"sent_at": "2026-11-30T02:00:00"}, "offset"),
    ({"title": " 前后空格 "}, "white space"),
    ({"title": "控制\x01字符"}, "control character"),
    ({"title": "长" * 2001}, "longer than"),
    ({"archival_code": "0012-WS-2026"}, "archival code"),
])
def test_an_unsound_envelope_is_not_written(changes: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        envelope_to_xml(envelope(**changes))
    assert words in str(info.value)


@pytest.mark.parametrize("changes,words", [
    ({"action": ReceiptAction.RETURNED}, "needs a reason"),
    ({"reason": "签收也写理由"}, "carries no reason"),
    ({"package_sha256": "x" * 64}, "package digest"),
    ({"at": "yesterday"}, "ISO 8601"),
    ({"recipient_code": "../CZJ"}, "recipient code"),
])
def test_an_unsound_receipt_is_not_written(changes: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        exchange_receipt_to_xml(receipt(**changes))
    assert words in str(info.value)


def _edited(old: str, new: str) -> bytes:
    data = envelope_to_xml(envelope()).decode()
    assert old in data, old
    return data.replace(old, new, 1).encode()


BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
        b'<envelope xmlns="urn:govarc:exchange:1">&lol2;</envelope>')
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       b'<envelope xmlns="urn:govarc:exchange:1"><sender>&x;</sender></envelope>')

HOSTILE: list[tuple[str, Callable[[], bytes], str]] = [
    ("entity-bomb", lambda: BOMB, "not well-formed"),
    ("external-entity", lambda: XXE, "not well-formed"),
    ("deep", lambda: b'<envelope xmlns="urn:govarc:exchange:1">' + b"<a>" * (MAX_XML_DEPTH + 5)
     + b"</a>" * (MAX_XML_DEPTH + 5) + b"</envelope>", f"more than {MAX_XML_DEPTH} levels"),
    ("oversized", lambda: envelope_to_xml(envelope()) + b"<!--" + b"x" * MAX_EXCHANGE_DOC_BYTES + b"-->",
     "MAX_EXCHANGE_DOC_BYTES"),
    ("empty", lambda: b"", "not well-formed"),
    ("truncated", lambda: envelope_to_xml(envelope())[:-30], "not well-formed"),
    ("wrong-namespace", lambda: envelope_to_xml(envelope()).replace(b"urn:govarc:exchange:1", b"urn:govarc:transfer:1"),
     "root element is"),
    ("receipt-as-envelope", lambda: exchange_receipt_to_xml(receipt()), "root element is"),
    ("unknown-element", lambda: _edited("<urgency>", "<evil/><urgency>"), "not valid against its schema"),
    ("bad-urgency", lambda: _edited("<urgency>特急</urgency>", "<urgency>十万火急</urgency>"), "not valid against its schema"),
    ("bad-role", lambda: _edited('role="主送"', 'role="密送"'), "not valid against its schema"),
    ("escaping-key", lambda: _edited(f"<key>{package_key(SHA)}</key>", "<key>exchange/objects/../../etc/passwd</key>"),
     "not valid against its schema"),
    ("key-lies", lambda: _edited(f"<key>{package_key(SHA)}</key>", f"<key>{package_key('cd' * 32)}</key>"),
     "package key"),
    ("not-addressed", lambda: _edited("<to>CZJ</to>", "<to>GAJ</to>"), "appears twice"),
    ("recipient-not-listed", lambda: _edited("<to>CZJ</to>", "<to>SZF</to>"), "not among the 主送 addressees"),
    ("size-huge", lambda: _edited("<size>123456</size>", f"<size>{2**64}</size>"), "not valid against its schema"),
    ("no-offset", lambda: _edited('sentAt="2026-11-30T02:00:00+08:00"', 'sentAt="2026-11-30T02:00:00"'),
     "not valid against its schema"),
    ("control-in-title", lambda: _edited("关于做好", "关于&#x7;做好"), "not well-formed"),
]


@pytest.mark.parametrize("make, expect", [(m, e) for _, m, e in HOSTILE], ids=[n for n, _, _ in HOSTILE])
def test_a_hostile_envelope_is_refused_in_one_line(make: Callable[[], bytes], expect: str) -> None:
    assert expect in refused(envelope_from_xml, make())


@pytest.mark.parametrize("old,new,expect", [
    ("<action>签收</action>", "<action>退回</action>", "needs a reason"),
    ("<action>签收</action>", "<action>收到</action>", "not valid against its schema"),
    ('at="2026-11-30T09:00:00+08:00"', 'at="soon"', "not valid against its schema"),
    ("urn:govarc:exchange:1", "urn:x", "root element is"),
])
def test_a_hostile_receipt_is_refused_in_one_line(old: str, new: str, expect: str) -> None:
    data = exchange_receipt_to_xml(receipt()).decode()
    assert old in data
    assert expect in refused(exchange_receipt_from_xml, data.replace(old, new, 1).encode())


def test_signed_envelope_verifies_with_govarc_and_openssl(pki: Pki, tmp_path: Path) -> None:  # noqa: F811
    data = envelope_to_xml(envelope(sender_code=AGENCY))
    sig = sign_document(data, pki.creds["agency"])
    policy = pki.policy()
    assert verify_document(data, sig, "e.xml.p7s", policy, AGENCY) == []
    assert [f.code for f in verify_document(data, sig, "e.xml.p7s", policy, "SZF")] == ["SIGNER_WRONG_AGENCY"]
    assert "SIGNATURE_INVALID" in [f.code for f in verify_document(data + b" ", sig, "e.xml.p7s", policy, AGENCY)]
    (tmp_path / "e.xml").write_bytes(data)
    (tmp_path / "e.p7s").write_bytes(sig)
    v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "e.p7s"),
                        "-content", str(tmp_path / "e.xml"), "-CAfile", str(pki.dir / "ca.pem"), "-purpose", "any",
                        "-out", "/dev/null"], capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
