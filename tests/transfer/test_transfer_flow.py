"""The agency's side of transfer end to end, over a folder transport with real keys: run, receipts, status."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from govarc.catalog.db import open_catalog
from govarc.lock import agency_lock
from govarc.transfer.documents import Receipt
from govarc.transfer.run import transfer_run
from govarc.transport import FolderTransport, PutResult, TransportUnavailableError
from govarc.workspace import Workspace
from tests.transfer.conftest import (
    archives_creds, batch_ids, catalog_state, cli, exchange, make_receipt, publish_receipt, send_receipt,
)


def _states(ws: Workspace) -> dict[str, str]:
    with open_catalog(ws.catalog_path) as cat:
        return {str(c): str(s) for c, s in cat.conn.execute("SELECT archival_code, state FROM records WHERE agency='SZF'")}


def test_round_trip_run_then_receipt_marks_records(city: Workspace, tmp_path: Path) -> None:
    r = cli(city, "transfer", "run", "--json")
    assert r.exit_code == 0, r.output
    [szf, czj] = sorted(json.loads(r.output), key=lambda x: x["agency"], reverse=True)
    assert czj["batch_id"] is None  # unsigned packages are not due
    bid = szf["batch_id"]
    assert szf["state"] == "published" and len(szf["items"]) == 5 and szf["uploaded"] == 5
    t = exchange(city)
    keys = t.list(f"inbound/SZF/{bid}")
    assert len([k for k in keys if "/packages/" in k]) == 5
    assert f"inbound/SZF/{bid}/transfer-list.xml.p7s" in keys
    # every uploaded object is the one the list names
    for item in szf["items"]:
        assert t.digest(f"inbound/SZF/{bid}/packages/{item['key']}") == item["sha256"]
    local = city.home / "transfers" / "SZF" / bid
    assert {p.name for p in local.iterdir()} >= {"transfer-list.xml", "transfer-list.xml.p7s", "transfer-list.csv",
                                                  "transfer-list.html"}
    assert not (local / "outgoing").exists()
    # an independent checker: openssl verifies the published list against the test CA
    xml, sig = tmp_path / "l.xml", tmp_path / "l.p7s"
    xml.write_bytes(t.read(f"inbound/SZF/{bid}/transfer-list.xml"))
    sig.write_bytes(t.read(f"inbound/SZF/{bid}/transfer-list.xml.p7s"))
    v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content", str(xml),
                        "-CAfile", str(city.pki_dir / "ca.pem"), "-purpose", "any", "-out", "/dev/null"],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    # nothing more is due; a second run makes no second batch
    again = cli(city, "transfer", "run", "--agency", "SZF")
    assert again.exit_code == 0 and "nothing due" in again.output
    assert batch_ids(city) == [bid]
    st = json.loads(cli(city, "transfer", "status", "--agency", "SZF", "--json").output)[0]
    assert st["batches"][0]["state"] == "published" and st["batches"][0]["counts"]["pending"] == 5
    assert st["overdue"] == []
    # no receipt yet: waiting
    w = cli(city, "transfer", "receipts", "--agency", "SZF")
    assert w.exit_code == 0 and "waiting" in w.output
    # the archives answer: the first package rejected, the rest accepted
    receipt = make_receipt(city, bid, reject=1)
    send_receipt(city, receipt)
    ok = cli(city, "transfer", "receipts")
    assert ok.exit_code == 0, ok.output
    assert "4 accepted, 0 duplicate, 1 rejected" in ok.output
    states = _states(city)
    rejected = receipt.verdicts[0].archival_code
    assert states[rejected] == "rejected"
    assert sorted(v for c, v in states.items() if c != rejected) == ["transferred"] * 4
    st = json.loads(cli(city, "transfer", "status", "--json").output)
    b = [a for a in st if a["agency"] == "SZF"][0]["batches"][0]
    assert b["state"] == "receipted" and b["counts"] == {"pending": 0, "accepted": 4, "duplicate": 0, "rejected": 1}
    reasons = [i["reasons"] for i in b["items"] if i["archival_code"] == rejected][0]
    assert [x["code"] for x in reasons] == ["1-1"]
    assert (local / "receipt.xml").is_file() and (local / "receipt.html").is_file()
    # the rejected package, unchanged, is not sent again; nothing local was deleted
    assert "nothing due" in cli(city, "transfer", "run", "--agency", "SZF").output
    assert len(list((city.home / "store" / "SZF").iterdir())) >= 5
    # importing again changes nothing
    before = catalog_state(city)
    assert cli(city, "transfer", "receipts").exit_code == 0
    assert catalog_state(city) == before


class FailAfter(FolderTransport):
    """A folder transport whose connection drops after ``n`` uploads (packages, then the list, then its signature)."""

    def __init__(self, root: Path, n: int) -> None:
        super().__init__(root)
        self.left = n

    def put(self, key: str, *args: object, **kwargs: object) -> PutResult:  # type: ignore[override]
        if self.left == 0:
            raise TransportUnavailableError("connection lost", self.where(key))
        self.left -= 1
        return super().put(key, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("after", [0, 2, 5, 6])
def test_a_run_that_failed_mid_upload_is_finished_by_the_next_run(city: Workspace, after: int) -> None:
    from govarc.sign.agency import load_agency_signer
    from tests.catalog.conftest import Passphrase

    signer = load_agency_signer(city, "SZF", Passphrase())
    t = FailAfter(city.home.parent / "exchange", after)
    with open_catalog(city.catalog_path) as cat, pytest.raises(TransportUnavailableError):
        transfer_run(city, cat, city.agency("SZF"), t, signer=signer)
    [bid] = batch_ids(city)
    assert not exchange(city).exists(f"inbound/SZF/{bid}/transfer-list.xml.p7s")  # not visible to the archives
    dry = cli(city, "transfer", "run", "--agency", "SZF", "--dry-run")
    assert dry.exit_code == 0 and f"would resume batch {bid}" in dry.output
    r = cli(city, "transfer", "run", "--agency", "SZF", "--json")
    assert r.exit_code == 0, r.output
    [rep] = json.loads(r.output)
    assert rep["batch_id"] == bid and rep["resumed"] and rep["state"] == "published"
    # packages done before the failure are found on the transport, not sent again; once all were
    # uploaded (state uploaded) only the list and its signature remain
    assert (rep["uploaded"], rep["already"]) == ((5 - after, after) if after < 5 else (0, 0))
    assert batch_ids(city) == [bid]


def test_a_transfer_run_killed_mid_upload_resumes_the_same_batch(city: Workspace) -> None:
    """kill -9 a real `govarc transfer run` once it recorded its batch; the re-run finishes that batch."""
    import os
    import signal
    import sys
    import time

    from tests.transfer.conftest import ENV

    slow = city.home.parent / "slow.py"
    slow.write_text(
        "import sys, time\n"
        "from govarc.transport.folder import FolderTransport\n"
        "orig = FolderTransport.put\n"
        "def put(self, key, *a, **k):\n"
        "    r = orig(self, key, *a, **k)\n"
        "    if '/packages/' in key:\n"
        "        print('put', key, flush=True); time.sleep(30)\n"
        "    return r\n"
        "FolderTransport.put = put\n"
        "from govarc.cli import main\n"
        "main(sys.argv[1:])\n", encoding="utf-8")
    env = {**os.environ, **ENV, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    p = subprocess.Popen([sys.executable, str(slow), "--home", str(city.home), "transfer", "run", "--agency", "SZF"],
                         stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.startswith("put "), line
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    [bid] = batch_ids(city)
    r = cli(city, "transfer", "run", "--agency", "SZF", "--json")
    assert r.exit_code == 0, r.output
    [rep] = json.loads(r.output)
    assert rep["batch_id"] == bid and rep["resumed"] and (rep["uploaded"], rep["already"]) == (4, 1)
    assert batch_ids(city) == [bid]
    del time


def _signed_by_stranger(city: Workspace, r: Receipt) -> None:
    send_receipt(city, r, who="stranger")


def _tampered(city: Workspace, r: Receipt) -> None:
    from govarc.transfer.documents import receipt_to_xml
    from govarc.sign.documents import sign_document

    data = receipt_to_xml(r)
    sig = sign_document(data, archives_creds(city))
    publish_receipt(city, r.batch_id, data.replace(b"rejected", b"accepted", 1) if b"rejected" in data
                    else data.replace(b"receivedAt", b"receivedAt ", 1), sig)


def _agency_signed(city: Workspace, r: Receipt) -> None:
    from govarc.sign.pki import load_agency_credentials
    from govarc.transfer.documents import receipt_to_xml
    from govarc.sign.documents import sign_document
    from tests.catalog.conftest import PASSPHRASE

    data = receipt_to_xml(r)
    publish_receipt(city, r.batch_id, data, sign_document(data, load_agency_credentials(city.keys_dir("SZF"), PASSPHRASE)))


@pytest.mark.parametrize("how, code", [
    (lambda c, r: _signed_by_stranger(c, r), 4),
    (lambda c, r: _agency_signed(c, r), 4),
    (lambda c, r: _tampered(c, r), 4),
    (lambda c, r: send_receipt(c, dataclasses.replace(r, list_sha256="0" * 64)), 3),
    (lambda c, r: send_receipt(c, dataclasses.replace(r, verdicts=r.verdicts[1:])), 3),
    (lambda c, r: send_receipt(c, dataclasses.replace(r, verdicts=r.verdicts[:1] + (dataclasses.replace(
        r.verdicts[1], key="0012-WS·2099-Y-BGS-0001.zip", archival_code="0012-WS·2099-Y-BGS-0001"),) + r.verdicts[2:])), 3),
    (lambda c, r: send_receipt(c, dataclasses.replace(r, verdicts=r.verdicts[:1] + (dataclasses.replace(
        r.verdicts[1], sha256="f" * 64),) + r.verdicts[2:])), 3),  # an acceptance of other content
], ids=["foreign-signer", "agency-signed", "tampered-xml", "wrong-list-digest", "package-missing",
        "foreign-package", "other-content"])
def test_a_bad_receipt_is_refused_and_changes_nothing(city: Workspace, how: object, code: int) -> None:
    assert cli(city, "transfer", "run", "--agency", "SZF").exit_code == 0
    [bid] = batch_ids(city)
    how(city, make_receipt(city, bid, reject=1))  # type: ignore[operator]
    before = catalog_state(city)
    r = cli(city, "transfer", "receipts", "--agency", "SZF")
    assert r.exit_code == code, r.output
    lines = [x for x in r.output.splitlines() if x.startswith("govarc: error:")]
    assert len(lines) == 1 and "receipt" in lines[0]
    assert catalog_state(city) == before
    assert not (city.home / "transfers" / "SZF" / bid / "receipt.xml").exists()


def test_a_receipt_for_a_foreign_batch_is_refused(city: Workspace) -> None:
    """A validly signed receipt for another batch, placed where this batch's receipt goes."""
    assert cli(city, "transfer", "run", "--agency", "SZF").exit_code == 0
    [bid] = batch_ids(city)
    r = make_receipt(city, bid)
    from govarc.transfer.documents import receipt_to_xml
    from govarc.sign.documents import sign_document

    foreign = dataclasses.replace(r, batch_id="SZF-20200101-0009")
    data = receipt_to_xml(foreign)
    publish_receipt(city, bid, data, sign_document(data, archives_creds(city)))
    before = catalog_state(city)
    res = cli(city, "transfer", "receipts")
    assert res.exit_code == 3 and "SZF-20200101-0009" in res.output
    assert catalog_state(city) == before


