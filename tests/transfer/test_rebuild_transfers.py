"""A lost catalog and ``govarc catalog rebuild``: transfer state comes back from ``transfers/``, and no
batch id is ever handed out twice (not the catalog's, not the workspace's folders', not the transport's).

The agency is the transfer city's SZF (five signed packages) over a folder transport; the archives
are a real archives workspace answering with ``govarc accept``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.sign.documents import sign_document
from govarc.sign.pki import load_agency_credentials, store_agency_credentials
from govarc.transfer.documents import receipt_to_xml
from govarc.workspace import HoldingsSettings, Workspace
from tests.catalog.conftest import PASSPHRASE
from tests.citykit import make_doc
from tests.transfer.conftest import archives_creds, batch_ids, cli, exchange, make_receipt
from tests.transfer.test_transfer_flow import FailAfter

TODAY = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
FIRST, SECOND = f"SZF-{TODAY}-0001", f"SZF-{TODAY}-0002"


@pytest.fixture
def archives(city: Workspace, tmp_path: Path) -> Workspace:
    """The archives DAG, taking batches from the city's exchange folder."""
    url = (city.home.parent / "exchange").as_uri()
    ws, _ = init_workspace(tmp_path / "档案馆", archives=HoldingsSettings("DAG", "柳州市档案馆", inbox=url))
    store_agency_credentials(ws.keys_dir("DAG"), load_agency_credentials(city.home.parent / "archives-keys", PASSPHRASE),
                             PASSPHRASE)
    shutil.copy(city.pki_dir / "ca.pem", ws.trust_dir / "local-ca.pem")
    return Workspace.open(ws.home)


def ok(ws: Workspace, *args: str) -> str:
    r = cli(ws, *args)
    assert r.exit_code == 0, r.output
    return r.output


def accept(archives: Workspace) -> dict[str, object]:
    out: dict[str, object] = json.loads(ok(archives, "--json", "accept"))
    return out


def lose_catalog(ws: Workspace) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ws.catalog_path}{suffix}").unlink(missing_ok=True)


def rebuild(ws: Workspace, code: int = 0) -> dict[str, object]:
    r = cli(ws, "--json", "catalog", "rebuild")
    assert r.exit_code == code, r.output
    out: dict[str, object] = json.loads(r.stdout)
    return out


def states(ws: Workspace) -> dict[str, str]:
    with open_catalog(ws.catalog_path) as cat:
        return {str(c): str(s) for c, s in cat.conn.execute("SELECT archival_code, state FROM records WHERE agency='SZF'")}


def szf_status(ws: Workspace) -> dict[str, object]:
    out = json.loads(ok(ws, "transfer", "status", "--agency", "SZF", "--json"))
    status: dict[str, object] = out[0]
    return status


def batches_view(ws: Workspace) -> list[tuple[object, ...]]:
    """What a rebuild must give back of each batch: id, state, list digest, and its items with their verdicts."""
    with open_catalog(ws.catalog_path) as cat:
        rows = cat.conn.execute("SELECT id, agency, archives, state, list_sha256, receipt_sha256 FROM batches ORDER BY id").fetchall()
        items = cat.conn.execute("SELECT i.batch_id, r.archival_code, i.key, i.sha256, i.size, i.tagmanifest_sha256, "
                                 "i.verdict, i.reasons FROM batch_items i JOIN records r ON r.id = i.record_id "
                                 "ORDER BY i.batch_id, i.key").fetchall()
    return [tuple(r) for r in rows] + [tuple(i) for i in items]


def add_documents(ws: Workspace, *numbers: int) -> None:
    """New documents in SZF's drop folder, ingested and packaged (signed)."""
    drop = ws.home.parent / "drop" / "SZF"
    for i in numbers:
        make_doc(drop, i, retention="Y")
    ok(ws, "ingest", "--agency", "SZF", str(drop))
    ok(ws, "package", "--agency", "SZF")


