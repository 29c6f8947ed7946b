"""A receipt's verdict names the digest of what arrived: a rejection may differ from what was sent, an acceptance may not."""

from __future__ import annotations

import dataclasses

import pytest

from govarc.transfer.documents import Receipt, Verdict
from govarc.workspace import Workspace
from tests.transfer.conftest import batch_ids, catalog_state, cli, make_receipt, send_receipt


def _other_sha(verdict: Verdict):  # type: ignore[no-untyped-def]
    def change(r: Receipt) -> Receipt:
        v = dataclasses.replace(r.verdicts[0], sha256="ab" * 32, verdict=verdict)
        return dataclasses.replace(r, verdicts=(v, *r.verdicts[1:]))
    return change


def test_a_rejection_of_other_bytes_than_sent_marks_the_record_rejected(city: Workspace) -> None:
    assert cli(city, "transfer", "run", "--agency", "SZF").exit_code == 0
    [bid] = batch_ids(city)
    send_receipt(city, make_receipt(city, bid, reject=1, change=_other_sha(Verdict.REJECTED)))
    r = cli(city, "transfer", "receipts")
    assert r.exit_code == 0 and "4 accepted, 0 duplicate, 1 rejected" in r.output, r.output


@pytest.mark.parametrize("verdict", [Verdict.ACCEPTED, Verdict.DUPLICATE])
def test_an_acceptance_of_other_bytes_than_sent_is_refused(city: Workspace, verdict: Verdict) -> None:
    assert cli(city, "transfer", "run", "--agency", "SZF").exit_code == 0
    [bid] = batch_ids(city)
    send_receipt(city, make_receipt(city, bid, change=_other_sha(verdict)))
    before = catalog_state(city)
    r = cli(city, "transfer", "receipts")
    assert r.exit_code == 3 and "other content" in r.output, r.output
    assert catalog_state(city) == before
