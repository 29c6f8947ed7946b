"""`govarc audit verify` finds each kind of tampering (done with sqlite3 directly) and names it (exit 3)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.audit.chain import hash_of
from govarc.catalog import audit as sql
from govarc.cli import main
from tests.citykit import make_city

ENV = {"GOVARC_KEY_PASSPHRASE": "audit-test"}


def run(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=ENV)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def city_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A city after one nightly run with a key: events init 1, pki-init-ca 2, key-issue 3, ingest 4-6, package
    7-9; checkpoints after each command (1 and 2 unsigned: no agency key yet), the last signed at 9."""
    root = tmp_path_factory.mktemp("audit")
    city = make_city(root, n=3)
    home = root / "home"
    for args in (("init", "--config", str(city)), ("pki", "init-ca", "--name", "测试CA"), ("pki", "issue", "SZF"),
                 ("nightly",)):
        code, output = run(home, *args)
        assert code == 0, output
    return home


@pytest.fixture
def home(city_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(city_home, copy)
    return copy


def verify(home: Path) -> tuple[int, list[dict[str, str]]]:
    code, output = run(home, "--json", "audit", "verify")
    return code, json.loads(output)["findings"]


def errors(findings: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(f["code"], f["path"]) for f in findings if f["level"] == "error"]


def tamper(home: Path, *statements: str) -> None:
    conn = sqlite3.connect(home / "catalog.sqlite")
    with conn:
        for s in statements:
            conn.execute(s)
    conn.close()


def test_an_untouched_trail_verifies_and_its_checkpoint_signature_passes_openssl(home: Path) -> None:
    code, findings = verify(home)
    assert code == 0 and errors(findings) == []
    code, output = run(home, "--json", "audit", "list")
    actions = [e["action"] for e in json.loads(output)["events"]]
    assert actions == ["init", "pki-init-ca", "key-issue"] + ["ingest"] * 3 + ["package"] * 3
    cp = home / "audit" / "checkpoints" / "000000000009.json"
    openssl = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", f"{cp}.p7s", "-content",
                              str(cp), "-CAfile", str(home / "pki" / "ca.pem"), "-purpose", "any", "-out", os.devnull],
                             capture_output=True, text=True)
    assert openssl.returncode == 0, openssl.stderr


@pytest.mark.parametrize("column, value", [("agency", "'CZJ'"), ("action", "'sign'"), ("object", "'0012-WS·2024-Y-BGS-9999'"),
                                           ("outcome", "'failed'"), ("user", "'someone'"), ("host", "'elsewhere'"),
                                           ("at", "'2020-01-01T00:00:00.000000Z'"), ("details", "'{}'")])
def test_an_edited_field_is_named(home: Path, column: str, value: str) -> None:
    before = (home / "catalog.sqlite").stat().st_size
    tamper(home, f"UPDATE audit_events SET {column}={value} WHERE seq=5")
    code, findings = verify(home)
    assert code == 3
    assert ("AUDIT_EDITED", "event 5") in errors(findings)
    assert (home / "catalog.sqlite").stat().st_size == before  # verify only reads


@pytest.mark.parametrize("seqs, expected", [
    ((4,), [("AUDIT_DELETED", "event 5")]),  # the first after a checkpoint
    ((6,), [("AUDIT_DELETED", "event 7")]),  # one in the middle
    ((6, 7), [("AUDIT_DELETED", "event 8")]),
    ((9,), [("AUDIT_DELETED", str(Path("audit") / "checkpoints" / "000000000009.json"))]),  # the last before the checkpoint
    ((8, 9), [("AUDIT_DELETED", str(Path("audit") / "checkpoints" / "000000000009.json"))]),  # the tail
])
def test_a_deleted_event_is_named(home: Path, seqs: tuple[int, ...], expected: list[tuple[str, str]]) -> None:
    tamper(home, f"DELETE FROM audit_events WHERE seq IN ({','.join(map(str, seqs))})")
    code, findings = verify(home)
    assert code == 3
    found = [(c, p.replace(str(home) + os.sep, "")) for c, p in errors(findings)]
    assert found == expected


@pytest.mark.parametrize("a, b", [(5, 6), (4, 5), (5, 8)])
def test_swapped_events_are_named(home: Path, a: int, b: int) -> None:
    tamper(home, f"UPDATE audit_events SET seq=-1 WHERE seq={a}", f"UPDATE audit_events SET seq={a} WHERE seq={b}",
           f"UPDATE audit_events SET seq={b} WHERE seq=-1")
    code, findings = verify(home)
    assert code == 3
    named = {p for c, p in errors(findings) if c == "AUDIT_REORDERED"}
    assert {f"event {a}", f"event {b}"} <= named


def _forge(conn: sqlite3.Connection, seq: int, prev: str) -> str:
    from govarc.audit.chain import event_hash

    h = event_hash(seq, "2026-01-01T00:00:00.000000Z", "mallory", "evil", "SZF", "ingest", "FORGED", "ok", "{}", prev)
    conn.execute("INSERT INTO audit_events (seq, at, user, host, agency, action, object, outcome, details, prev, hash) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?)", (seq, "2026-01-01T00:00:00.000000Z", "mallory", "evil", "SZF", "ingest",
                                                   "FORGED", "ok", "{}", prev, h))
    return h


