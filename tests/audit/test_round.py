"""A whole round through the real commands: every state change of an agency workspace and of the
archives is an event in order, with its actor and agency; the trail verifies; one edited event in
the middle of the full log is named (exit 3)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from govarc.audit.chain import current_actor
from govarc.cli import main
from govarc.sign.pki import CA_CERT, CERT_FILE
from govarc.sign.trust import fingerprint
from tests.citykit import make_doc

ENV = {"GOVARC_KEY_PASSPHRASE": "round-test"}
CITY = """
[[agency]]
code = "SZF"
name = "柳州市人民政府办公室"
fonds = "0012"
unit = "BGS"
drop = "drop/SZF"

[[agency]]
code = "CZJ"
name = "柳州市财政局"
fonds = "0035"
unit = "CWK"
drop = "drop/CZJ"
"""


def run(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=ENV)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def events(home: Path) -> list[dict[str, object]]:
    return list(json.loads(run(home, "--json", "audit", "list"))["events"])


def verify(home: Path) -> tuple[int, list[dict[str, str]]]:
    result = CliRunner().invoke(main, ["--home", str(home), "--json", "audit", "verify"], env=ENV)
    return result.exit_code, json.loads(result.output)["findings"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(agency home, archives home) after a round: nightly, accept, receipts, send / receive / sign-for / return."""
    root = tmp_path_factory.mktemp("round")
    for i in (1, 2):
        make_doc(root / "drop" / "SZF", i)
    make_doc(root / "drop" / "CZJ", 1, prefix="柳财预")
    (root / "city.toml").write_text(CITY, encoding="utf-8")
    (root / "exchange").mkdir()
    (root / "hub").mkdir()
    home, archives = root / "home", root / "archives"
    run(home, "init", "--config", str(root / "city.toml"))
    run(home, "pki", "init-ca", "--name", "柳州市测试CA")
    run(home, "pki", "issue", "SZF")
    run(home, "pki", "issue", "CZJ")
    run(archives, "init", "--archives", "DAG", "--name", "柳州市档案馆", "--inbox", (root / "exchange").as_uri())
    run(archives, "pki", "init-ca", "--name", "柳州市档案馆CA")
    run(archives, "pki", "issue", "DAG")
    run(archives, "pki", "trust", "add", str(home / "pki" / "ca.pem"))
    run(home, "pki", "trust", "add", str(archives / "pki" / "ca.pem"))
    run(home, "transfer", "configure", "--archives", "DAG", "--name", "柳州市档案馆", "--url", (root / "exchange").as_uri())
    (home / "oa" / "CZJ").mkdir(parents=True)
    run(home, "exchange", "configure", "--url", (root / "hub").as_uri(), "--oa-drop", "CZJ=oa/CZJ")
    run(home, "nightly")  # ingest, package, sign, transfer
    run(archives, "accept")
    run(home, "transfer", "receipts", "--agency", "SZF")
    run(home, "transfer", "receipts", "--agency", "CZJ")
    codes = [str(e["object"]) for e in events(home) if e["action"] == "ingest" and e["agency"] == "SZF"]
    first = json.loads(run(home, "--json", "send", codes[0], "--agency", "SZF", "--to", "CZJ"))["message_id"]
    second = json.loads(run(home, "--json", "send", codes[1], "--agency", "SZF", "--to", "CZJ"))["message_id"]
    run(home, "receive", "--agency", "CZJ")
    run(home, "sign-for", first, "--agency", "CZJ")
    run(home, "return", second, "--agency", "CZJ", "--reason", "非本单位职责")
    run(home, "exchange", "status", "--agency", "SZF")
    return home, archives


def test_the_agency_trail_names_every_change_in_order_with_its_actor_and_agency(city: tuple[Path, Path]) -> None:
    home, _ = city
    got = events(home)
    assert [e["seq"] for e in got] == list(range(1, len(got) + 1))
    actor = current_actor()
    assert {(e["user"], e["host"]) for e in got} == {(actor.user, actor.host)}
    send = ["send-create", "send-deliver", "send"]
    assert [(e["action"], e["agency"]) for e in got] == [
        ("init", ""), ("pki-init-ca", ""), ("key-issue", "SZF"), ("key-issue", "CZJ"), ("trust-add", ""),
        ("config-change", ""), ("config-change", "CZJ"),  # transfer configure; exchange configure (CZJ's oa_drop)
        ("ingest", "SZF"), ("ingest", "SZF"), ("package", "SZF"), ("package", "SZF"),  # the nightly, agency by agency
        ("transfer-create", "SZF"), ("transfer-uploaded", "SZF"), ("transfer-published", "SZF"),
        ("ingest", "CZJ"), ("package", "CZJ"),
        ("transfer-create", "CZJ"), ("transfer-uploaded", "CZJ"), ("transfer-published", "CZJ"),
        ("receipt-import", "SZF"), ("receipt-import", "CZJ"),
        *[(a, "SZF") for a in send], *[(a, "SZF") for a in send],
        ("receive", "CZJ"), ("hand-over", "CZJ"), ("receive", "CZJ"), ("hand-over", "CZJ"),
        ("sign-for", "CZJ"), ("return", "CZJ"), ("receipt-import", "SZF"), ("receipt-import", "SZF"),
    ]
    by = {str(e["action"]): e for e in got}
    assert by["init"]["details"] == {"role": "agency", "agencies": ["SZF", "CZJ"]}
    assert {"archives.code", "archives.url", "archives.name"} <= set(got[5]["details"]["keys"])  # type: ignore[index]
    assert {"exchange.url", "agency.CZJ.oa_drop"} <= set(got[6]["details"]["keys"])  # type: ignore[index]
    issued = got[2]["details"]
    assert "organizationIdentifier=SZF" in issued["subject"] and issued["replaced"] is False  # type: ignore[index]
    cert = x509.load_pem_x509_certificate((home / "keys" / "SZF" / CERT_FILE).read_bytes())
    assert got[2]["object"] == fingerprint(cert)
    ca = x509.load_pem_x509_certificate((home / "pki" / CA_CERT).read_bytes())
    assert got[1]["object"] == fingerprint(ca)
    assert "round-test" not in json.dumps(got, ensure_ascii=False)  # never a passphrase
    code, findings = verify(home)
    assert code == 0 and not [f for f in findings if f["level"] == "error"], findings


def test_the_archives_trail_names_acceptance(city: tuple[Path, Path]) -> None:
    _, archives = city
    got = events(archives)
    assert [(e["action"], e["agency"], e["outcome"]) for e in got] == [
        ("init", "DAG", "ok"), ("pki-init-ca", "", "ok"), ("key-issue", "DAG", "ok"), ("trust-add", "", "ok"),
        ("accept-receive", "CZJ", "ok"), ("accept-item", "CZJ", "accepted"), ("accept", "CZJ", "answered"),
        ("accept-receive", "SZF", "ok"), ("accept-item", "SZF", "accepted"), ("accept-item", "SZF", "accepted"),
        ("accept", "SZF", "answered"),
    ]
    code, findings = verify(archives)
    assert code == 0 and not [f for f in findings if f["level"] == "error"], findings


def test_one_edited_event_in_the_middle_of_the_full_log_is_named(city: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(city[0], home)
    middle = len(events(home)) // 2
    conn = sqlite3.connect(home / "catalog.sqlite")
    with conn:
        conn.execute("UPDATE audit_events SET outcome='failed' WHERE seq=?", (middle,))
    conn.close()
    code, findings = verify(home)
    assert code == 3
    assert [(f["code"], f["path"]) for f in findings if f["level"] == "error"] == [("AUDIT_EDITED", f"event {middle}")]