def test_transfer_receipts_lose_the_catalog_rebuild_then_state_and_ids_carry_on(city: Workspace, archives: Workspace) -> None:
    ok(city, "transfer", "run", "--agency", "SZF")
    assert batch_ids(city) == [FIRST]
    assert accept(archives)["exit_code"] == 0
    ok(city, "transfer", "receipts", "--agency", "SZF")
    before_states, before_batches = states(city), batches_view(city)
    assert sorted(set(before_states.values())) == ["transferred"]
    before_status = json.loads(ok(city, "status", "--json"))

    lose_catalog(city)
    report = rebuild(city)
    assert report["batches_restored"] == 1 and report["batches_skipped"] == []
    assert report["batches"] == [{"id": FIRST, "agency": "SZF", "state": "receipted", "items": 5, "accepted": 5,
                                  "duplicate": 0, "rejected": 0}]
    assert states(city) == before_states
    assert batches_view(city) == before_batches
    status = szf_status(city)
    assert status["due"] == 0 and [b["state"] for b in status["batches"]] == ["receipted"]  # type: ignore[attr-defined, index]
    assert json.loads(ok(city, "status", "--json")) == before_status
    assert "nothing due" in ok(city, "transfer", "run", "--agency", "SZF")

    # newly packaged records go in a batch whose id was never used, and the archives accept it
    add_documents(city, 6, 7)
    r = json.loads(ok(city, "transfer", "run", "--agency", "SZF", "--json"))
    assert r[0]["batch_id"] == SECOND and len(r[0]["items"]) == 2
    answer = accept(archives)
    assert answer["exit_code"] == 0
    assert [(b["batch"], b["state"], b["accepted"]) for b in answer["batches"]] == [(SECOND, "answered", 2)]  # type: ignore[attr-defined]
    ok(city, "transfer", "receipts", "--agency", "SZF")
    assert sorted(set(states(city).values())) == ["transferred"] and len(states(city)) == 7


def test_a_rejection_is_restored_and_the_rejected_record_stays_out_of_the_next_batch(city: Workspace) -> None:
    from tests.transfer.conftest import send_receipt

    ok(city, "transfer", "run", "--agency", "SZF")
    receipt = make_receipt(city, FIRST, reject=2)
    send_receipt(city, receipt)
    ok(city, "transfer", "receipts", "--agency", "SZF")
    before_states, before_batches = states(city), batches_view(city)
    assert sorted(before_states.values()) == ["rejected"] * 2 + ["transferred"] * 3

    lose_catalog(city)
    report = rebuild(city)
    assert report["batches"] == [{"id": FIRST, "agency": "SZF", "state": "receipted", "items": 5, "accepted": 3,
                                  "duplicate": 0, "rejected": 2}]
    assert states(city) == before_states and batches_view(city) == before_batches
    status = szf_status(city)
    [b] = status["batches"]  # type: ignore[misc]
    assert b["counts"] == {"pending": 0, "accepted": 3, "duplicate": 0, "rejected": 2}
    rejected = [i for i in b["items"] if i["verdict"] == "rejected"]
    assert [x["code"] for i in rejected for x in i["reasons"]] == ["1-1", "1-1"]
    assert status["due"] == 0  # a rejected package, unchanged, is not sent again


def test_a_published_batch_without_receipt_is_restored_and_its_receipt_imported_later(city: Workspace,
                                                                                      archives: Workspace) -> None:
    ok(city, "transfer", "run", "--agency", "SZF")
    lose_catalog(city)
    report = rebuild(city)
    assert [(b["id"], b["state"]) for b in report["batches"]] == [(FIRST, "published")]  # type: ignore[attr-defined]
    assert set(states(city).values()) == {"packaged"}
    status = szf_status(city)
    assert status["due"] == 0 and status["batches"][0]["counts"]["pending"] == 5  # type: ignore[index]
    assert "waiting" in ok(city, "transfer", "receipts", "--agency", "SZF")
    accept(archives)
    out = ok(city, "transfer", "receipts", "--agency", "SZF")
    assert f"batch {FIRST} receipted: 5 accepted" in out
    assert set(states(city).values()) == {"transferred"}


