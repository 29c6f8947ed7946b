"""A city with something in every chart, built once per module through the real flows:

- SZF (five signed packages) transfers them to the archives (DAG) over a folder transport; the
  archives' signed receipt rejects one. CZJ gets a key, signs its three packages (``sign --pending``)
  and transfers them; all are accepted.
- SZF sends two documents through a folder hub: the first to 市直部门 (CZJ, DAJ, GAJ) with a
  deadline already past; CZJ signs for it, DAJ returns it, GAJ does not answer (overdue). The
  second goes to CZJ with no deadline and is not answered (delivered).
- SZF then ingests three more documents (not packaged), two of them with ingest warnings.

Tests that change the catalog take a copy (:func:`copy_city`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from govarc.catalog.identity import open_workspace_catalog
from govarc.cli import main
from govarc.exchange.documents import ExchangeReceipt, ReceiptAction
from govarc.exchange.send import parse_deadline, send
from govarc.sign.agency import workspace_policy
from govarc.sign.pki import issue_agency, load_ca
from govarc.workspace import Workspace
from tests.catalog.conftest import PASSPHRASE, build_city

ENV = {"GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()}
PEERS = {"CZJ": "柳州市财政局", "DAJ": "柳州市档案局", "GAJ": "柳州市公安局"}
CONFIG = """
[archives]
code = "DAG"
name = "柳州市档案馆"
url = "{archives}"

[exchange]
url = "{hub}"
duplicate_window_days = 30

[exchange.groups]
"市直部门" = ["CZJ", "DAJ", "GAJ"]
"""


def cli(ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(ws.home), *args], env=ENV)


def _configure(root: Path) -> Workspace:
    toml = root / "home" / "govarc.toml"
    text = toml.read_text(encoding="utf-8")
    head, sep, agencies = text.partition("[[agency]]")
    extra = CONFIG.format(archives=(root / "exchange").as_uri(), hub=(root / "hub").as_uri())
    archives, _, exchange = extra.partition("[exchange]")
    toml.write_text(head + archives + "\n" + sep + agencies + "\n[exchange]" + exchange, encoding="utf-8")
    return Workspace.open(root / "home")


def _transfer(ws: Workspace, root: Path, agency: str, reject: int) -> None:
    """``agency`` transfers what is due; the archives answer with a signed receipt rejecting the first ``reject``."""
    import hashlib

    from govarc.sign.documents import sign_document
    from govarc.sign.pki import load_agency_credentials
    from govarc.transfer.documents import (
        Check, CheckResult, PackageVerdict, Receipt, Verdict, receipt_to_xml, transfer_list_from_xml,
    )
    from govarc.transport import FolderTransport

    r = cli(ws, "transfer", "run", "--agency", agency)
    assert r.exit_code == 0 and "published" in r.output, r.output
    (bid,) = _batch_ids(ws, agency)
    t = FolderTransport(root / "exchange")
    xml = t.read(f"inbound/{agency}/{bid}/transfer-list.xml")
    verdicts = []
    for i, p in enumerate(transfer_list_from_xml(xml, "list").packages):
        bad = i < reject
        checks = (Check("1-1", "固定化信息有效性检测", "真实性", CheckResult.FAILED if bad else CheckResult.PASSED,
                        "the payload digest differs" if bad else ""),)
        verdicts.append(PackageVerdict(p.archival_code, p.key, p.sha256, Verdict.REJECTED if bad else Verdict.ACCEPTED,
                                       checks, None if bad else f"holdings/{p.sha256}.zip", p.size))
    receipt = Receipt(bid, agency, "DAG", "柳州市档案馆", hashlib.sha256(xml).hexdigest(),
                      dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), tuple(verdicts))
    data = receipt_to_xml(receipt)
    t.publish(f"receipts/{agency}/{bid}/receipt.xml", data, overwrite=True)
    t.publish(f"receipts/{agency}/{bid}/receipt.xml.p7s",
              sign_document(data, load_agency_credentials(root / "archives-keys", PASSPHRASE)), overwrite=True)
    got = cli(ws, "transfer", "receipts", "--agency", agency)
    assert got.exit_code == 0, got.output


def _batch_ids(ws: Workspace, agency: str) -> list[str]:
    """``agency``'s published batches awaiting a receipt."""
    from govarc.catalog.db import open_catalog

    with open_catalog(ws.catalog_path) as cat:
        return [str(r[0]) for r in cat.conn.execute(
            "SELECT id FROM batches WHERE agency=? AND state='published' ORDER BY id", (agency,))]


