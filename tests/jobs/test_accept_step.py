"""The nightly job of an archives workspace: the `accept` step, its run log, its failures and refusals.

Real test PKI, real signed packages, the agency side played by hand over the folder transport
(tests/accept/conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from govarc.cli import main
from govarc.jobs.accept_step import AcceptStep
from govarc.jobs.nightly import ARCHIVES_STEPS, NIGHTLY_STEPS, parties, steps_named
from govarc.jobs.steps import Archives
from govarc.lock import run_lock
from tests.accept.conftest import ARCHIVES, agency, archives, env  # noqa: F401
from tests.sign.conftest import AGENCY, pki  # noqa: F401

GOOD = "SZF-20261130-0001"


def nightly(runner, ws, env, *args: str):  # noqa: F811
    return runner.invoke(main, ["--home", str(ws.home), *args, "nightly"], env=env)


def snapshot(home: Path, exchange: Path) -> dict[str, str]:
    """Every file of holdings/, rejected/, receipts/ and the transport's receipts/, with its digest."""
    out = {}
    for root, base in ((home, ("holdings", "rejected", "receipts")), (exchange, ("receipts",))):
        for sub in base:
            for p in sorted((root / sub).rglob("*")):
                if p.is_file():
                    out[f"{root.name}/{p.relative_to(root).as_posix()}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def accept_rows(home: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        batches = conn.execute("SELECT agency, batch_id, state FROM accept_batches ORDER BY 1, 2").fetchall()
        items = conn.execute("SELECT agency, batch_id, position, verdict FROM accept_items ORDER BY 1, 2, 3").fetchall()
    return batches + items


def last_log(home: Path) -> dict:
    logs = sorted((home / "logs").glob("nightly-*.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(logs[-1].read_text(encoding="utf-8"))


def test_the_archives_nightly_job_accepts_logs_and_changes_nothing_the_second_time(runner, agency, archives, env):  # noqa: F811
    agency.deliver(GOOD, [agency.package(i) for i in (1, 2)])

    r = nightly(runner, archives, env, "--verbose")

    assert r.exit_code == 0, r.output
    assert f"{ARCHIVES}: 1 batches answered, 2 accepted, 0 rejected, 0 duplicate" in r.stdout
    assert (agency.exchange / "receipts" / AGENCY / GOOD / "receipt.xml.p7s").is_file()
    log = last_log(archives.home)
    assert log["role"] == "archives" and log["steps"] == ["accept"] and log["status"] == "ok"
    [entry] = log["agencies"]
    assert entry["agency"] == ARCHIVES and entry["exit_code"] == 0
    assert [(s["step"], s["status"], s["counts"]) for s in entry["steps"]] == [
        ("accept", "ok", {"batches": 1, "accepted": 2, "rejected": 0, "duplicate": 0})]
    assert [(b["agency"], b["batch"], b["state"]) for b in entry["accept"]["batches"]] == [(AGENCY, GOOD, "answered")]
    with sqlite3.connect(archives.home / "catalog.sqlite") as conn:
        status, summary = conn.execute("SELECT status, summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert status == "ok" and json.loads(summary)["role"] == "archives"
    assert json.loads(summary)["agencies"][ARCHIVES]["accepted"] == 2

    before, rows = snapshot(archives.home, agency.exchange), accept_rows(archives.home)
    again = nightly(runner, archives, env)
    assert again.exit_code == 0 and again.stdout == "", again.output
    assert snapshot(archives.home, agency.exchange) == before and accept_rows(archives.home) == rows
    assert last_log(archives.home)["agencies"][0]["steps"][0]["counts"]["batches"] == 0


def _signed_by_another_agency(agency):  # noqa: F811
    agency.deliver("SZF-20261130-0002", [agency.package(3)], signer="other_agency")


def _signed_by_an_untrusted_ca(agency):  # noqa: F811
    agency.deliver("SZF-20261130-0002", [agency.package(3)], signer="untrusted")


def _list_of_another_agency(agency):  # noqa: F811
    agency.deliver("SZF-20261130-0002", [agency.package(3)], list_agency="LZ0099")


def _garbage_signature(agency):  # noqa: F811
    agency.deliver("SZF-20261130-0002", [agency.package(3)])
    (agency.exchange / "inbound" / AGENCY / "SZF-20261130-0002" / "transfer-list.xml.p7s").write_bytes(b"\x30\x03junk")


def _list_not_xml(agency):  # noqa: F811
    from govarc.sign.documents import sign_document

    agency.deliver("SZF-20261130-0002", [agency.package(3)])
    folder = agency.exchange / "inbound" / AGENCY / "SZF-20261130-0002"
    bad = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"
    (folder / "transfer-list.xml").write_bytes(bad)
    (folder / "transfer-list.xml.p7s").write_bytes(sign_document(bad, agency.pki.creds["agency"]))


@pytest.mark.parametrize(("hostile", "exit_code"), [
    (_signed_by_another_agency, 4), (_signed_by_an_untrusted_ca, 4), (_garbage_signature, 4),
    (_list_of_another_agency, 3), (_list_not_xml, 3),
])
def test_a_refused_batch_fails_the_step_with_one_line_and_the_good_batch_is_still_accepted(
        runner, agency, archives, env, hostile, exit_code):  # noqa: F811
    agency.deliver(GOOD, [agency.package(1), agency.package(2)])
    hostile(agency)

    r = nightly(runner, archives, env)

    assert r.exit_code == exit_code, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("govarc: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"govarc: error: archives {ARCHIVES}: refused {AGENCY}/SZF-20261130-0002")
    assert "Traceback" not in r.output
    # the good batch is answered; the refused one has no receipt and nothing of it is held or rejected
    assert (agency.exchange / "receipts" / AGENCY / GOOD / "receipt.xml.p7s").is_file()
    assert not (agency.exchange / "receipts" / AGENCY / "SZF-20261130-0002").exists()
    assert len(list((archives.home / "holdings").rglob("*.zip"))) == 2
    assert not (archives.home / "rejected" / AGENCY / "SZF-20261130-0002").exists()
    entry = last_log(archives.home)["agencies"][0]
    assert entry["steps"][0]["status"] == "failed" and entry["exit_code"] == exit_code
    assert entry["steps"][0]["counts"] == {"batches": 1, "accepted": 2, "rejected": 0, "duplicate": 0}
    # judged once: the same bytes are skipped the next night (the step succeeds), nothing changes
    before, rows = snapshot(archives.home, agency.exchange), accept_rows(archives.home)
    assert nightly(runner, archives, env).exit_code == 0
    assert snapshot(archives.home, agency.exchange) == before and accept_rows(archives.home) == rows


def _no_key(ws):
    for p in sorted(ws.keys_dir(ARCHIVES).iterdir()):
        p.unlink()


def _no_inbox(ws):
    toml = ws.home / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text("\n".join(line for line in text.splitlines() if not line.startswith("inbox")) + "\n", encoding="utf-8")


def _inbox_missing(ws):
    toml = ws.home / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    start = text.index('inbox = "') + len('inbox = "')
    end = text.index('"', start)
    toml.write_text(text[:start] + (ws.home / "no-such-exchange").as_uri() + text[end:], encoding="utf-8")


@pytest.mark.parametrize(("breakage", "exit_code", "words"), [
    (_no_key, 6, "has no key"), (_no_inbox, 6, "no inbox"), (_inbox_missing, 5, "no-such-exchange"),
])
def test_a_broken_archives_setup_is_one_line_its_exit_code_and_a_run_log(runner, agency, archives, env, breakage,
                                                                       exit_code, words):  # noqa: F811
    agency.deliver(GOOD, [agency.package(1)])
    breakage(archives)

    r = nightly(runner, archives, env)

    assert r.exit_code == exit_code, r.output
    assert words in r.stderr and r.stderr.count("govarc: error:") == 1 and "Traceback" not in r.output
    assert last_log(archives.home)["agencies"][0]["steps"][0]["status"] == "failed"
    assert not list((archives.home / "holdings").rglob("*.zip"))
    assert not (agency.exchange / "receipts").exists()


def test_a_wrong_passphrase_stops_the_archives_job_before_anything(runner, agency, archives, env):  # noqa: F811
    agency.deliver(GOOD, [agency.package(1)])
    r = nightly(runner, archives, {**env, "GOVARC_KEY_PASSPHRASE": "wrong"})
    assert r.exit_code == 4, r.output
    assert not list((archives.home / "holdings").rglob("*.zip")) and not (agency.exchange / "receipts").exists()


def test_the_archives_job_and_govarc_accept_exclude_each_other(runner, agency, archives, env):  # noqa: F811
    agency.deliver(GOOD, [agency.package(1)])
    with run_lock(archives.lock_path):
        assert nightly(runner, archives, env).exit_code == 7
        assert runner.invoke(main, ["--home", str(archives.home), "accept"], env=env).exit_code == 7
    assert not (agency.exchange / "receipts").exists()
    assert nightly(runner, archives, env).exit_code == 0
    # what the nightly job answered, `govarc accept` finds answered
    r = runner.invoke(main, ["--home", str(archives.home), "accept"], env=env)
    assert r.exit_code == 0 and "nothing to accept" in r.stdout


def test_each_role_has_its_own_steps_and_a_step_of_the_other_role_has_nothing_to_do(archives):  # noqa: F811
    assert [s.name for s in ARCHIVES_STEPS] == ["accept"]
    assert "accept" not in [s.name for s in NIGHTLY_STEPS]
    assert steps_named(["accept"]) == ARCHIVES_STEPS
    assert parties(archives) == (Archives(ARCHIVES, "柳州市档案馆"),)
    me = parties(archives)[0]
    assert AcceptStep().applies(me)
    assert not any(s.applies(me) for s in NIGHTLY_STEPS)


def test_an_archives_job_that_lists_agency_steps_finds_nothing_to_do(agency, archives, pki):  # noqa: F811
    from govarc.jobs.nightly import run_nightly

    agency.deliver(GOOD, [agency.package(1)])
    report = run_nightly(archives, steps=steps_named(["ingest", "package", "transfer", "receipts"]))
    assert [s.status.value for s in report.agencies[0].steps] == ["not_applicable"] * 4
    assert report.exit_code == 0 and not (agency.exchange / "receipts").exists()
