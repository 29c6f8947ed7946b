"""Faults over real servers: the server killed mid-upload, wrong credentials, an unknown host key, a
package tampered with on the server, a batch delivered twice, and SIGKILL at seeded random points."""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govarc.catalog.db import open_catalog
from govarc.transfer.documents import receipt_from_xml
from govarc.transfer.run import transfer_run
from govarc.transport.s3 import S3Transport
from govarc.transport.sftp import SFTPTransport
from govarc.workspace import Workspace
from tests.catalog.conftest import Passphrase
from tests.e2e.conftest import Exchange, Pair, agency_catalog, held, openssl_verify, records
from tests.servers.sshd import keygen


def one_line_exit_5(r: Any) -> None:
    assert r.exit_code == 5, r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith("govarc: error:"), r.output
    assert "Traceback" not in r.output


def set_option(ws: Workspace, name: str, value: str) -> None:
    toml = ws.home / "govarc.toml"
    lines = toml.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [f"{name} = {json.dumps(value, ensure_ascii=False)}\n" if ln.startswith(f"{name} = ") else ln for ln in lines]
    toml.write_text("".join(lines), encoding="utf-8")


# --- the server dies mid-upload -----------------------------------------------------------------


class _KillingReader:
    """A package stream that kills the server once the transport has read its first block."""

    def __init__(self, stream: Any, kill: Any) -> None:
        self.stream, self.kill, self.reads = stream, kill, 0

    def read(self, n: int = -1) -> bytes:
        if self.reads == 1:
            self.kill()
        self.reads += 1
        return bytes(self.stream.read(n))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _kill_server(ex: Exchange) -> None:
    if ex.sshd is not None:
        assert ex.sshd.kill_sessions() > 0  # this session's processes die; the listener stays for the next run
    else:
        assert ex.seaweed is not None
        ex.seaweed.kill()