def test_a_second_concurrent_run_exits_7(city: Workspace) -> None:
    before = catalog_state(city)
    with agency_lock(city.home, "SZF"):
        r = cli(city, "transfer", "run", "--agency", "SZF")
    assert r.exit_code == 7 and "lock" in r.output
    assert catalog_state(city) == before


def test_dry_run_changes_nothing(city: Workspace) -> None:
    before = catalog_state(city)
    r = cli(city, "transfer", "run", "--dry-run", "--agency", "SZF")
    assert r.exit_code == 0 and "would send a new batch of 5 packages" in r.output
    assert catalog_state(city) == before and exchange(city).list() == []
    assert not (city.home / "transfers").exists()


@pytest.mark.parametrize("url", ["{root}/missing", "sftp://nobody@127.0.0.1:1/x", "gopher://x/y"])
def test_a_transport_that_cannot_be_reached_is_one_line_exit_5(city: Workspace, url: str) -> None:
    toml = city.home / "govarc.toml"
    old = (city.home.parent / "exchange").as_uri()
    toml.write_text(toml.read_text(encoding="utf-8").replace(old, url.format(root=city.home.parent)), encoding="utf-8")
    before = catalog_state(city)
    r = cli(city, "transfer", "run")
    assert r.exit_code == 5, r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith("govarc: error:")
    assert catalog_state(city) == before