def test_a_batch_recorded_but_never_published_is_restored_open_and_finished_by_the_next_run(
        city: Workspace, archives: Workspace) -> None:
    from govarc.sign.agency import load_agency_signer
    from govarc.transfer.run import transfer_run
    from govarc.transport import TransportUnavailableError
    from tests.catalog.conftest import Passphrase

    signer = load_agency_signer(city, "SZF", Passphrase())
    with open_catalog(city.catalog_path) as cat, pytest.raises(TransportUnavailableError):
        transfer_run(city, cat, city.agency("SZF"), FailAfter(city.home.parent / "exchange", 2), signer=signer)
    lose_catalog(city)
    report = rebuild(city)
    assert [(b["id"], b["state"]) for b in report["batches"]] == [(FIRST, "open")]  # type: ignore[attr-defined]
    r = json.loads(ok(city, "transfer", "run", "--agency", "SZF", "--json"))
    assert r[0]["batch_id"] == FIRST and r[0]["resumed"] and r[0]["state"] == "published" and r[0]["already"] == 2
    accept(archives)
    ok(city, "transfer", "receipts", "--agency", "SZF")
    assert set(states(city).values()) == {"transferred"}


def test_the_files_of_runs_that_stopped_before_recording_their_batch_are_skipped(city: Workspace) -> None:
    """A run that stopped before signing its list, and one that stopped after signing but before recording
    its batch (its records then went in the next run's batch): nothing of either was sent; neither is restored."""
    import datetime as dt_

    from govarc.catalog import batches as cb
    from govarc.sign.agency import load_agency_signer
    from govarc.transfer.run import _prepare
    from tests.catalog.conftest import Passphrase

    # the prepared, signed, unrecorded batch: prepared against a throwaway copy of the catalog
    copy = city.home.parent / "copy.sqlite"
    shutil.copy(city.catalog_path, copy)
    signer = load_agency_signer(city, "SZF", Passphrase())
    with open_catalog(copy) as cat:
        due = cb.due_records(cat, "SZF")
        _prepare(city, cat, city.agency("SZF"), city.settings.archives, signer, due,  # type: ignore[arg-type]
                 dt_.datetime.now(dt_.timezone.utc), exchange(city))
    assert (city.home / "transfers" / "SZF" / FIRST / "outgoing").is_dir() and batch_ids(city) == []
    r = json.loads(ok(city, "transfer", "run", "--agency", "SZF", "--json"))
    assert r[0]["batch_id"] == SECOND  # the unrecorded batch's id is not reused either
    # and one that stopped while zipping: outgoing/ and no signed list
    third = f"SZF-{TODAY}-0003"
    (city.home / "transfers" / "SZF" / third / "outgoing").mkdir(parents=True)
    lose_catalog(city)
    report = rebuild(city)
    assert [(b["id"], b["state"]) for b in report["batches"]] == [(SECOND, "published")]  # type: ignore[attr-defined]
    skipped = {Path(s["path"]).name: s["reason"] for s in report["batches_skipped"]}  # type: ignore[attr-defined]
    assert "its records went in batch " + SECOND in skipped[FIRST]
    assert "nothing of it was sent" in skipped[third]
    text = cli(city, "catalog", "rebuild", "--force")
    assert text.exit_code == 0 and "transfer batches restored: 1 (1 published), 2 skipped" in text.output
    # the next run has nothing due (the records are in SECOND) and would take 0004
    assert "nothing due" in ok(city, "transfer", "run", "--agency", "SZF")


# --- what does not verify is not restored ------------------------------------------------------------------


def _batch(ws: Workspace) -> Path:
    return ws.home / "transfers" / "SZF" / FIRST


