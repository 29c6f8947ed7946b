"""A city whose SZF has signed packages (three folders, two zips), an [archives] over a folder
transport, and the archives' key issued from the same test CA (to play the archives by hand)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from govarc.catalog.db import open_catalog
from govarc.cli import main
from govarc.sign.pki import Credentials, issue_agency, load_ca
from govarc.transfer.documents import (
    Check,
    CheckResult,
    PackageVerdict,
    Receipt,
    Verdict,
    receipt_to_xml,
    transfer_list_from_xml,
)
from govarc.sign.documents import sign_document
from govarc.transport import FolderTransport
from govarc.workspace import Workspace
from tests.catalog.conftest import PASSPHRASE, build_city

ARCHIVES = '\n[archives]\ncode = "DAG"\nname = "柳州市档案馆"\nurl = "{url}"\nreceipt_overdue_days = 14\n'
ENV = {"GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()}


@pytest.fixture(scope="package")
def golden_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("transfer-city")
    ws = build_city(root)
    issue_agency(load_ca(ws.pki_dir, PASSPHRASE), root / "archives-keys", "DAG", "柳州市档案馆", PASSPHRASE)
    issue_agency(load_ca(ws.pki_dir, PASSPHRASE), root / "stranger-keys", "DAX", "某档案馆", PASSPHRASE)
    return root


@pytest.fixture
def city(golden_city: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the city with ``[archives]`` naming the folder ``exchange/`` beside the home."""
    root = tmp_path / "city"
    shutil.copytree(golden_city, root, symlinks=True)
    (root / "exchange").mkdir()
    toml = root / "home" / "govarc.toml"
    text = toml.read_text(encoding="utf-8").replace(str(golden_city), str(root))
    head, sep, agencies = text.partition("[[agency]]")
    toml.write_text(head + ARCHIVES.format(url=(root / "exchange").as_uri()) + "\n" + sep + agencies, encoding="utf-8")
    return Workspace.open(root / "home")


def exchange(ws: Workspace) -> FolderTransport:
    return FolderTransport(ws.home.parent / "exchange")


def archives_creds(ws: Workspace, who: str = "archives") -> Credentials:
    from govarc.sign.pki import load_agency_credentials

    return load_agency_credentials(ws.home.parent / f"{who}-keys", PASSPHRASE)


def cli(ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(ws.home), *args], env=ENV)


def batch_ids(ws: Workspace) -> list[str]:
    with open_catalog(ws.catalog_path) as cat:
        return [str(r[0]) for r in cat.conn.execute("SELECT id FROM batches ORDER BY id")]


def catalog_state(ws: Workspace) -> tuple[list[tuple[object, ...]], ...]:
    with open_catalog(ws.catalog_path) as cat:
        return (cat.conn.execute("SELECT id, state FROM records ORDER BY id").fetchall(),
                cat.conn.execute("SELECT * FROM batches ORDER BY id").fetchall(),
                cat.conn.execute("SELECT * FROM batch_items ORDER BY batch_id, record_id").fetchall())


def make_receipt(ws: Workspace, batch_id: str, *, reject: int = 0,
                 change: Callable[[Receipt], Receipt] | None = None) -> Receipt:
    """The archives' answer to the published list of ``batch_id``: the first ``reject`` packages rejected."""
    t = exchange(ws)
    xml = t.read(f"inbound/SZF/{batch_id}/transfer-list.xml")
    tl = transfer_list_from_xml(xml, "list")
    import hashlib

    verdicts = []
    for i, p in enumerate(tl.packages):
        bad = i < reject
        checks = (Check("1-1", "固定化信息有效性检测", "真实性", CheckResult.FAILED if bad else CheckResult.PASSED,
                        "the payload digest differs" if bad else ""),
                  Check("4-2", "病毒检测", "安全性", CheckResult.NOT_PERFORMED, "clamscan is not installed"))
        verdicts.append(PackageVerdict(p.archival_code, p.key, p.sha256, Verdict.REJECTED if bad else Verdict.ACCEPTED,
                                       checks, None if bad else f"holdings/{p.sha256}.zip", p.size))
    r = Receipt(batch_id, "SZF", "DAG", "柳州市档案馆", hashlib.sha256(xml).hexdigest(),
                dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), tuple(verdicts))
    return change(r) if change else r


def publish_receipt(ws: Workspace, batch_id: str, data: bytes, sig: bytes) -> None:
    t = exchange(ws)
    t.publish(f"receipts/SZF/{batch_id}/receipt.xml", data, overwrite=True)
    t.publish(f"receipts/SZF/{batch_id}/receipt.xml.p7s", sig, overwrite=True)


def send_receipt(ws: Workspace, r: Receipt, who: str = "archives") -> bytes:
    data = receipt_to_xml(r)
    publish_receipt(ws, r.batch_id, data, sign_document(data, archives_creds(ws, who)))
    return data