@pytest.mark.parametrize("archives, fragment", [
    ('[archives]\ncode = "DAG"\nurl = "x"\nrecipt_overdue_days = 3\n', "receipt_overdue_days"),
    ('[archives]\nurl = "x"\n', "archives.code"),
    ('[archives]\ncode = "DAG"\n', "archives.url"),
    ('[archives]\ncode = "DAG"\nurl = "x"\nreceipt_overdue_days = 0\n', "receipt_overdue_days"),
    ('[archives]\ncode = "D/G"\nurl = "x"\n', "archives.code"),
    ('[archives]\ncode = "DAG"\nurl = "x"\n[archives.transport]\npassword = "s"\n', "password"),
])
def test_bad_archives_config_exits_6_naming_the_key(city: Workspace, archives: str, fragment: str) -> None:
    toml = city.home / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[archives]")
    rest = rest[rest.index("[[agency]]"):]
    toml.write_text(head + archives + "\n" + rest, encoding="utf-8")
    r = cli(city, "transfer", "status")
    assert r.exit_code == 6 and fragment in r.output, r.output


def test_the_nightly_job_transfers_and_imports_receipts(city: Workspace) -> None:
    r = cli(city, "nightly")
    assert r.exit_code == 0, r.output
    [bid] = batch_ids(city)
    send_receipt(city, make_receipt(city, bid))
    r = cli(city, "nightly")
    assert r.exit_code == 0, r.output
    assert set(_states(city).values()) == {"transferred"}
    assert batch_ids(city) == [bid]


def test_a_workspace_without_archives_has_no_transfer(city: Workspace) -> None:
    toml = city.home / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    head, _, rest = text.partition("[archives]")
    toml.write_text(head + rest[rest.index("[[agency]]"):], encoding="utf-8")
    r = cli(city, "transfer", "run")
    assert r.exit_code == 6 and "[archives]" in r.output
    assert cli(city, "nightly").exit_code == 0
    assert batch_ids(city) == []
    shutil.rmtree(city.home / "transfers", ignore_errors=True)
