"""`govarc exchange status`: receipts verified before they count, forged or mismatched ones reported, overdue listed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from govarc.catalog.identity import open_workspace_catalog
from govarc.exchange.documents import ExchangeReceipt, ReceiptAction
from govarc.exchange.send import parse_deadline, send
from govarc.sign.agency import workspace_policy
from govarc.workspace import Workspace
from tests.exchange.sendkit import (  # noqa: F401  (fixtures)
    cli, exchange_rows, golden_xcity, hub, publish_receipt, szf_codes, szf_signer, xcity,
)


def sent(ws: Workspace, *, days_ago: int = 0, deadline: str | None = "3d") -> tuple[str, str]:
    """SZF sends a zip package to CZJ, DAJ (主送) and GAJ (抄送); returns the message id and package digest."""
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    with open_workspace_catalog(ws) as cat:
        rep = send(ws, cat, ws.agency("SZF"), szf_codes(ws)[3], hub(ws), to=["市直部门"], cc=["GAJ"],
                   deadline=parse_deadline(deadline, now) if deadline else None, signer=szf_signer(ws),
                   policy=workspace_policy(ws), now=now)
    return rep.message_id, rep.package_sha256


def receipt(mid: str, sha: str, who: str, action: ReceiptAction = ReceiptAction.SIGNED_FOR,
            reason: str | None = None) -> ExchangeReceipt:
    return ExchangeReceipt(mid, "SZF", who, f"{who} 机关", action, reason, sha,
                           dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def status(ws: Workspace, *args: str) -> tuple[int, dict[str, object], str]:
    r = cli(ws, "exchange", "status", "--json", *args)
    return r.exit_code, json.loads(r.stdout), r.stderr


def states(doc: dict[str, object]) -> dict[str, tuple[str, object]]:
    (m,) = doc["messages"]  # type: ignore[misc]
    return {r["recipient"]: (r["state"], r["reason"]) for r in m["recipients"]}


def test_receipts_signed_by_their_recipients_are_counted_once(xcity: Workspace) -> None:
    mid, sha = sent(xcity)
    code, doc, _ = status(xcity)
    assert code == 0 and states(doc) == {"CZJ": ("delivered", None), "DAJ": ("delivered", None), "GAJ": ("delivered", None)}
    publish_receipt(xcity, receipt(mid, sha, "CZJ"))
    publish_receipt(xcity, receipt(mid, sha, "DAJ", ReceiptAction.RETURNED, "不属于本单位办理范围"))
    code, doc, err = status(xcity, mid)
    assert code == 0 and err == ""
    assert states(doc) == {"CZJ": ("signed_for", None), "DAJ": ("returned", "不属于本单位办理范围"),
                           "GAJ": ("delivered", None)}
    assert doc["messages"][0]["counts"]["signed_for"] == 1  # type: ignore[index]
    before = exchange_rows(xcity)
    # a later receipt for an answered recipient changes nothing; a second look changes nothing
    publish_receipt(xcity, receipt(mid, sha, "CZJ", ReceiptAction.RETURNED, "改主意了"))
    assert status(xcity)[0] == 0 and exchange_rows(xcity) == before
    text = cli(xcity, "exchange", "status")
    assert text.exit_code == 0 and "DAJ  主送  returned  (不属于本单位办理范围)" in text.output


@pytest.mark.parametrize("case,code,exit_code", [
    ("signed by a stranger", "SIGNER_WRONG_AGENCY", 4),
    ("signed by another recipient", "SIGNER_WRONG_AGENCY", 4),
    ("other package digest", "EXCHANGE_RECEIPT_MISMATCH", 3),
    ("other message id", "EXCHANGE_RECEIPT_MISMATCH", 3),
    ("names another recipient", "EXCHANGE_RECEIPT_MISMATCH", 3),
    ("from a non-addressee", "EXCHANGE_RECEIPT_MISMATCH", 3),
    ("not XML", "EXCHANGE_ENVELOPE_INVALID", 3),
    ("changed after signing", "SIGNATURE_INVALID", 4),
])
def test_a_forged_or_mismatched_receipt_is_reported_and_never_counted(xcity: Workspace, case: str, code: str,
                                                                     exit_code: int) -> None:
    mid, sha = sent(xcity)
    good = receipt(mid, sha, "CZJ")
    if case == "signed by a stranger":
        publish_receipt(xcity, good, signed_by="DAX")
    elif case == "signed by another recipient":
        publish_receipt(xcity, good, signed_by="DAJ")
    elif case == "other package digest":
        publish_receipt(xcity, dataclasses.replace(good, package_sha256="0" * 64))
    elif case == "other message id":
        # published under this message's folder, naming another message
        from govarc.exchange.documents import exchange_receipt_to_xml, receipt_key
        from govarc.sign.documents import sign_document
        from tests.exchange.sendkit import peer

        data = exchange_receipt_to_xml(dataclasses.replace(good, message_id="SZF-20200101000000-00000000"))
        key = receipt_key("SZF", mid, "CZJ")
        hub(xcity).publish(key, data, overwrite=True)
        hub(xcity).publish(key + ".p7s", sign_document(data, peer(xcity, "CZJ")), overwrite=True)
    elif case == "names another recipient":
        publish_receipt(xcity, dataclasses.replace(good, recipient_code="DAJ"), signed_by="CZJ", slot="CZJ")
    elif case == "from a non-addressee":
        publish_receipt(xcity, receipt(mid, sha, "DAX"))
    elif case == "not XML":
        publish_receipt(xcity, good, data=b"<exchangeReceipt><unclosed>")
    elif case == "changed after signing":
        from govarc.exchange.documents import receipt_key

        publish_receipt(xcity, good)
        key = receipt_key("SZF", mid, "CZJ")
        hub(xcity).publish(key, hub(xcity).read(key).replace("签收".encode(), "退回".encode()), overwrite=True)
    before = exchange_rows(xcity)
    got, doc, err = status(xcity)
    assert got == exit_code, (doc, err)
    assert [f["code"] for f in doc["refused"]] == [code]  # type: ignore[index]
    assert f"govarc: error: {code}" in err and "Traceback" not in err
    assert states(doc)["CZJ"] == ("delivered", None)
    assert exchange_rows(xcity) == before


def test_overdue_recipients_are_listed_and_exit_5(xcity: Workspace) -> None:
    late, sha = sent(xcity, days_ago=10, deadline="3d")
    sent(xcity, deadline="3d")  # not yet due
    sent(xcity, days_ago=10, deadline=None)  # no deadline: never overdue
    publish_receipt(xcity, receipt(late, sha, "CZJ"))
    publish_receipt(xcity, receipt(late, sha, "GAJ", ReceiptAction.RETURNED, "非本单位"))
    code, doc, _ = status(xcity, "--overdue")
    assert code == 5 and doc["overdue"] == 1
    (m,) = doc["messages"]  # type: ignore[misc]
    assert m["id"] == late and [r["recipient"] for r in m["recipients"]] == ["DAJ"]
    text = cli(xcity, "exchange", "status", "--overdue")
    assert text.exit_code == 5 and "DAJ  主送  delivered  OVERDUE" in text.output and "CZJ" not in text.output
    all_ = json.loads(cli(xcity, "exchange", "status", "--json").stdout)
    assert cli(xcity, "exchange", "status").exit_code == 0  # without --overdue, overdue is shown, not an error
    assert len(all_["messages"]) == 3 and all_["overdue"] == 1
    publish_receipt(xcity, receipt(late, sha, "DAJ"))
    code, doc, _ = status(xcity, "--overdue")
    assert code == 0 and doc["messages"] == [] and doc["overdue"] == 0
    assert "nothing overdue" in cli(xcity, "exchange", "status", "--overdue").output


def test_status_of_an_unknown_message_is_exit_3(xcity: Workspace) -> None:
    sent(xcity)
    r = cli(xcity, "exchange", "status", "SZF-20000101000000-deadbeef")
    assert r.exit_code == 3 and "no message" in r.output