def _exchange(ws: Workspace, root: Path) -> None:
    from govarc.catalog.db import open_catalog
    from govarc.exchange.documents import exchange_receipt_to_xml, receipt_key
    from govarc.sign.agency import load_agency_signer
    from govarc.sign.documents import sign_document
    from govarc.sign.pki import load_agency_credentials
    from govarc.transport import FolderTransport
    from tests.catalog.conftest import Passphrase

    hub = FolderTransport(root / "hub")
    signer = load_agency_signer(ws, "SZF", Passphrase())
    with open_catalog(ws.catalog_path) as cat:
        codes = [str(r[0]) for r in cat.conn.execute("SELECT archival_code FROM records WHERE agency='SZF' ORDER BY id")]
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    with open_workspace_catalog(ws) as cat:
        first = send(ws, cat, ws.agency("SZF"), codes[3], hub, to=["市直部门"], cc=[],
                     deadline=parse_deadline("3d", past), signer=signer, policy=workspace_policy(ws), now=past)
        send(ws, cat, ws.agency("SZF"), codes[4], hub, to=["CZJ"], cc=[], deadline=None, signer=signer,
             policy=workspace_policy(ws), now=dt.datetime.now(dt.timezone.utc))
    for who, action, reason in (("CZJ", ReceiptAction.SIGNED_FOR, None), ("DAJ", ReceiptAction.RETURNED, "非本单位职责")):
        r = ExchangeReceipt(first.message_id, "SZF", who, PEERS[who], action, reason, first.package_sha256,
                            dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        data = exchange_receipt_to_xml(r)
        key = receipt_key("SZF", first.message_id, who)
        hub.publish(key, data, overwrite=True)
        hub.publish(key + ".p7s", sign_document(data, load_agency_credentials(root / "peers" / who, PASSPHRASE)),
                    overwrite=True)
    st = cli(ws, "exchange", "status", "--agency", "SZF")
    assert st.exit_code == 0, st.output


def _late_documents(ws: Workspace, root: Path) -> None:
    """Three more SZF documents, ingested but not packaged; two carry ingest warnings (their sidecars
    disagree with the printed document number or date)."""
    from tests.citykit import ingest_into, make_doc

    late = root / "late"
    make_doc(late, 41, sidecar={"文件编号": "柳政发〔2024〕99号"})
    make_doc(late, 42, sidecar={"文件编号": "柳政发〔2024〕98号", "日期": "2024-12-31"})
    make_doc(late, 43)
    report = ingest_into(ws, *sorted(late.glob("*.pdf")))
    assert not report.refused and len(report.outcomes) == 3, report.as_dict()


@pytest.fixture(scope="module")
def report_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of the built city (home/, exchange/, hub/); copy it before changing anything."""
    root = tmp_path_factory.mktemp("report-city")
    ws = build_city(root)
    ca = load_ca(ws.pki_dir, PASSPHRASE)
    issue_agency(ca, root / "archives-keys", "DAG", "柳州市档案馆", PASSPHRASE)
    for code, name in PEERS.items():
        issue_agency(ca, root / "peers" / code, code, name, PASSPHRASE)
    (root / "exchange").mkdir()
    (root / "hub").mkdir()
    ws = _configure(root)
    _transfer(ws, root, "SZF", reject=1)
    issue_agency(ca, ws.keys_dir("CZJ"), "CZJ", PEERS["CZJ"], PASSPHRASE)  # CZJ signs its backlog, then transfers
    signed = cli(ws, "sign", "--pending", "--agency", "CZJ")
    assert signed.exit_code == 0, signed.output
    _transfer(ws, root, "CZJ", reject=0)
    _exchange(ws, root)
    _late_documents(ws, root)
    return root


def copy_city(report_city: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the built city, its govarc.toml pointing into the copy."""
    root = tmp_path / "city"
    shutil.copytree(report_city, root, symlinks=True)
    toml = root / "home" / "govarc.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(str(report_city), str(root)), encoding="utf-8")
    return Workspace.open(root / "home")
