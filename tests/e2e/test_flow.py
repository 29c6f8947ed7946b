"""The whole flow over SFTP and S3: transfer run → accept → transfer receipts; both documents verify with OpenSSL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.admin import init_workspace
from govarc.cli import main
from govarc.workspace import Workspace
from tests.e2e.conftest import Pair, held, openssl_verify, records


def test_transfer_accept_receipts_over_a_real_server(pair: Pair, tmp_path: Path) -> None:
    r = pair.run("--json")
    assert r.exit_code == 0, r.output
    [rep] = json.loads(r.output)
    bid = rep["batch_id"]
    assert rep["state"] == "published" and rep["uploaded"] == 5 and rep["already"] == 0
    t = pair.exchange.open()
    prefix = f"inbound/SZF/{bid}"
    assert sorted(k for k in t.list(prefix) if "/packages/" in k) == sorted(f"{prefix}/packages/{i['key']}"
                                                                          for i in rep["items"])
    for item in rep["items"]:
        assert t.digest(f"{prefix}/packages/{item['key']}") == item["sha256"]
    # the archives accept everything over the same server
    a = pair.accept(json=True)
    assert a.exit_code == 0, a.output
    [b] = json.loads(a.output)["batches"]
    assert (b["agency"], b["batch"], b["state"], b["accepted"], b["rejected"], b["duplicate"]) == \
        ("SZF", bid, "answered", 5, 0, 0)
    assert len(held(pair.archives)) == 5
    assert {i["sha256"] for i in rep["items"]} == {k.rsplit("/", 1)[1][:-4] for k in held(pair.archives)}
    # the list and the receipt, as fetched from the server, verify with stock OpenSSL against the test CA
    for doc in (f"{prefix}/transfer-list.xml", f"receipts/SZF/{bid}/receipt.xml"):
        v = openssl_verify(t.read(doc), t.read(doc + ".p7s"), pair.ca, tmp_path / doc.replace("/", "_"))
        assert v.returncode == 0, (doc, v.stderr)
    t.close()
    # the agency imports the receipt: every record transferred
    assert set(records(pair.agency).values()) == {"packaged"}  # until the receipt is imported
    rc = pair.receipts()
    assert rc.exit_code == 0, rc.output
    assert "5 accepted, 0 duplicate, 0 rejected" in rc.output
    assert set(records(pair.agency).values()) == {"transferred"}
    st = json.loads(pair.cli(pair.agency, "transfer", "status", "--agency", "SZF", "--json").output)[0]
    assert st["batches"][0]["state"] == "receipted"
    # nothing more to do on either side
    assert "nothing due" in pair.run().output
    assert pair.accept().output.strip() == "nothing to accept"


@pytest.mark.parametrize("table, words", [
    ('[holdings.transport]\npassword = "s"\n', "unknown key `password` in [holdings.transport]"),
    ('[holdings.transport]\nidentity_file = ""\n', "holdings.transport.identity_file"),
    ('[holdings.transport]\ncreate = "yes"\n', "holdings.transport.create"),
    ('transport = "x"\n', "holdings.transport"),
])
def test_bad_holdings_transport_options_exit_6_naming_the_key(tmp_path: Path, table: str, words: str) -> None:
    home = tmp_path / "h"
    home.mkdir()
    head = '[workspace]\nrole = "archives"\n[holdings]\ncode = "DAG"\nname = "x"\n'
    (home / "govarc.toml").write_text(head + table, encoding="utf-8")
    result = CliRunner().invoke(main, ["--home", str(home), "accept"])
    assert result.exit_code == 6 and words in result.stderr, result.output


def test_holdings_transport_options_round_trip(tmp_path: Path) -> None:
    from govarc.workspace import HoldingsSettings

    opts = (("identity_file", "keys/sftp 钥匙"), ("known_hosts", "/etc/govarc/known_hosts"))
    ws, _ = init_workspace(tmp_path / "a", archives=HoldingsSettings("DAG", "柳州市档案馆", inbox="sftp://u@h/x",
                                                                    transport=opts))
    h = Workspace.open(ws.home).holdings
    assert h is not None and h.transport == opts and h.transport_options() == dict(opts)
