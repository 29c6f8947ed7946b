"""The document exchange over a real SFTP and a real S3 hub: a full round, then hostile hubs.

A round: SZF sends one package to CZJ (主送) and the group 市直部门 (抄送: DAJ, GAJ, WJW); the hub
holds the package once and one signed envelope per recipient; each recipient receives and verifies
it (CZJ through its OA drop folder, DAJ signing for it automatically), CZJ signs for it, GAJ returns
it, and SZF's ``exchange status`` counts the verified receipts. Stock OpenSSL verifies an envelope
and a receipt fetched straight from the server. Then what an attacker with write access to the
storage can do (tamper, re-sign, replay) is refused with its code, over the same transports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from govarc.catalog.identity import open_workspace_catalog
from govarc.exchange.documents import envelope_from_xml, envelope_key, package_key, receipt_key
from govarc.exchange.send import send
from govarc.sign.agency import load_agency_signer, workspace_policy
from tests.catalog.conftest import Passphrase
from tests.e2e.exchangekit import (  # noqa: F401  (fixtures)
    RECIPIENTS, SENDER, XCity, golden_xchange, openssl_verify_on_hub, xcity,
)


def envelopes(mid: str, codes: tuple[str, ...] = RECIPIENTS) -> list[str]:
    return sorted(envelope_key(c, mid) + s for c in codes for s in ("", ".p7s"))


def test_a_full_round_over_a_real_hub(xcity: XCity, tmp_path: Path) -> None:
    code = xcity.package_code()
    rep = xcity.send(code, "--urgency", "加急", "--deadline", "3d")
    mid, sha = rep["message_id"], rep["package_sha256"]
    assert rep["recipients"] == [{"code": "CZJ", "role": "主送"}] + [{"code": c, "role": "抄送"} for c in RECIPIENTS[1:]]
    assert rep["package_written"] is True and rep["envelopes_written"] == 4
    # on the server: the package ONCE, one envelope and its signature per recipient, nothing else
    assert xcity.raw() == sorted([package_key(sha)] + envelopes(mid))
    assert hashlib.sha256(xcity.raw_read(package_key(sha))).hexdigest() == sha
    assert xcity.raw_read(package_key(sha)) == (xcity.ws.home / "store" / SENDER / f"{code}.zip").read_bytes()
    openssl_verify_on_hub(xcity, envelope_key("GAJ", mid), tmp_path / "envelope")
    env = envelope_from_xml(xcity.raw_read(envelope_key("GAJ", mid)), "GAJ")
    assert (env.message_id, env.sender_code, env.recipient_code, env.role.value, env.package_sha256) == \
        (mid, SENDER, "GAJ", "抄送", sha)
    # what waits in an inbox, verified
    [waiting] = xcity.ok("inbox", "--agency", "WJW")
    assert [(m["message_id"], m["sender"], m["urgency"], m["role"], m["problem"]) for m in waiting["messages"]] == \
        [(mid, SENDER, "加急", "抄送", None)]
    # every agency receives (SZF's own inbox is empty)
    got = xcity.ok("receive")
    assert got["exit_code"] == 0
    states = {a["agency"]: [(m["message_id"], m["state"]) for m in a["messages"]] for a in got["agencies"]}
    assert states == {SENDER: [], "CZJ": [(mid, "handed_over")], "DAJ": [(mid, "signed_for")],
                      "GAJ": [(mid, "received")], "WJW": [(mid, "received")]}
    for c in RECIPIENTS:
        kept = xcity.ws.home / "incoming" / c / f"{mid}.zip"
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha
    assert sorted(p.name for p in xcity.oa_drop.iterdir()) == [f"{mid}.json", f"{mid}.zip"]
    # the answers: CZJ signs for it, GAJ returns it; WJW does not answer
    assert "签收 published" in xcity.cli("sign-for", mid, "--agency", "CZJ").output
    r = xcity.cli("return", mid, "--agency", "GAJ", "--reason", "非本单位职责")
    assert r.exit_code == 0 and "退回（非本单位职责） published" in r.output, r.output
    receipts = sorted(receipt_key(SENDER, mid, c) + s for c in ("CZJ", "DAJ", "GAJ") for s in ("", ".p7s"))
    assert xcity.raw() == sorted([package_key(sha)] + envelopes(mid) + receipts)
    openssl_verify_on_hub(xcity, receipt_key(SENDER, mid, "GAJ"), tmp_path / "receipt")
    # the sender verifies and counts the receipts
    st = xcity.ok("exchange", "status", mid)
    [m] = st["messages"]
    assert st["refused"] == [] and st["overdue"] == 0
    assert {r["recipient"]: (r["state"], r["reason"]) for r in m["recipients"]} == {
        "CZJ": ("signed_for", None), "DAJ": ("signed_for", None), "GAJ": ("returned", "非本单位职责"),
        "WJW": ("delivered", None)}
    assert (m["counts"]["signed_for"], m["counts"]["returned"], m["counts"]["delivered"]) == (2, 1, 1)
    # nothing more to receive; nothing changes on a second look
    before = xcity.catalog()
    assert xcity.ok("receive")["agencies"] == [{"agency": a, "messages": [], "exit_code": 0}
                                               for a in (SENDER, *RECIPIENTS)]
    assert xcity.ok("exchange", "status", mid)["messages"] == st["messages"]
    assert xcity.catalog() == before


# --- hostile hubs ------------------------------------------------------------------------------
# SZF sends one message to CZJ (主送, OA drop folder) and GAJ (抄送); then an attacker with write access
# to the storage (not going through govarc) does one thing. Each attack returns who must refuse what
# (``AGENCY`` for this message, ``AGENCY:MESSAGE`` for another), the finding code, and the exit code.

Attack = tuple[list[str], str, int]


def _flip(data: bytes) -> bytes:
    b = bytearray(data)
    b[len(b) // 2] ^= 0x01
    return bytes(b)


def _tampered_envelope(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    key = envelope_key("CZJ", mid)
    xml = city.raw_read(key).replace("通知".encode(), "通报".encode())  # still a valid envelope, not the one signed
    assert xml != city.raw_read(key)
    city.tamper(key, xml, keep_metadata=keep)
    # S3 with the metadata kept: the digest stored with the object no longer matches its bytes
    return ["CZJ"], "EXCHANGE_ENVELOPE_INVALID" if keep else "SIGNATURE_INVALID", 3 if keep else 4


def _truncated_signature(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    key = envelope_key("GAJ", mid) + ".p7s"
    city.tamper(key, city.raw_read(key)[:-40])
    return ["GAJ"], "SIGNATURE_MALFORMED", 4


def _resigned_by_another_agency(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    key = envelope_key("CZJ", mid)
    city.tamper(key + ".p7s", city.sign_as("GAJ", city.raw_read(key)))  # GAJ signs SZF's envelope
    return ["CZJ"], "SIGNER_WRONG_AGENCY", 4


def _forged_by_a_stranger(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    key = envelope_key("GAJ", mid)
    xml = city.raw_read(key).replace("通知".encode(), "通报".encode())  # claims SZF, signed by DAX (same CA)
    assert xml != city.raw_read(key)
    city.tamper(key, xml)
    city.tamper(key + ".p7s", city.sign_as("DAX", xml))
    return ["GAJ"], "SIGNER_WRONG_AGENCY", 4


def _tampered_package(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    city.tamper(package_key(sha), _flip(city.raw_read(package_key(sha))), keep_metadata=keep)
    return ["CZJ", "GAJ"], "EXCHANGE_PACKAGE_MISMATCH", 3


def _replaced_package(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    other = (city.ws.home / "store" / SENDER / f"{city.package_code(4)}.zip").read_bytes()  # SZF's too, signed
    city.tamper(package_key(sha), other)
    return ["CZJ", "GAJ"], "EXCHANGE_PACKAGE_MISMATCH", 3


def _old_envelope_under_a_new_recipient(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    # an older message SZF sent to DAJ alone, received by DAJ, its envelope copied into WJW's inbox
    old = city.ok("send", city.package_code(4), "--agency", SENDER, "--to", "DAJ")["message_id"]
    assert city.ok("receive", "--agency", "DAJ")["exit_code"] == 0
    for suffix in ("", ".p7s"):
        city.tamper(envelope_key("WJW", old) + suffix, city.raw_read(envelope_key("DAJ", old) + suffix))
    return ["WJW:" + old], "EXCHANGE_NOT_ADDRESSED", 3


def _old_envelope_under_a_new_id(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    new = mid[:-8] + "0badc0de"
    for suffix in ("", ".p7s"):
        city.tamper(envelope_key("GAJ", new) + suffix, city.raw_read(envelope_key("GAJ", mid) + suffix))
    return ["GAJ:" + new], "EXCHANGE_ENVELOPE_INVALID", 3


def _replayed_past_the_window(city: XCity, mid: str, sha: str, keep: bool) -> Attack:
    # an envelope SZF really signed 45 days ago (for WJW), never received, put back into the inbox
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=45)
    signer = load_agency_signer(city.ws, SENDER, Passphrase())
    with open_workspace_catalog(city.ws) as cat, city.hub() as hub:
        old = send(city.ws, cat, city.ws.agency(SENDER), city.package_code(4), hub, to=["WJW"], signer=signer,
                   policy=workspace_policy(city.ws), now=past).message_id
    return ["WJW:" + old], "EXCHANGE_REPLAY", 3


ATTACKS = {f.__name__.strip("_"): f for f in (
    _tampered_envelope, _truncated_signature, _resigned_by_another_agency, _forged_by_a_stranger, _tampered_package,
    _replaced_package, _old_envelope_under_a_new_recipient, _old_envelope_under_a_new_id, _replayed_past_the_window)}
CASES = [(kind, a, False) for kind in ("sftp", "s3") for a in ATTACKS] + \
    [("s3", "tampered_envelope", True), ("s3", "tampered_package", True)]


@pytest.mark.parametrize("exchange, attack, keep", CASES, indirect=["exchange"],
                         ids=[f"{k}-{a}{'-metadata-kept' if m else ''}" for k, a, m in CASES])
def test_an_attack_on_the_hub_is_refused_with_its_code(xcity: XCity, attack: str, keep: bool) -> None:
    rep = xcity.ok("send", xcity.package_code(), "--agency", SENDER, "--to", "CZJ", "--cc", "GAJ")
    mid, sha = rep["message_id"], rep["package_sha256"]
    victims, code, exit_code = ATTACKS[attack](xcity, mid, sha, keep)
    bad = dict((v.split(":") + [mid])[:2] for v in victims)  # agency → message refused
    before, received, hub = xcity.catalog(), set(xcity.incoming()), xcity.raw()
    r = xcity.cli("receive", "--json")
    assert r.exit_code == exit_code, r.output
    got = {a["agency"]: {m["message_id"]: m for m in a["messages"]} for a in json.loads(r.stdout)["agencies"]}
    for agency, message in bad.items():
        m = got[agency][message]
        assert (m["state"], m["code"], m["exit_code"]) == ("refused", code, exit_code), m
        assert not list((xcity.ws.home / "incoming" / agency).glob(f"{message}*"))  # nothing kept of it
    # the other recipients received the message as usual
    for agency, state in (("CZJ", "handed_over"), ("GAJ", "received")):
        if bad.get(agency) != mid:
            assert got[agency][mid]["state"] == state, got[agency]
    after = xcity.catalog()
    assert {(m, a) for m, a, _ in set(xcity.incoming()) - received} == {(mid, a) for a in ("CZJ", "GAJ")
                                                                       if bad.get(a) != mid}
    assert sorted((str(row[0]), str(row[1])) for row in after["incoming_refused"]) == \
        sorted((message, agency) for agency, message in bad.items())
    assert after["records"] == before["records"] and after["messages"] == before["messages"]
    assert (list(xcity.oa_drop.glob(f"{mid}.*")) == []) == (bad.get("CZJ") == mid)  # handed to the OA or not
    assert xcity.raw() == hub  # receiving wrote nothing to the hub
    # reported once: the next run skips it and changes nothing
    again = xcity.ok("receive")
    assert sorted((a["agency"], m["message_id"], m["state"]) for a in again["agencies"] for m in a["messages"]) == \
        sorted((a, m, "skipped") for a, m in bad.items())
    assert xcity.catalog() == after


# --- the sender heals what the hub lost -----------------------------------------------------------


@pytest.mark.parametrize("how", ["flipped", "replaced"])
def test_a_package_corrupted_on_the_hub_is_stored_again_by_the_next_send(xcity: XCity, how: str) -> None:
    first = xcity.send()
    key = package_key(first["package_sha256"])
    data = xcity.raw_read(key)
    xcity.tamper(key, {"flipped": _flip(data),
                       "replaced": (xcity.ws.home / "store" / SENDER / f"{xcity.package_code(4)}.zip").read_bytes()}[how])
    refused = xcity.cli("receive", "--agency", "CZJ", "--json")
    assert refused.exit_code == 3 and "EXCHANGE_PACKAGE_MISMATCH" in refused.output, refused.output
    # the same document sent again: the object under its digest is not the package, so it is stored again
    again = xcity.send()
    assert again["package_sha256"] == first["package_sha256"] and again["package_written"] is True
    assert hashlib.sha256(xcity.raw_read(key)).hexdigest() == first["package_sha256"]
    got = xcity.ok("receive", "--agency", "CZJ")
    assert {m["message_id"]: m["state"] for m in got["agencies"][0]["messages"]} == {
        first["message_id"]: "skipped", again["message_id"]: "handed_over"}