@pytest.fixture
def kill_during_put(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The server is killed while the third package is being uploaded; yields the keys put whole before."""
    cls = SFTPTransport if pair.exchange.kind == "sftp" else S3Transport
    real = cls.put
    done: list[str] = []
    fired: list[bool] = []

    def put(self: Any, key: str, stream: Any, *args: Any, **kwargs: Any) -> Any:
        if "/packages/" in key and len(done) == 2 and not fired:
            fired.append(True)
            stream = _KillingReader(stream, lambda: _kill_server(pair.exchange))
        result = real(self, key, stream, *args, **kwargs)
        if not fired:
            done.append(key)
        return result

    monkeypatch.setattr(cls, put.__name__, put)
    yield done
    monkeypatch.setattr(cls, "put", real)


def test_the_server_killed_mid_upload_then_the_next_run_resumes_the_same_batch(
        pair: Pair, kill_during_put: list[str]) -> None:
    r = pair.run()
    one_line_exit_5(r)
    assert len(kill_during_put) == 2
    with open_catalog(pair.agency.catalog_path) as cat:
        [(bid, state)] = cat.conn.execute("SELECT id, state FROM batches").fetchall()
    assert state == "open"
    # the server comes back (S3: on the same ports and data folder)
    ex = pair.exchange
    if ex.seaweed is not None:
        ex.seaweed.start()
    t = ex.open()
    assert not t.exists(f"inbound/SZF/{bid}/transfer-list.xml.p7s")  # the archives see nothing yet
    before = {k: t.stat(k) for k in kill_during_put}
    assert pair.accept().output.strip() == "nothing to accept"
    r2 = pair.run("--json")
    assert r2.exit_code == 0, r2.output
    [rep] = json.loads(r2.output)
    assert (rep["batch_id"], rep["resumed"], rep["state"], rep["already"], rep["uploaded"]) == (bid, True, "published", 2, 3)
    assert {k: t.stat(k) for k in kill_during_put} == before  # the completed packages were not sent again
    t.close()
    a = pair.accept(json=True)
    assert a.exit_code == 0, a.output
    assert [(b["batch"], b["accepted"]) for b in json.loads(a.output)["batches"]] == [(bid, 5)]
    assert pair.receipts().exit_code == 0
    assert set(records(pair.agency).values()) == {"transferred"}


# --- wrong credentials, an unknown host key -----------------------------------------------------


def _wrong_key(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_option(pair.agency, "identity_file", str(keygen(tmp_path / "stranger_key")))


def _unknown_host(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pair.exchange.sshd is not None
    other = keygen(tmp_path / "other_host_key")
    (tmp_path / "known_hosts").write_text(pair.exchange.sshd.host_line(Path(f"{other}.pub")))
    set_option(pair.agency, "known_hosts", str(tmp_path / "known_hosts"))


def _empty_known_hosts(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "known_hosts").write_text("")
    set_option(pair.agency, "known_hosts", str(tmp_path / "known_hosts"))


def _wrong_secret(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "0" * 40)


def _unknown_access_key(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody-at-all")


BREAKS = {"sftp": [_wrong_key, _unknown_host, _empty_known_hosts], "s3": [_wrong_secret, _unknown_access_key]}


@pytest.mark.parametrize("exchange, breaks", [(kind, b) for kind, bs in BREAKS.items() for b in bs],
                         indirect=["exchange"], ids=lambda x: getattr(x, "__name__", x))
def test_wrong_credentials_or_host_key_exit_5_with_one_line_and_change_nothing(
        pair: Pair, breaks: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    breaks(pair, tmp_path, monkeypatch)
    before = agency_catalog(pair.agency)
    one_line_exit_5(pair.run())
    one_line_exit_5(pair.receipts())
    assert agency_catalog(pair.agency) == before
    assert not (pair.agency.home / "transfers" / "SZF").exists() or not any((pair.agency.home / "transfers" / "SZF").iterdir())
    t = pair.exchange.open() if pair.exchange.kind == "sftp" else None
    if t is not None:
        assert t.list() == []
        t.close()


# --- tampered on the server; delivered twice ----------------------------------------------------


def test_a_package_tampered_with_on_the_server_is_rejected_1_1_the_rest_accepted(pair: Pair, tmp_path: Path) -> None:
    r = pair.run("--json")
    assert r.exit_code == 0, r.output
    [rep] = json.loads(r.output)
    bid, victim = rep["batch_id"], rep["items"][1]
    key = f"inbound/SZF/{bid}/packages/{victim['key']}"
    t = pair.exchange.open()
    data = bytearray(t.read(key))
    data[len(data) // 2] ^= 0x01
    t.publish(key, bytes(data), overwrite=True)
    a = pair.accept(json=True)
    assert a.exit_code == 0, a.output
    [b] = json.loads(a.output)["batches"]
    assert (b["accepted"], b["rejected"], b["duplicate"]) == (4, 1, 0)
    receipt = receipt_from_xml(t.read(f"receipts/SZF/{bid}/receipt.xml"), "receipt")
    [bad] = [v for v in receipt.verdicts if v.verdict.value == "rejected"]
    assert bad.archival_code == victim["archival_code"]
    assert [c.code for c in bad.checks if c.result.value == "failed"][0] == "1-1"
    assert len(held(pair.archives)) == 4
    assert (pair.archives.home / "rejected" / "SZF" / bid / victim["key"]).read_bytes() == bytes(data)
    t.close()
    rc = pair.receipts()
    assert rc.exit_code == 0 and "4 accepted, 0 duplicate, 1 rejected" in rc.output, rc.output
    states = records(pair.agency)
    assert states.pop(victim["archival_code"]) == "rejected"
    assert set(states.values()) == {"transferred"}
    st = json.loads(pair.cli(pair.agency, "transfer", "status", "--agency", "SZF", "--json").output)[0]
    [item] = [i for i in st["batches"][0]["items"] if i["archival_code"] == victim["archival_code"]]
    assert item["reasons"][0]["code"] == "1-1"


def test_the_same_packages_delivered_twice_are_stored_once(pair: Pair, tmp_path: Path) -> None:
    # a copy of the agency taken before it transferred (restored from a backup) sends the same packages again
    copy_root = tmp_path / "restored"
    shutil.copytree(pair.agency.home.parent, copy_root, symlinks=True)
    toml = copy_root / "home" / "govarc.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(str(pair.agency.home.parent), str(copy_root)),
                    encoding="utf-8")
    restored = Workspace.open(copy_root / "home")
    assert pair.run().exit_code == 0
    from govarc.sign.agency import load_agency_signer
    from govarc.transfer.run import open_archives_transport
    import datetime as dt

    tomorrow = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    with open_archives_transport(restored) as t, open_catalog(restored.catalog_path) as cat:
        again = transfer_run(restored, cat, restored.agency("SZF"), t, now=tomorrow,
                             signer=load_agency_signer(restored, "SZF", Passphrase()))
    assert again.state == "published"
    a = pair.accept(json=True)
    assert a.exit_code == 0, a.output
    got = sorted((b["accepted"], b["duplicate"], b["rejected"]) for b in json.loads(a.output)["batches"])
    assert got == [(0, 5, 0), (5, 0, 0)]
    assert len(held(pair.archives)) == 5
    for ws in (pair.agency, restored):
        rc = pair.cli(ws, "transfer", "receipts", "--agency", "SZF")
        assert rc.exit_code == 0, rc.output
        assert set(records(ws).values()) == {"transferred"}


# --- SIGKILL at seeded random points converges --------------------------------------------------


def _killed(pair: Pair, ws: Workspace, args: list[str], delay: float) -> None:
    p = pair.subprocess(ws, *args)
    try:
        p.wait(timeout=delay)
    except Exception:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)


@pytest.mark.parametrize("seed", [1, 2])
def test_transfer_and_accept_killed_at_random_points_converge(pair: Pair, seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    # transfer run killed, maybe more than once, then run to the end
    for _ in range(2):
        _killed(pair, pair.agency, ["transfer", "run", "--agency", "SZF"], rng.uniform(0.3, 2.5))
    r = pair.run("--json")
    assert r.exit_code == 0, r.output
    with open_catalog(pair.agency.catalog_path) as cat:
        rows = cat.conn.execute("SELECT id, state FROM batches").fetchall()
        sent = {str(s) for (s,) in cat.conn.execute("SELECT sha256 FROM batch_items")}
    assert len(rows) == 1 and rows[0][1] == "published" and len(sent) == 5  # one batch, never a second
    bid = str(rows[0][0])
    t = pair.exchange.open()
    assert {k.split("/")[2] for k in t.list("inbound/SZF")} == {bid}
    # accept killed, then run to the end
    for _ in range(2):
        _killed(pair, pair.archives, ["accept", "--from", pair.exchange.url], rng.uniform(0.3, 2.5))
    a = pair.accept()
    assert a.exit_code == 0, a.output
    assert pair.accept().output.strip() == "nothing to accept"
    # the same as an uninterrupted run: every package held once, one receipt of five acceptances
    assert {k.rsplit("/", 1)[1][:-4] for k in held(pair.archives)} == sent
    assert not list((pair.archives.home / "tmp").rglob("*.zip"))
    xml = t.read(f"receipts/SZF/{bid}/receipt.xml")
    v = openssl_verify(xml, t.read(f"receipts/SZF/{bid}/receipt.xml.p7s"), pair.ca, tmp_path / "v")
    assert v.returncode == 0, v.stderr
    receipt = receipt_from_xml(xml, "receipt")
    import hashlib

    assert receipt.list_sha256 == hashlib.sha256(t.read(f"inbound/SZF/{bid}/transfer-list.xml")).hexdigest()
    assert sorted((v.sha256, v.verdict.value) for v in receipt.verdicts) == sorted((s, "accepted") for s in sent)
    assert (pair.archives.home / "receipts" / "SZF" / bid / "receipt.xml").read_bytes() == xml
    t.close()
    assert pair.receipts().exit_code == 0
    assert set(records(pair.agency).values()) == {"transferred"}