def _flip(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def _list_byte(ws: Workspace) -> Path:
    _flip(_batch(ws) / "transfer-list.xml", b"<title>", b"<title>X")
    return _batch(ws) / "transfer-list.xml.p7s"


def _list_signature_junk(ws: Workspace) -> Path:
    (_batch(ws) / "transfer-list.xml.p7s").write_bytes(b"\x30\x03junk")
    return _batch(ws) / "transfer-list.xml.p7s"


def _list_signature_gone(ws: Workspace) -> Path:
    (_batch(ws) / "transfer-list.xml.p7s").unlink()
    return _batch(ws) / "transfer-list.xml.p7s"


def _list_signed_by_a_stranger(ws: Workspace) -> Path:
    xml = (_batch(ws) / "transfer-list.xml").read_bytes()
    (_batch(ws) / "transfer-list.xml.p7s").write_bytes(sign_document(xml, archives_creds(ws, "stranger")))
    return _batch(ws) / "transfer-list.xml.p7s"


def _list_fifo(ws: Workspace) -> Path:
    (_batch(ws) / "transfer-list.xml").unlink()
    os.mkfifo(_batch(ws) / "transfer-list.xml")
    return _batch(ws) / "transfer-list.xml"


def _list_symlink(ws: Workspace) -> Path:
    target = ws.home.parent / "elsewhere.xml"
    (_batch(ws) / "transfer-list.xml").rename(target)
    (_batch(ws) / "transfer-list.xml").symlink_to(target)
    return _batch(ws) / "transfer-list.xml"


def _batch_is_a_symlink(ws: Workspace) -> Path:
    moved = ws.home.parent / "moved-batch"
    _batch(ws).rename(moved)
    _batch(ws).symlink_to(moved, target_is_directory=True)
    return _batch(ws)


def _batch_renamed(ws: Workspace) -> Path:
    other = _batch(ws).with_name(f"SZF-{TODAY}-0009")
    _batch(ws).rename(other)
    return other / "transfer-list.xml"


def _batch_in_another_agency(ws: Workspace) -> Path:
    (ws.home / "transfers" / "CZJ").mkdir()
    _batch(ws).rename(ws.home / "transfers" / "CZJ" / FIRST)
    return ws.home / "transfers" / "CZJ" / FIRST / "transfer-list.xml.p7s"


LIST_DAMAGES: dict[str, Callable[[Workspace], Path]] = {
    "list-byte": _list_byte, "list-signature-junk": _list_signature_junk, "list-signature-gone": _list_signature_gone,
    "list-signed-by-a-stranger": _list_signed_by_a_stranger, "list-fifo": _list_fifo, "list-symlink": _list_symlink,
    "batch-symlink": _batch_is_a_symlink, "batch-renamed": _batch_renamed, "batch-in-another-agency": _batch_in_another_agency,
}


@pytest.mark.parametrize("damage", sorted(LIST_DAMAGES))
def test_a_batch_whose_list_does_not_verify_is_one_line_exit_3_and_not_restored(city: Workspace, damage: str) -> None:
    from tests.transfer.conftest import send_receipt

    ok(city, "transfer", "run", "--agency", "SZF")
    send_receipt(city, make_receipt(city, FIRST))
    ok(city, "transfer", "receipts", "--agency", "SZF")
    named = LIST_DAMAGES[damage](city)
    lose_catalog(city)
    report = rebuild(city, code=3)
    [finding] = report["findings"]  # type: ignore[misc]
    assert finding["code"] == "CATALOG_UNRECOVERED" and finding["path"] == str(named)
    assert report["batches_restored"] == 0 and report["recovered"] == 8
    assert batch_ids(city) == [] and set(states(city).values()) == {"packaged"}
    # the text form: one line on stderr naming the file
    lose_catalog(city)
    r = cli(city, "catalog", "rebuild")
    assert r.exit_code == 3
    lines = [ln for ln in r.stderr.splitlines() if ln]
    assert lines == [f"govarc: unrecovered: {named}: CATALOG_UNRECOVERED: {finding['message']}"]
    assert "Traceback" not in r.output


def _receipt(ws: Workspace) -> Path:
    return _batch(ws) / "receipt.xml"


def _receipt_byte(ws: Workspace) -> Path:
    _flip(_receipt(ws), b"accepted", b"rejected")
    return _batch(ws) / "receipt.xml.p7s"


def _receipt_signed_by_a_stranger(ws: Workspace) -> Path:
    _receipt(ws).with_name("receipt.xml.p7s").write_bytes(sign_document(_receipt(ws).read_bytes(),
                                                                         archives_creds(ws, "stranger")))
    return _batch(ws) / "receipt.xml.p7s"


def _receipt_of_other_content(ws: Workspace) -> Path:
    """Validly signed by the archives, but answering other list bytes."""
    import dataclasses

    r = make_receipt(ws, FIRST, change=lambda r: dataclasses.replace(r, list_sha256="0" * 64))
    data = receipt_to_xml(r)
    _receipt(ws).write_bytes(data)
    _receipt(ws).with_name("receipt.xml.p7s").write_bytes(sign_document(data, archives_creds(ws)))
    return _receipt(ws)


def _receipt_signature_gone(ws: Workspace) -> Path:
    _receipt(ws).with_name("receipt.xml.p7s").unlink()
    return _batch(ws) / "receipt.xml.p7s"


def _receipt_fifo(ws: Workspace) -> Path:
    _receipt(ws).unlink()
    os.mkfifo(_receipt(ws))
    return _receipt(ws)


RECEIPT_DAMAGES: dict[str, Callable[[Workspace], Path]] = {
    "receipt-byte": _receipt_byte, "receipt-signed-by-a-stranger": _receipt_signed_by_a_stranger,
    "receipt-of-other-content": _receipt_of_other_content, "receipt-signature-gone": _receipt_signature_gone,
    "receipt-fifo": _receipt_fifo,
}


@pytest.mark.parametrize("damage", sorted(RECEIPT_DAMAGES))
def test_a_receipt_that_does_not_verify_is_not_restored_and_is_imported_again(city: Workspace, damage: str) -> None:
    from tests.transfer.conftest import send_receipt

    ok(city, "transfer", "run", "--agency", "SZF")
    send_receipt(city, make_receipt(city, FIRST, reject=1))
    ok(city, "transfer", "receipts", "--agency", "SZF")
    before = states(city)
    named = RECEIPT_DAMAGES[damage](city)
    lose_catalog(city)
    report = rebuild(city, code=3)
    [finding] = report["findings"]  # type: ignore[misc]
    assert finding["code"] == "CATALOG_UNRECOVERED" and finding["path"] == str(named)
    # the list verifies: the batch is back, published, with no verdict of the bad receipt
    assert [(b["id"], b["state"]) for b in report["batches"]] == [(FIRST, "published")]  # type: ignore[attr-defined]
    assert set(states(city).values()) == {"packaged"}
    assert szf_status(city)["batches"][0]["counts"]["pending"] == 5  # type: ignore[index]
    # the genuine receipt is still on the transport: importing it gives the state back
    ok(city, "transfer", "receipts", "--agency", "SZF")
    assert states(city) == before


@pytest.mark.parametrize("stray", ["file-in-agency-folder", "file-in-transfers", "fifo", "odd-name"])
def test_stray_entries_in_transfers_are_reported_and_the_rest_restored(city: Workspace, stray: str) -> None:
    ok(city, "transfer", "run", "--agency", "SZF")
    base = city.home / "transfers"
    named = {"file-in-agency-folder": base / "SZF" / "notes.txt", "file-in-transfers": base / "README",
             "fifo": base / "SZF" / f"SZF-{TODAY}-0003", "odd-name": base / "SZF" / "第二批"}[stray]
    if stray == "fifo":
        os.mkfifo(named)
    elif stray == "odd-name":
        named.mkdir()
    else:
        named.write_text("x", encoding="utf-8")
    lose_catalog(city)
    report = rebuild(city, code=3)
    assert [(f["code"], f["path"]) for f in report["findings"]] == [("CATALOG_UNRECOVERED", str(named))]  # type: ignore[attr-defined]
    assert [b["id"] for b in report["batches"]] == [FIRST]  # type: ignore[attr-defined]


@pytest.mark.parametrize("transfers", ["none", "empty"])
def test_a_rebuild_without_transfers_behaves_as_before(city: Workspace, transfers: str) -> None:
    if transfers == "empty":
        (city.home / "transfers" / "SZF").mkdir(parents=True)
    lose_catalog(city)
    report = rebuild(city)
    assert report["batches_restored"] == 0 and report["batches"] == [] and report["batches_skipped"] == []
    assert report["recovered"] == 8 and report["unrecovered"] == 0
    text = cli(city, "catalog", "rebuild", "--force")
    assert text.exit_code == 0 and "transfer batches" not in text.output


# --- a catalog that lost only its batches never reuses an id --------------------------------------------------


def _forget_batches(ws: Workspace) -> None:
    with open_catalog(ws.catalog_path) as cat, cat.write() as conn:
        conn.execute("DELETE FROM batch_items")
        conn.execute("DELETE FROM batches")


@pytest.mark.parametrize("seen", ["inbound", "receipts", "local-folder"])
def test_ids_seen_on_the_transport_or_in_transfers_are_never_reused(city: Workspace, archives: Workspace,
                                                                   seen: str) -> None:
    ok(city, "transfer", "run", "--agency", "SZF")
    accept(archives)
    t = exchange(city)
    if seen == "receipts":  # only the receipt is left on the transport (the archives cleaned inbound/)
        for key in t.list(f"inbound/SZF/{FIRST}"):
            t.delete(key)
    if seen == "local-folder":  # nothing on the transport, only the workspace's folder of the batch
        for key in t.list(f"inbound/SZF/{FIRST}") + t.list(f"receipts/SZF/{FIRST}"):
            t.delete(key)
        _forget_batches(city)  # a catalog that lost its batches (say, rebuilt before batches were restored)
    else:  # a fresh catalog with the records and objects, without the batches
        shutil.move(city.home / "transfers", city.home.parent / "transfers-away")
        lose_catalog(city)
        assert rebuild(city)["batches_restored"] == 0
    assert set(states(city).values()) == {"packaged"} and batch_ids(city) == []
    r = json.loads(ok(city, "transfer", "run", "--agency", "SZF", "--json"))
    assert r[0]["batch_id"] == SECOND and r[0]["state"] == "published"
    if seen != "local-folder":
        assert t.exists(f"receipts/SZF/{FIRST}/receipt.xml")  # the archives' answer to the first batch is untouched
    answer = accept(archives)
    [b] = answer["batches"]  # type: ignore[misc]
    assert b["batch"] == SECOND and b["state"] == "answered" and b["duplicate"] == 5  # the archives hold them already


def test_next_batch_id_skips_what_the_catalog_and_the_caller_know(city: Workspace) -> None:
    from govarc.catalog import batches as cb

    taken = {"SZF-20261130-0001", "SZF-20261130-0003"}
    with open_catalog(city.catalog_path) as cat:
        assert cb.next_batch_id(cat, "SZF", "20261130") == "SZF-20261130-0001"
        assert cb.next_batch_id(cat, "SZF", "20261130", taken.__contains__) == "SZF-20261130-0002"
        cat.conn.execute("INSERT INTO batches (id, agency, archives, created_at, list_sha256) VALUES (?,?,?,?,?)",
                         ("SZF-20261130-0002", "SZF", "DAG", "2026-11-30T00:00:00+00:00", "0" * 64))
        assert cb.next_batch_id(cat, "SZF", "20261130", taken.__contains__) == "SZF-20261130-0004"
