"""A city (SZF signed packages, CZJ) with [exchange] over a folder hub, and recipients' keys from the test CA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from govarc.catalog.db import open_catalog
from govarc.cli import main
from govarc.exchange.documents import ExchangeReceipt, exchange_receipt_to_xml, receipt_key
from govarc.sign.agency import load_agency_signer
from govarc.sign.pki import Credentials, issue_agency, load_agency_credentials, load_ca
from govarc.sign.signer import Signer
from govarc.sign.documents import sign_document
from govarc.transport import FolderTransport
from govarc.workspace import Workspace
from tests.catalog.conftest import PASSPHRASE, Passphrase, build_city

EXCHANGE = """
[exchange]
url = "{url}"
duplicate_window_days = 30

[exchange.groups]
"全市各委办局" = ["SZF", "CZJ", "DAJ", "GAJ"]
"市直部门" = ["CZJ", "DAJ"]
"""
ENV = {"GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()}
NAMES = {"CZJ": "柳州市财政局", "DAJ": "柳州市档案局", "GAJ": "柳州市公安局", "DAX": "冒名机构"}


@pytest.fixture(scope="package")
def golden_xcity(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exchange-city")
    ws = build_city(root)
    ca = load_ca(ws.pki_dir, PASSPHRASE)
    for code, name in NAMES.items():  # the recipients' own keys (in their own installations)
        issue_agency(ca, root / "peers" / code, code, name, PASSPHRASE)
    return root


@pytest.fixture
def xcity(golden_xcity: Path, tmp_path: Path) -> Workspace:
    """A fresh copy with [exchange] naming the folder ``hub/`` beside the home."""
    root = tmp_path / "xcity"
    shutil.copytree(golden_xcity, root, symlinks=True)
    (root / "hub").mkdir()
    toml = root / "home" / "govarc.toml"
    text = toml.read_text(encoding="utf-8").replace(str(golden_xcity), str(root))
    toml.write_text(text + EXCHANGE.format(url=(root / "hub").as_uri()), encoding="utf-8")
    return Workspace.open(root / "home")


def hub(ws: Workspace) -> FolderTransport:
    return FolderTransport(ws.home.parent / "hub")


def hub_keys(ws: Workspace) -> list[str]:
    return hub(ws).list("")


def peer(ws: Workspace, code: str) -> Credentials:
    return load_agency_credentials(ws.home.parent / "peers" / code, PASSPHRASE)


def szf_signer(ws: Workspace) -> Signer:
    signer = load_agency_signer(ws, "SZF", Passphrase())
    assert signer is not None
    return signer


def cli(ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(ws.home), *args], env=ENV)


def szf_codes(ws: Workspace) -> list[str]:
    """SZF's packaged records: three folders first, then two zips."""
    with open_catalog(ws.catalog_path) as cat:
        return [str(r[0]) for r in cat.conn.execute(
            "SELECT archival_code FROM records WHERE agency='SZF' ORDER BY id")]


def exchange_rows(ws: Workspace) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with open_catalog(ws.catalog_path) as cat:
        return (cat.conn.execute("SELECT * FROM messages ORDER BY id").fetchall(),
                cat.conn.execute("SELECT * FROM message_recipients ORDER BY message_id, position").fetchall())


def publish_receipt(ws: Workspace, r: ExchangeReceipt, signed_by: str | None = None, data: bytes | None = None,
                    slot: str | None = None) -> bytes:
    """Write a receipt to the hub as recipient ``slot`` (default: the receipt's) would, signed by ``signed_by``."""
    data = data if data is not None else exchange_receipt_to_xml(r)
    key = receipt_key(r.sender_code, r.message_id, slot or r.recipient_code)
    t = hub(ws)
    t.publish(key, data, overwrite=True)
    t.publish(key + ".p7s", sign_document(data, peer(ws, signed_by or r.recipient_code)), overwrite=True)
    return data
