"""Receiving from the hub: verify envelope and package, keep as 收文, refuse hostile messages with their codes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os

import pytest

from govarc.exchange.documents import Role, envelope_key, envelope_to_xml, package_key
from tests.exchange.conftest import Hub


def _snapshot(city: Hub) -> tuple[object, ...]:
    incoming = city.ws.home / "incoming"
    files = sorted(str(p.relative_to(incoming)) for p in incoming.rglob("*")) if incoming.exists() else []
    return city.rows(), city.records(), files, city.handed()


def test_happy_path_with_oa_command(city: Hub) -> None:
    mid = city.send()
    other = city.send(package=city.package(1))
    report = city.receive(city.oa_command())
    assert report.exit_code == 0, report.as_dict()
    assert [(m.message_id, m.state, m.sender) for m in report.messages] == sorted(
        [(mid, "handed_over", "SZF"), (other, "handed_over", "SZF")])
    assert sorted(city.handed()) == sorted([mid, other])
    # kept in incoming/CZJ/ with its metadata and signed envelope; no archival code of the recipient
    folder = city.ws.home / "incoming" / "CZJ"
    pkg = folder / f"{mid}.zip"
    assert hashlib.sha256(pkg.read_bytes()).hexdigest() == hashlib.sha256(city.package().read_bytes()).hexdigest()
    meta = json.loads((folder / f"{mid}.json").read_text(encoding="utf-8"))
    assert meta["message_id"] == mid and meta["sender_code"] == "SZF" and meta["urgency"] == "加急"
    assert meta["role"] == "主送" and meta["title"] == "关于做好2024年预算执行工作的通知"
    assert (folder / f"{mid}.envelope.xml").read_bytes() == city.hub.read(envelope_key("CZJ", mid))
    line = [json.loads(x) for x in city.oa_log.read_text().splitlines() if mid in x][0]
    assert line["package"] == str(pkg) and line["meta"] == str(folder / f"{mid}.json")
    assert [r[3] for r in city.rows()] == ["handed_over", "handed_over"]
    assert all(r[1] == "CZJ" and r[2] == "SZF" for r in city.rows())
    records = city.records()
    # a second run: nothing new, nothing handed over again
    again = city.receive(city.oa_command())
    assert again.messages == () and again.exit_code == 0
    assert sorted(city.handed()) == sorted([mid, other])
    assert city.records() == records


def test_happy_path_with_oa_drop_folder(city: Hub) -> None:
    drop = city.root / "oa-drop"
    drop.mkdir()
    mid = city.send()
    report = city.receive(city.agency(oa_drop=drop))
    assert [m.state for m in report.messages] == ["handed_over"]
    assert sorted(p.name for p in drop.iterdir()) == [f"{mid}.json", f"{mid}.zip"]
    assert (drop / f"{mid}.zip").read_bytes() == city.package().read_bytes()
    assert json.loads((drop / f"{mid}.json").read_text(encoding="utf-8"))["message_id"] == mid
    assert city.receive(city.agency(oa_drop=drop)).messages == ()


def test_without_oa_the_message_stays_received(city: Hub) -> None:
    mid = city.send()
    report = city.receive()
    assert [(m.message_id, m.state) for m in report.messages] == [(mid, "received")]
    assert city.receive().messages == ()


def _tampered_envelope(city: Hub) -> str:
    env = city.envelope()
    city.post(env)
    key = envelope_key("CZJ", env.message_id)
    xml = city.hub.read(key).replace("预算执行".encode(), "预算调整".encode())
    city.hub.publish(key, xml, overwrite=True)  # the signature no longer covers the bytes
    return env.message_id


def _garbage_envelope(city: Hub) -> str:
    env = city.envelope()
    city.post(env, xml=b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    return env.message_id


def _deep_envelope(city: Hub) -> str:
    env = city.envelope()
    city.post(env, xml=b"<a>" * 5000 + b"</a>" * 5000)
    return env.message_id


def _other_agency_signed(city: Hub) -> str:
    return city.post(city.envelope(), signer="DAX")  # claims SZF, signed by DAX


def _signed_by_recipient_itself(city: Hub) -> str:
    return city.post(city.envelope(), signer="CZJ")


def _mid_of_another_sender(city: Hub) -> str:
    env = city.envelope()
    return city.post(dataclasses.replace(env, message_id="CZJ" + env.message_id[3:]))


def _published_under_another_id(city: Hub) -> str:
    env = city.envelope()
    other = env.message_id[:-8] + "deadbeef"
    data = envelope_to_xml(env)
    from govarc.sign.documents import sign_document

    city.hub.publish(envelope_key("CZJ", other), data)
    city.hub.publish(envelope_key("CZJ", other) + ".p7s", sign_document(data, city.creds()))
    return other


def _for_another_agency(city: Hub) -> str:
    env = city.envelope("SZF")
    return city.post(dataclasses.replace(env, role=Role.CC), inbox="CZJ")


def _not_listed(city: Hub) -> str:
    env = city.envelope(to=("DAJ",), cc=("CZJ",), role=Role.CC)
    return city.post(dataclasses.replace(env, cc=("CZJ",)), inbox="CZJ")


def _tampered_package(city: Hub) -> str:
    env = city.envelope()
    path = city.hub.root / package_key(env.package_sha256) if hasattr(city.hub, "root") else None
    assert path is not None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    return city.post(env)


def _missing_package(city: Hub) -> str:
    env = city.envelope()
    city.hub.delete(package_key(env.package_sha256))
    return city.post(env)


def _shorter_package_claimed(city: Hub) -> str:
    env = city.envelope()
    return city.post(dataclasses.replace(env, package_size=env.package_size - 1))


def _package_of_another_sender(city: Hub) -> str:
    """A valid package signed by SZF, sent in an envelope claiming and signed by DAX."""
    env = city.envelope()
    mid = "DAX" + env.message_id[3:]
    return city.post(dataclasses.replace(env, message_id=mid, sender_code="DAX", sender_name="某单位"), signer="DAX")


def _replayed_old(city: Hub) -> str:
    return city.send(sent_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=45))


def _from_the_future(city: Hub) -> str:
    return city.send(sent_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5))


HOSTILE = {
    "tampered-envelope": (_tampered_envelope, "SIGNATURE_INVALID", 4),
    "garbage-envelope": (_garbage_envelope, "EXCHANGE_ENVELOPE_INVALID", 3),
    "deep-envelope": (_deep_envelope, "EXCHANGE_ENVELOPE_INVALID", 3),
    "signed-by-another-agency": (_other_agency_signed, "SIGNER_WRONG_AGENCY", 4),
    "signed-by-the-recipient": (_signed_by_recipient_itself, "SIGNER_WRONG_AGENCY", 4),
    "message-id-of-another-sender": (_mid_of_another_sender, "EXCHANGE_ENVELOPE_INVALID", 3),
    "published-under-another-id": (_published_under_another_id, "EXCHANGE_ENVELOPE_INVALID", 3),
    "for-another-agency": (_for_another_agency, "EXCHANGE_NOT_ADDRESSED", 3),
    "tampered-package": (_tampered_package, "EXCHANGE_PACKAGE_MISMATCH", 3),
    "missing-package": (_missing_package, "EXCHANGE_PACKAGE_MISMATCH", 3),
    "size-lies": (_shorter_package_claimed, "EXCHANGE_PACKAGE_MISMATCH", 3),
    "package-not-the-senders": (_package_of_another_sender, "SIGNER_WRONG_AGENCY", 4),
    "replayed-old-envelope": (_replayed_old, "EXCHANGE_REPLAY", 3),
    "sent-in-the-future": (_from_the_future, "EXCHANGE_ENVELOPE_INVALID", 3),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_messages_are_refused_with_their_code(city: Hub, name: str) -> None:
    make, code, exit_code = HOSTILE[name]
    good = city.send(package=city.package(1))
    before = _snapshot(city)
    bad = make(city)
    report = city.receive(city.oa_command())
    outcome = {m.message_id: m for m in report.messages}
    assert outcome[bad].state == "refused" and outcome[bad].code == code, outcome[bad].line()
    assert outcome[bad].exit_code == exit_code and report.exit_code == exit_code
    assert bad in outcome[bad].line() and code in outcome[bad].line()
    # the good message went on; the bad one was not kept, registered nor handed over
    assert outcome[good].state == "handed_over" and city.handed() == [good]
    assert [r[0] for r in city.rows()] == [good] and city.records() == before[1]
    assert not any(bad in p.name for p in (city.ws.home / "incoming" / "CZJ").iterdir())
    # reported once; the next run skips it (its bytes did not change)
    again = city.receive(city.oa_command())
    assert [(m.message_id, m.state, m.exit_code) for m in again.messages] == [(bad, "skipped", 0)]
    assert city.handed() == [good]


def test_duplicate_is_a_warning_and_not_handed_over_twice(city: Hub) -> None:
    env = city.envelope()
    city.post(env)
    assert [m.state for m in city.receive(city.oa_command()).messages] == ["handed_over"]
    # the same message id again, under other (validly signed) envelope bytes
    city.post(dataclasses.replace(env, urgency=env.urgency.URGENT))
    report = city.receive(city.oa_command())
    assert [(m.state, m.code, m.exit_code) for m in report.messages] == [("duplicate", "EXCHANGE_DUPLICATE", 0)]
    assert report.exit_code == 0
    assert city.handed() == [env.message_id]
    assert city.receive(city.oa_command()).messages[0].state == "skipped"


def test_a_changed_refused_envelope_is_judged_again(city: Hub) -> None:
    env = city.envelope()
    city.post(env, signer="DAX")
    assert city.receive().messages[0].code == "SIGNER_WRONG_AGENCY"
    city.post(env)  # the sender publishes its own signature
    assert [m.state for m in city.receive().messages] == ["received"]


def test_incomplete_envelopes_are_not_read(city: Hub) -> None:
    env = city.envelope()
    city.hub.publish(envelope_key("CZJ", env.message_id), envelope_to_xml(env))  # no .p7s yet
    city.hub.publish("exchange/inbox/CZJ/odd name.xml.p7s", b"x")
    assert city.receive().messages == ()
