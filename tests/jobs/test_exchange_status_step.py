"""The sender's nightly step `exchange-status`: receipts collected and verified, sends left `sending` finished."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from govarc.catalog.identity import open_workspace_catalog
from govarc.domain import Agency
from govarc.exchange.documents import ExchangeReceipt, ReceiptAction, envelope_key
from govarc.exchange.send import parse_deadline, send
from govarc.jobs.nightly import run_nightly, steps_named
from govarc.jobs.report import NightlyReport
from govarc.sign.agency import workspace_policy
from govarc.sign.signer import Signer
from govarc.transport import TransportError
from govarc.workspace import Workspace
from tests.exchange.sendkit import (  # noqa: F401  (fixtures)
    exchange_rows, golden_xcity, hub, hub_keys, publish_receipt, szf_codes, szf_signer, xcity,
)
from tests.exchange.test_send import Flaky

TO, CC = ["市直部门"], ["GAJ"]  # CZJ, DAJ 主送; GAJ 抄送


def nightly(ws: Workspace, *names: str) -> NightlyReport:
    signer = szf_signer(ws)

    def signer_for(a: Agency) -> Signer | None:
        return signer if a.code == "SZF" else None

    return run_nightly(ws, signer_for=signer_for, steps=steps_named(list(names or ("exchange-status",))))


def szf_step(report: NightlyReport) -> dict[str, Any]:
    """SZF's exchange-status step record and its run-log field, as the log has them."""
    log = json.loads(Path(report.log_path).read_text(encoding="utf-8"))
    szf = next(a for a in log["agencies"] if a["agency"] == "SZF")
    step = next(s for s in szf["steps"] if s["step"] == "exchange-status")
    return {**step, "field": szf["exchange_status"]}


def send_now(ws: Workspace, source: str | None = None, *, days_ago: int = 0, deadline: str | None = "3d",
             transport: Any = None, title: str | None = None) -> str:
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    with open_workspace_catalog(ws) as cat:
        rep = send(ws, cat, ws.agency("SZF"), source or szf_codes(ws)[3], transport or hub(ws), to=TO, cc=CC,
                   deadline=parse_deadline(deadline, now) if deadline else None, signer=szf_signer(ws),
                   policy=workspace_policy(ws), now=now, title=title)
    return rep.message_id


def crashed_send(ws: Workspace, budget: int, source: str | None = None, title: str | None = None) -> str:
    """A send cut off after ``budget`` puts: the message is recorded `sending`, part of it on the hub."""
    with pytest.raises(TransportError):
        send_now(ws, source, transport=Flaky(hub(ws).root, budget), title=title)
    msgs, _ = exchange_rows(ws)
    [mid] = [str(m[0]) for m in msgs if m[9] == "sending"]
    return mid