def test_an_inserted_event_is_named(home: Path) -> None:
    conn = sqlite3.connect(home / "catalog.sqlite")
    with conn:
        for s in range(9, 5, -1):
            conn.execute("UPDATE audit_events SET seq=? WHERE seq=?", (s + 1, s))
        prev = conn.execute("SELECT hash FROM audit_events WHERE seq=5").fetchone()[0]
        _forge(conn, 6, prev)
    conn.close()
    code, findings = verify(home)
    assert code == 3
    assert ("AUDIT_INSERTED", "event 6") in errors(findings)


def test_an_inserted_event_with_the_chain_recomputed_is_caught_by_the_checkpoint(home: Path) -> None:
    conn = sqlite3.connect(home / "catalog.sqlite")
    with conn:
        rows = list(sql.iter_events(conn))
        conn.execute("DELETE FROM audit_events")
        prev = rows[4].hash
        for e in rows[:5]:
            conn.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?,?)", tuple(e.__dict__.values()))
        prev = _forge(conn, 6, prev)
        for e in rows[5:]:
            moved = e.__class__(**{**e.__dict__, "seq": e.seq + 1, "prev": prev, "hash": ""})
            h = hash_of(moved)
            conn.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         tuple({**moved.__dict__, "hash": h}.values()))
            prev = h
    conn.close()
    code, findings = verify(home)
    assert code == 3
    assert [c for c, _ in errors(findings)] == ["AUDIT_CHECKPOINT_MISMATCH"]


@pytest.mark.parametrize("change", [
    lambda d: d.replace(b'"seq":9', b'"seq":8'),
    lambda d: d.replace(b'"head":"', b'"head":"0'),
    lambda d: d.replace(b'"signer":"SZF"', b'"signer":"CZJ"'),
    lambda d: d + b"\n",
])
def test_an_edited_checkpoint_is_named(home: Path, change: Callable[[bytes], bytes]) -> None:
    cp = home / "audit" / "checkpoints" / "000000000009.json"
    cp.write_bytes(change(cp.read_bytes()))
    code, findings = verify(home)
    assert code == 3
    assert {c for c, _ in errors(findings)} & {"AUDIT_CHECKPOINT_SIGNATURE", "AUDIT_CHECKPOINT_INVALID"}


def test_a_checkpoint_that_is_a_fifo_is_refused_without_blocking(home: Path) -> None:
    cp = home / "audit" / "checkpoints" / "000000000009.json"
    cp.unlink()
    os.mkfifo(cp)
    code, findings = verify(home)
    assert code == 3 and ("AUDIT_CHECKPOINT_INVALID", str(cp)) in errors(findings)


def test_a_checkpoint_signed_by_a_stranger_is_named(home: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    city = make_city(tmp_path / "c2", n=1)
    for args in (("init", "--config", str(city)), ("pki", "init-ca", "--name", "陌生CA"), ("pki", "issue", "SZF")):
        assert run(stranger, *args)[0] == 0
    from govarc.audit.checkpoint import load_signer
    from govarc.sign.documents import sign_document
    from govarc.workspace import Workspace

    class P:
        def passphrase(self, purpose: str, confirm: bool) -> bytes:
            return ENV["GOVARC_KEY_PASSPHRASE"].encode()

    signer = load_signer(Workspace.open(stranger), P())
    assert signer is not None
    cp = home / "audit" / "checkpoints" / "000000000009.json"
    (cp.with_name(cp.name + ".p7s")).write_bytes(sign_document(cp.read_bytes(), signer[1]))
    code, findings = verify(home)
    assert code == 3 and ("AUDIT_CHECKPOINT_SIGNATURE", str(cp)) in errors(findings)


def test_a_replaced_catalog_is_named(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    city = make_city(tmp_path / "c3", n=2)
    assert run(other, "init", "--config", str(city))[0] == 0
    assert run(other, "nightly")[0] == 0
    shutil.copy(other / "catalog.sqlite", home / "catalog.sqlite")
    shutil.copy(other / "catalog.id", home / "catalog.id")
    code, findings = verify(home)
    assert code == 3 and "AUDIT_CATALOG_REPLACED" in {c for c, _ in errors(findings)}


def test_unsigned_checkpoints_are_a_warning(tmp_path: Path) -> None:
    city = make_city(tmp_path, n=1)
    home = tmp_path / "home"
    assert run(home, "init", "--config", str(city))[0] == 0
    assert run(home, "nightly")[0] == 0
    code, findings = verify(home)
    assert code == 0 and [f["code"] for f in findings] == ["AUDIT_CHECKPOINT_UNSIGNED"]


def test_a_failed_change_leaves_no_event(home: Path) -> None:
    from govarc.catalog.db import open_catalog
    from govarc.catalog.packages import mark_signed

    with open_catalog(home / "catalog.sqlite") as cat:
        before = cat.conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
        with pytest.raises(RuntimeError):
            with cat.write() as conn:
                sql.append_one(conn, "sign", "X", "SZF")
                raise RuntimeError("the change fails")
        mark_signed(cat, 999_999, 1, "0" * 64)  # no such record: nothing changed, so no event
        assert cat.conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0] == before
