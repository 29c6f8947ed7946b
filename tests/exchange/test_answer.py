"""签收 and 退回 through the CLI after a real `govarc send` and `govarc receive`: signed receipts the sender counts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from govarc.exchange.documents import exchange_receipt_from_xml, receipt_key
from govarc.workspace import Workspace
from tests.exchange.sendkit import cli, golden_xcity, hub, szf_codes, xcity  # noqa: F401 (fixtures)


def _with_czj_key(ws: Workspace, extra: str = "") -> Workspace:
    """CZJ (a recipient in this same installation) gets its key; ``extra`` goes into its [[agency]] table."""
    shutil.copytree(ws.home.parent / "peers" / "CZJ", ws.keys_dir("CZJ"))
    if extra:
        toml = ws.home / "govarc.toml"
        text = toml.read_text(encoding="utf-8")
        at = text.index('code = "CZJ"')
        toml.write_text(text[:at] + extra + "\n" + text[at:], encoding="utf-8")
    return Workspace.open(ws.home)


def _send(ws: Workspace, n: int = 0) -> str:
    r = cli(ws, "send", szf_codes(ws)[n], "--agency", "SZF", "--to", "CZJ", "--urgency", "特急", "--json")
    assert r.exit_code == 0, r.output
    return str(json.loads(r.output)["message_id"])


def _openssl_verify(ws: Workspace, key: str, tmp: Path) -> None:
    t = hub(ws)
    xml, sig = tmp / "r.xml", tmp / "r.p7s"
    xml.write_bytes(t.read(key))
    sig.write_bytes(t.read(key + ".p7s"))
    v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content", str(xml),
                        "-CAfile", str(ws.pki_dir / "ca.pem"), "-purpose", "any", "-out", "/dev/null"],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr


def test_send_receive_sign_for_round_trip(xcity: Workspace, tmp_path: Path) -> None:  # noqa: F811
    ws = _with_czj_key(xcity)
    mid = _send(ws)
    waiting = json.loads(cli(ws, "inbox", "--agency", "CZJ", "--json").output)
    assert [(m["message_id"], m["sender"], m["urgency"], m["received"], m["problem"])
            for m in waiting[0]["messages"]] == [(mid, "SZF", "特急", False, None)]
    r = cli(ws, "receive", "--agency", "CZJ", "--json")
    assert r.exit_code == 0, r.output
    assert [m["state"] for m in json.loads(r.output)["agencies"][0]["messages"]] == ["received"]
    assert json.loads(cli(ws, "inbox", "--agency", "CZJ", "--json").output)[0]["messages"][0]["received"] is True
    assert "nothing new" in cli(ws, "receive", "--agency", "CZJ").output
    s = cli(ws, "sign-for", mid, "--agency", "CZJ")
    assert s.exit_code == 0 and "签收 published" in s.output, s.output
    key = receipt_key("SZF", mid, "CZJ")
    _openssl_verify(ws, key, tmp_path)
    receipt = exchange_receipt_from_xml(hub(ws).read(key), key)
    assert receipt.action.value == "签收" and receipt.recipient_code == "CZJ" and receipt.reason is None
    assert receipt.package_sha256 == hub(ws).list("exchange/objects")[0].split("/")[-1][:-4]
    # the same answer again is a no-op (same bytes on the hub); a different one is refused
    before = hub(ws).read(key + ".p7s")
    again = cli(ws, "sign-for", mid, "--agency", "CZJ")
    assert again.exit_code == 0 and "already given" in again.output
    assert hub(ws).read(key + ".p7s") == before
    refused = cli(ws, "return", mid, "--agency", "CZJ", "--reason", "非本单位职责")
    assert refused.exit_code == 3 and "a different answer is refused" in refused.output
    # the sender counts it
    st = cli(ws, "exchange", "status", mid, "--json")
    assert st.exit_code == 0 and "signed_for" in st.output, st.output


def test_return_with_reason_then_sign_for_is_refused(xcity: Workspace, tmp_path: Path) -> None:  # noqa: F811
    ws = _with_czj_key(xcity)
    mid = _send(ws, 1)
    assert cli(ws, "receive", "--agency", "CZJ").exit_code == 0
    r = cli(ws, "return", mid, "--agency", "CZJ", "--reason", "非本单位职责")
    assert r.exit_code == 0 and "退回（非本单位职责） published" in r.output, r.output
    key = receipt_key("SZF", mid, "CZJ")
    _openssl_verify(ws, key, tmp_path)
    receipt = exchange_receipt_from_xml(hub(ws).read(key), key)
    assert receipt.action.value == "退回" and receipt.reason == "非本单位职责"
    assert cli(ws, "return", mid, "--agency", "CZJ", "--reason", "非本单位职责").exit_code == 0
    assert cli(ws, "return", mid, "--agency", "CZJ", "--reason", "另一理由").exit_code == 3
    assert cli(ws, "sign-for", mid, "--agency", "CZJ").exit_code == 3
    st = cli(ws, "exchange", "status", mid, "--json")
    assert "returned" in st.output and "非本单位职责" in st.output


@pytest.mark.parametrize("args, code, says", [
    (("sign-for", "SZF-20260101000000-00000000", "--agency", "CZJ"), 3, "has received no message"),
    (("sign-for", "../../etc", "--agency", "CZJ"), 3, "is not a message id"),
    (("sign-for", "SZF-20260101000000-00000000"), 6, "--agency"),
    (("return", "SZF-20260101000000-00000000", "--agency", "CZJ", "--reason", " "), 3, "has received no message"),
    (("sign-for", "SZF-20260101000000-00000000", "--agency", "NOPE"), 6, "unknown agency"),
])
def test_bad_answers(xcity: Workspace, args: tuple[str, ...], code: int, says: str) -> None:  # noqa: F811
    ws = _with_czj_key(xcity)
    r = cli(ws, *args)
    assert r.exit_code == code and says in r.output, r.output


def test_auto_sign_for_after_a_drop_folder_hand_over(xcity: Workspace, tmp_path: Path) -> None:  # noqa: F811
    drop = tmp_path / "oa"
    drop.mkdir()
    ws = _with_czj_key(xcity, f'oa_drop = "{drop}"\nauto_sign_for = true')
    mid = _send(ws)
    r = cli(ws, "receive", "--agency", "CZJ", "--json")
    assert r.exit_code == 0, r.output
    assert [m["state"] for m in json.loads(r.output)["agencies"][0]["messages"]] == ["signed_for"]
    assert sorted(p.name for p in drop.iterdir()) == [f"{mid}.json", f"{mid}.zip"]
    _openssl_verify(ws, receipt_key("SZF", mid, "CZJ"), tmp_path)
    assert cli(ws, "sign-for", mid, "--agency", "CZJ").exit_code == 0  # the same answer: a no-op
    assert cli(ws, "return", mid, "--agency", "CZJ", "--reason", "x").exit_code == 3


def test_the_nightly_step_receives(xcity: Workspace, tmp_path: Path) -> None:  # noqa: F811
    drop = tmp_path / "oa"
    drop.mkdir()
    ws = _with_czj_key(xcity, f'oa_drop = "{drop}"')
    mid = _send(ws)
    r = cli(ws, "--json", "nightly")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in drop.iterdir()) == [f"{mid}.json", f"{mid}.zip"]
    assert '"exchange_received": 1' in r.output
    # a hostile envelope fails the step with its code; the job goes on for the other agencies
    hub(ws).publish(f"exchange/inbox/CZJ/{mid[:-8]}deadbeef.xml", b"<x/>")
    hub(ws).publish(f"exchange/inbox/CZJ/{mid[:-8]}deadbeef.xml.p7s", b"x")
    bad = cli(ws, "--json", "nightly")
    assert bad.exit_code == 3 and "EXCHANGE_ENVELOPE_INVALID" in bad.output, bad.output


@pytest.mark.parametrize("extra, says", [
    ('oa_command = "/opt/oa/import"', "`oa_command` must be a list"),
    ("oa_command = []", "`oa_command` must be a list"),
    ('oa_command = ["/opt/oa/import"]\noa_drop = "x"', "not both"),
    ("oa_timeout = 0", "`oa_timeout`"),
    ("oa_timeout = true", "`oa_timeout`"),
    ('auto_sign_for = "yes"', "auto_sign_for"),
    ("oa_drop = 3", "`oa_drop`"),
])
def test_bad_oa_settings_are_config_errors(xcity: Workspace, extra: str, says: str) -> None:  # noqa: F811
    ws = xcity
    toml = ws.home / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    at = text.index('code = "CZJ"')
    toml.write_text(text[:at] + extra + "\n" + text[at:], encoding="utf-8")
    r = cli(ws, "receive")
    assert r.exit_code == 6 and says in r.output, r.output