def receipt(ws: Workspace, mid: str, who: str, action: ReceiptAction = ReceiptAction.SIGNED_FOR,
            reason: str | None = None, sha: str | None = None) -> ExchangeReceipt:
    from govarc.catalog.messages import messages

    with open_workspace_catalog(ws) as cat:
        sent_sha = next(m.package_sha256 for m in messages(cat, "SZF") if m.id == mid)
    return ExchangeReceipt(mid, "SZF", who, f"{who} 机关", action, reason, sha or sent_sha,
                           dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def states(ws: Workspace) -> dict[str, tuple[str, object]]:
    _, rcpts = exchange_rows(ws)
    return {str(r[1]): (str(r[4]), r[5]) for r in rcpts}


def test_the_step_counts_verified_receipts_once(xcity: Workspace) -> None:
    mid = send_now(xcity)
    publish_receipt(xcity, receipt(xcity, mid, "CZJ"))
    publish_receipt(xcity, receipt(xcity, mid, "DAJ", ReceiptAction.RETURNED, "不属于本单位办理范围"))
    report = nightly(xcity)
    assert report.exit_code == 0
    step = szf_step(report)
    assert step["status"] == "ok" and step["counts"] == {
        "exchange_resent": 0, "exchange_answered": 2, "exchange_receipts_refused": 0, "exchange_overdue": 0}
    assert sorted((c["recipient"], c["action"]) for c in step["field"]["receipts"]["counted"]) == [
        ("CZJ", "签收"), ("DAJ", "退回")]
    assert states(xcity) == {"CZJ": ("signed_for", None), "DAJ": ("returned", "不属于本单位办理范围"),
                             "GAJ": ("delivered", None)}
    # the runs row sums it up too; CZJ sent nothing, so its step had nothing to do
    summary = report.summary()["agencies"]
    assert summary["SZF"]["exchange_answered"] == 2 and summary["CZJ"]["exchange_answered"] == 0
    before = exchange_rows(xcity)
    again = nightly(xcity)
    assert again.exit_code == 0 and szf_step(again)["counts"]["exchange_answered"] == 0
    assert exchange_rows(xcity) == before


def test_without_messages_waiting_the_hub_is_not_contacted(xcity: Workspace) -> None:
    mid = send_now(xcity)
    for who in ("CZJ", "DAJ", "GAJ"):
        publish_receipt(xcity, receipt(xcity, mid, who))
    assert nightly(xcity).exit_code == 0
    shutil.rmtree(hub(xcity).root)  # the hub is gone: a step that contacted it would fail with exit 5
    report = nightly(xcity)
    assert report.exit_code == 0, report.agencies[0].error
    assert szf_step(report)["field"] == {"resent": [], "receipts": None, "overdue": []}


def test_overdue_recipients_are_counted_not_failed(xcity: Workspace) -> None:
    mid = send_now(xcity, days_ago=5, deadline="2d")
    publish_receipt(xcity, receipt(xcity, mid, "CZJ"))
    report = nightly(xcity)
    assert report.exit_code == 0
    step = szf_step(report)
    assert step["counts"]["exchange_overdue"] == 2 and step["counts"]["exchange_answered"] == 1
    assert step["field"]["overdue"] == [{"message_id": mid, "recipients": ["DAJ", "GAJ"]}]


@pytest.mark.parametrize("case,code,exit_code", [
    ("signed by a stranger", "SIGNER_WRONG_AGENCY", 4),
    ("signed by another recipient", "SIGNER_WRONG_AGENCY", 4),
    ("another package digest", "EXCHANGE_RECEIPT_MISMATCH", 3),
    ("not XML", "EXCHANGE_ENVELOPE_INVALID", 3),
    ("from no addressee", "EXCHANGE_RECEIPT_MISMATCH", 3),
])
def test_a_bad_receipt_fails_the_step_and_is_never_counted(xcity: Workspace, case: str, code: str,
                                                            exit_code: int) -> None:
    mid = send_now(xcity)
    publish_receipt(xcity, receipt(xcity, mid, "CZJ"))  # a good one beside it is counted
    bad = receipt(xcity, mid, "DAJ", ReceiptAction.RETURNED, "伪造")
    if case == "signed by a stranger":
        publish_receipt(xcity, bad, signed_by="DAX")
    elif case == "signed by another recipient":
        publish_receipt(xcity, bad, signed_by="GAJ")
    elif case == "another package digest":
        publish_receipt(xcity, receipt(xcity, mid, "DAJ", sha="0" * 64))
    elif case == "not XML":
        publish_receipt(xcity, bad, data=b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>")
    else:
        publish_receipt(xcity, receipt(xcity, mid, "DAX"), slot="DAX")
    report = nightly(xcity)
    assert report.exit_code == exit_code
    step = szf_step(report)
    assert step["status"] == "failed" and step["exit_code"] == exit_code and code in step["error"]
    assert step["counts"]["exchange_answered"] == 1 and step["counts"]["exchange_receipts_refused"] == 1
    assert [f["code"] for f in step["field"]["receipts"]["refused"]] == [code]
    assert states(xcity) == {"CZJ": ("signed_for", None), "DAJ": ("delivered", None), "GAJ": ("delivered", None)}
    # the other agency's steps went on
    assert report.agencies[1].steps[0].status.value == "ok"


@pytest.mark.parametrize("budget", [0, 1, 2, 4])
def test_a_send_left_sending_by_a_crash_is_finished_under_its_own_id(xcity: Workspace, budget: int) -> None:
    mid = crashed_send(xcity, budget)
    report = nightly(xcity)
    assert report.exit_code == 0, report.agencies[0].error
    step = szf_step(report)
    assert step["counts"]["exchange_resent"] == 1
    [resent] = step["field"]["resent"]
    assert resent["message_id"] == mid and resent["error"] is None
    assert resent["envelopes_written"] + resent["envelopes_already"] == 3
    msgs, rcpts = exchange_rows(xcity)
    assert [(m[0], m[9]) for m in msgs] == [(mid, "sent")] and {r[4] for r in rcpts} == {"delivered"}
    keys = hub_keys(xcity)
    assert len([k for k in keys if k.startswith("exchange/objects/")]) == 1
    assert sorted(k for k in keys if k.startswith("exchange/inbox/")) == sorted(
        envelope_key(c, mid) + s for c in ("CZJ", "DAJ", "GAJ") for s in ("", ".p7s"))
    # the recipients find it: CZJ's exchange-receive in the same kind of run receives the message
    before = hub_keys(xcity)
    again = nightly(xcity)
    assert again.exit_code == 0 and szf_step(again)["counts"]["exchange_resent"] == 0
    assert hub_keys(xcity) == before and exchange_rows(xcity) == (msgs, rcpts)


@pytest.mark.parametrize("change", ["another package", "gone"])
def test_a_crashed_send_whose_package_changed_is_reported_not_sent(xcity: Workspace, tmp_path: Path,
                                                                   change: str) -> None:
    stray = tmp_path / "to-send.zip"
    zips = sorted((xcity.home / "store" / "SZF").glob("*.zip"))
    shutil.copy(zips[0], stray)
    mid = crashed_send(xcity, 0, source=str(stray), title="关于公文交换的通知")
    if change == "another package":
        shutil.copy(zips[1], stray)
    else:
        stray.unlink()
    before = hub_keys(xcity)
    report = nightly(xcity)
    assert report.exit_code == 3
    step = szf_step(report)
    assert step["status"] == "failed" and step["counts"]["exchange_resent"] == 0
    [resent] = step["field"]["resent"]
    assert resent["message_id"] == mid and resent["exit_code"] == 3 and str(stray) in resent["error"]
    assert hub_keys(xcity) == before
    msgs, _ = exchange_rows(xcity)
    assert [(m[0], m[9]) for m in msgs] == [(mid, "sending")]
    assert not any((xcity.home / "exchange-outgoing").rglob("*.zip"))


def test_a_crashed_send_and_a_bad_receipt_report_the_worse_first(xcity: Workspace) -> None:
    mid = send_now(xcity)
    publish_receipt(xcity, receipt(xcity, mid, "DAJ"), signed_by="DAX")
    crashed_send(xcity, 1, source=szf_codes(xcity)[4])
    report = nightly(xcity)
    step = szf_step(report)
    assert report.exit_code == 4 and step["exit_code"] == 4 and "SIGNER_WRONG_AGENCY" in step["error"]
    assert step["counts"]["exchange_resent"] == 1  # the send was still finished
    msgs, _ = exchange_rows(xcity)
    assert sorted(str(m[9]) for m in msgs) == ["sent", "sent"]


def test_the_step_runs_in_the_default_job_after_exchange_receive(xcity: Workspace) -> None:
    """The whole agency job: SZF's crashed send is finished by its exchange-status step; CZJ, later
    in the same run, receives it in its exchange-receive step."""
    mid = crashed_send(xcity, 2)
    report = run_nightly(xcity, signer_for=lambda a: szf_signer(xcity) if a.code == "SZF" else None)
    assert [s.step for s in report.agencies[0].steps][-2:] == ["exchange-receive", "exchange-status"]
    assert report.agencies[0].counts["exchange_resent"] == 1
    assert report.agencies[1].counts["exchange_received"] == 1, report.agencies[1].error
    with open_workspace_catalog(xcity) as cat:
        assert cat.conn.execute("SELECT message_id FROM incoming WHERE recipient = 'CZJ'").fetchall() == [(mid,)]
