"""A city whose records are in every state an archives transfer gives them, built through the CLI:

SZF (signed): five records sent to the archives over a folder transport, whose signed receipt
accepts four and rejects one; two more records in a second published batch awaiting the receipt
(transferred); one record only registered. CZJ (no key): three packaged, unsigned records.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from govarc.cli import main
from govarc.sign.agency import load_agency_signer
from govarc.workspace import Workspace
from tests.catalog.conftest import Passphrase, _package
from tests.citykit import ingest_into, make_doc
from tests.transfer.conftest import ARCHIVES, ENV, batch_ids, golden_city, make_receipt, send_receipt

__all__ = ["golden_city"]

EXPECTED_STATES = {
    ("SZF", "accepted"): 4, ("SZF", "rejected"): 1, ("SZF", "transferred"): 2, ("SZF", "registered"): 1,
    ("CZJ", "packaged"): 3,
}


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], env=ENV)


@pytest.fixture(scope="package")
def states_city(golden_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The city above (read it, do not change it: it is shared by the package's tests)."""
    root = tmp_path_factory.mktemp("inventory-city") / "city"
    shutil.copytree(golden_city, root, symlinks=True)
    (root / "exchange").mkdir()
    toml = root / "home" / "govarc.toml"
    text = toml.read_text(encoding="utf-8").replace(str(golden_city), str(root))
    head, sep, agencies = text.partition("[[agency]]")
    toml.write_text(head + ARCHIVES.format(url=(root / "exchange").as_uri()) + "\n" + sep + agencies, encoding="utf-8")
    ws = Workspace.open(root / "home")
    r = run(ws.home, "transfer", "run", "--agency", "SZF")
    assert r.exit_code == 0, r.output
    [bid] = batch_ids(ws)
    send_receipt(ws, make_receipt(ws, bid, reject=1))
    r = run(ws.home, "transfer", "receipts", "--agency", "SZF")
    assert r.exit_code == 0, r.output
    for i in (6, 7):
        make_doc(root / "drop" / "SZF", i, retention="D30" if i == 6 else "Y")
    assert ingest_into(ws, root / "drop" / "SZF").count("registered") == 2
    _package(ws, "SZF", zip=True, signer=load_agency_signer(ws, "SZF", Passphrase()))
    r = run(ws.home, "transfer", "run", "--agency", "SZF")
    assert r.exit_code == 0, r.output
    assert len(batch_ids(ws)) == 2
    make_doc(root / "drop" / "SZF", 8, sidecar={"题名": "=HYPERLINK(\"http://evil.example\",\"点击\")"})
    assert ingest_into(ws, root / "drop" / "SZF").count("registered") == 1
    return ws
