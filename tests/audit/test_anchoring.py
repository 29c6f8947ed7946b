"""When checkpoints are written: after a command while another process holds the catalog open (its
events still in the write-ahead log), between the nightly's agencies every EVERY events, and the
events of key and configuration changes (never a secret in them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.audit import checkpoint as cp
from govarc.audit.trail import changed_keys
from govarc.catalog.audit import committed_head, file_head
from govarc.cli import main
from tests.citykit import make_city, make_doc

ENV = {"GOVARC_KEY_PASSPHRASE": "anchor-test"}
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()
print("ready", flush=True)
sys.stdin.read()
conn.close()
"""


def run(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=ENV)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def checkpoints(home: Path) -> list[str]:
    folder = home / "audit" / "checkpoints"
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


def events(home: Path) -> list[dict[str, object]]:
    return list(json.loads(run(home, "--json", "audit", "list"))["events"])


def verify(home: Path) -> tuple[int, list[dict[str, str]]]:
    result = CliRunner().invoke(main, ["--home", str(home), "--json", "audit", "verify"], env=ENV)
    return result.exit_code, json.loads(result.output)["findings"]


@pytest.fixture
def keyed(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    run(home, "init", "--config", str(make_city(tmp_path, n=3)))
    run(home, "pki", "init-ca", "--name", "测试CA")
    run(home, "pki", "issue", "SZF")
    return home


@pytest.mark.parametrize("command", [("nightly",), ("agency", "add", "CZJ", "--name", "柳州市财政局", "--fonds", "0035",
                                                    "--unit", "CWK", "--drop", "{drop}")])
def test_a_command_run_while_another_process_holds_the_catalog_still_gets_its_checkpoint(keyed: Path,
                                                                                           command: tuple[str, ...]) -> None:
    drop = keyed / "drop" / "CZJ"
    drop.mkdir(parents=True)
    command = tuple(a.replace("{drop}", str(drop)) for a in command)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(keyed / "catalog.sqlite")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        run(keyed, *command)
        head = committed_head(keyed / "catalog.sqlite")
        assert head is not None and head > 3
        # The condition this guards against: the file alone does not hold this command's events yet.
        assert (keyed / "catalog.sqlite-wal").stat().st_size > 0
        assert (file_head(keyed / "catalog.sqlite") or 0) < head
        assert f"{head:012d}.json" in checkpoints(keyed)
        assert (keyed / "audit" / "checkpoints" / f"{head:012d}.json.p7s").is_file()
    finally:
        holder.communicate("", timeout=60)
    code, findings = verify(keyed)
    assert code == 0 and "AUDIT_UNANCHORED" not in {f["code"] for f in findings}, findings


def test_audit_list_and_verify_write_no_checkpoint_even_while_the_catalog_is_held(keyed: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(keyed / "catalog.sqlite")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        run(keyed, "nightly")
        before = checkpoints(keyed)
        events(keyed)
        verify(keyed)
        assert checkpoints(keyed) == before
    finally:
        holder.communicate("", timeout=60)


def test_the_nightly_anchors_between_agencies_once_every_events_piled_up(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Three agencies of two records each: 4 events per agency (2 ingest, 2 package); with EVERY = 3
    the nightly writes a checkpoint after each agency, all signed, then none is needed at the end."""
    city = tmp_path / "city.toml"
    lines = []
    for n, (who, fonds) in enumerate((("SZF", "0012"), ("CZJ", "0035"), ("GAJ", "0041")), 1):
        for i in (1, 2):
            make_doc(tmp_path / "drop" / who, i, prefix=f"柳{who}发")
        lines.append(f'[[agency]]\ncode = "{who}"\nname = "机构{n}"\nfonds = "{fonds}"\nunit = "BGS"\n'
                     f'drop = "drop/{who}"\n')
    city.write_text("\n".join(lines), encoding="utf-8")
    home = tmp_path / "home"
    run(home, "init", "--config", str(city))
    run(home, "pki", "init-ca", "--name", "测试CA")
    for agency in ("SZF", "CZJ", "GAJ"):
        run(home, "pki", "issue", agency)
    start = len(events(home))  # init, pki-init-ca, 3 key-issue: each command checkpointed
    assert checkpoints(home)[-1] == f"{start:012d}.json"
    monkeypatch.setattr(cp, "EVERY", 3)
    run(home, "nightly")
    got = [f"{start + 4 * k:012d}.json" for k in (1, 2, 3)]
    assert checkpoints(home)[-3:] == got
    for name in got:
        assert (home / "audit" / "checkpoints" / f"{name}.p7s").is_file()
        assert json.loads((home / "audit" / "checkpoints" / name).read_text())["signer"] == "SZF"
    code, findings = verify(home)
    assert code == 0 and not {f["code"] for f in findings} & {"AUDIT_UNANCHORED"}, findings


def test_below_every_the_nightly_anchors_once_at_its_end(keyed: Path) -> None:
    before = checkpoints(keyed)
    run(keyed, "nightly")  # 6 events, far below EVERY: one checkpoint, at the end
    assert checkpoints(keyed) == before + [f"{len(events(keyed)):012d}.json"]


def test_a_nightly_with_a_passphrase_file_signs_its_checkpoint(keyed: Path, tmp_path: Path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text(ENV["GOVARC_KEY_PASSPHRASE"] + "\n", encoding="utf-8")
    secret.chmod(0o600)
    result = CliRunner().invoke(main, ["--home", str(keyed), "nightly", "--passphrase-file", str(secret)], env={})
    assert result.exit_code == 0, result.output
    head = len(events(keyed))
    name = keyed / "audit" / "checkpoints" / f"{head:012d}.json"
    assert json.loads(name.read_text())["signer"] == "SZF" and name.with_name(name.name + ".p7s").is_file()


def test_pki_events_carry_the_certificate_and_never_the_passphrase(keyed: Path, tmp_path: Path) -> None:
    run(keyed, "pki", "issue", "SZF", "--replace")
    got = events(keyed)
    assert [e["action"] for e in got] == ["init", "pki-init-ca", "key-issue", "key-issue"]
    assert got[-1]["agency"] == "SZF" and got[-1]["details"]["replaced"] is True  # type: ignore[index]
    assert got[-1]["object"] != got[2]["object"]  # a new certificate
    text = json.dumps(got, ensure_ascii=False) + (keyed / "catalog.sqlite").read_bytes().decode("latin-1")
    assert ENV["GOVARC_KEY_PASSPHRASE"] not in text
    # trusting the same anchor again, and keeping the same CRL again, change nothing: no second event
    other = tmp_path / "other"
    run(other, "init")
    run(other, "pki", "init-ca", "--name", "另一CA")
    for _ in range(2):
        run(keyed, "pki", "trust", "add", str(other / "pki" / "ca.pem"))
    assert [e["action"] for e in events(keyed)][-1:] == ["trust-add"]
    assert [e["action"] for e in events(keyed)].count("trust-add") == 1


@pytest.mark.parametrize("old, new, keys", [
    (None, {"workspace": {"workers": 0}}, ["workspace.workers"]),
    ({"workspace": {"workers": 0}}, {"workspace": {"workers": 0}}, []),
    ({"archives": {"url": "a", "transport": {"secret_key": "s1"}}},
     {"archives": {"url": "a", "transport": {"secret_key": "s2"}}}, ["archives.transport.secret_key"]),
    ({"agency": [{"code": "SZF", "drop": "a"}, {"code": "CZJ", "drop": "b"}]},
     {"agency": [{"code": "CZJ", "drop": "b"}, {"code": "SZF", "drop": "c"}]}, ["agency.SZF.drop"]),
    ({"agency": [{"code": "SZF"}]}, {"agency": [{"code": "SZF"}, {"code": "GAJ", "name": "公安局"}]},
     ["agency.GAJ.code", "agency.GAJ.name"]),
    ({"exchange": {"groups": {"全市": ["A"]}}}, {}, ["exchange.groups.全市"]),
])
def test_changed_keys_name_keys_never_values(old: dict[str, object] | None, new: dict[str, object],
                                              keys: list[str]) -> None:
    assert changed_keys(old, new) == keys


def test_a_configuration_write_is_an_event_naming_the_keys_and_not_their_values(keyed: Path) -> None:
    run(keyed, "transfer", "configure", "--archives", "DAG", "--name", "柳州市档案馆", "--url", "sftp://u@h/x")
    run(keyed, "transfer", "configure", "--archives", "DAG", "--name", "柳州市档案馆", "--url", "sftp://u@h/x")  # same
    got = [e for e in events(keyed) if e["action"] == "config-change"]
    assert len(got) == 1 and got[0]["object"] == "govarc.toml" and got[0]["agency"] == ""
    assert got[0]["details"] == {"keys": ["archives.code", "archives.name", "archives.receipt_overdue_days",
                                             "archives.send_unsigned", "archives.url"], "agencies": []}
    assert "sftp://" not in json.dumps(got[0])


def test_the_restart_of_a_refused_batch_is_an_event_in_its_own_transaction(tmp_path: Path) -> None:
    from govarc.catalog import holdings as hcat
    from govarc.catalog.db import open_catalog

    with open_catalog(tmp_path / "catalog.sqlite") as cat:
        hcat.start_batch(cat, "SZF", "B1", "a" * 64, "2026-01-01T00:00:00Z")
        hcat.relist_refused(cat, "SZF", "B1", "a" * 64)  # the same list: nothing changes, no event
        hcat.relist_refused(cat, "SZF", "B1", "b" * 64)
        hcat.finish_batch(cat, "SZF", "B1", hcat.BatchState.REFUSED, refused="bad signature", at="2026-01-01T00:00:01Z")
        hcat.restart_refused(cat, "SZF", "B1", "c" * 64)
        assert hcat.get_batch(cat, "SZF", "B1") is None
        rows = cat.conn.execute("SELECT action, object, details FROM audit_events ORDER BY seq").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("accept-receive", "SZF/B1"), ("accept-relist", "SZF/B1"),
                                           ("accept", "SZF/B1"), ("accept-restart", "SZF/B1")]
    assert json.loads(rows[-1][2]) == {"list_sha256": "c" * 64, "previous_list_sha256": "b" * 64,
                                       "refused": "bad signature", "items_dropped": 0}
