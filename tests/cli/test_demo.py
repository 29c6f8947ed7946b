"""`make demo`'s sequence, run through the CLI in a temporary folder: the sample city's agencies
transfer to the sample archives over a folder transport, the archives accept, the agencies import
the receipts; then SZF sends a document through a folder hub to CZJ (主送) and a group (抄送), the
recipients receive it (CZJ through its OA drop folder), CZJ signs for it, DAJ returns it; running it
all again changes nothing. A check keeps the sequence and the Makefile's `demo` recipe in step."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from govarc.cli import main

ROOT = Path(__file__).resolve().parents[2]
AGENCIES = ("SZF", "CZJ", "DAJ")
ENV = {"GOVARC_KEY_PASSPHRASE": "demo-only-passphrase"}
DOC = "0012-WS·2024-D30-BGS-0002"  # 柳州市人民政府办公室关于进一步加强全市公文交换管理工作的通知
REASON = "不属于本单位办理范围，请改送市政务服务中心"
STATUS = ("--json", "exchange", "status", "--agency", "SZF")  # what the recipe reads SZF's message from

# (side, arguments): the Makefile's demo recipe, with `test -f … ||` guards written as "once"
SEQUENCE: list[tuple[str, tuple[str, ...]]] = [
    ("agency", ("init", "--config", str(ROOT / "samples" / "city.toml"))),
    ("agency", ("pki", "init-ca", "--name", "柳州市 演示CA (demo only)")),
    *[("agency", ("pki", "issue", code)) for code in AGENCIES],
    ("archives", ("init", "--archives", "DAG", "--name", "柳州市档案馆", "--inbox", "../demo-exchange")),
    ("archives", ("pki", "init-ca", "--name", "柳州市档案馆 演示CA (demo only)")),
    ("archives", ("pki", "issue", "DAG")),
    ("archives", ("--quiet", "pki", "trust", "add", "{agency}/pki/ca.pem")),
    ("agency", ("--quiet", "pki", "trust", "add", "{archives}/pki/ca.pem")),
    ("agency", ("transfer", "configure", "--archives", "DAG", "--name", "柳州市档案馆", "--url", "../demo-exchange")),
    ("agency", ("exchange", "configure", "--url", "../demo-hub", "--group", "全市各委办局=CZJ,DAJ",
                "--oa-drop", "CZJ=../demo-oa/CZJ")),
    ("agency", ("--verbose", "nightly")),
    ("archives", ("--verbose", "nightly")),
    ("agency", ("transfer", "receipts")),
    ("agency", ("status",)),
    ("agency", ("transfer", "status", "--summary")),
    # the exchange: `send` only when SZF has no message of DOC yet (the status before it says)
    ("agency", STATUS),
    ("agency", ("send", DOC, "--agency", "SZF", "--to", "CZJ", "--cc", "全市各委办局", "--urgency", "加急",
                "--deadline", "7d")),
    ("agency", ("receive",)),
    ("agency", STATUS),  # {mid}: the id of SZF's message of DOC
    ("agency", ("sign-for", "{mid}", "--agency", "CZJ")),
    ("agency", ("return", "{mid}", "--agency", "DAJ", "--reason", REASON)),
    ("agency", ("exchange", "status", "--agency", "SZF")),
    ("agency", ("inventory", "--format", "xlsx", "--out", "{build}/demo-inventory.xlsx", "--force")),
    ("agency", ("inventory", "--format", "csv", "--out", "{build}/demo-inventory.csv", "--force")),
    ("agency", ("--quiet", "report", "--out", "{agency}/../demo-report", "--force")),
]
ONCE = {("pki", "init-ca"), ("pki", "issue")}  # guarded by `test -f` in the Makefile


def words(args: tuple[str, ...]) -> tuple[str, ...]:
    """The command's words (no options, no values): ("pki", "trust", "add")."""
    out = []
    for a in args:
        if a.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", a):
            break
        out.append(a)
    return tuple(out)


def test_the_sequence_is_the_makefiles_demo_recipe() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = text[text.index("\ndemo: "):].split("\n\n", 1)[0]
    found = []
    for side, rest in re.findall(r"\$\((GOVARC|ARCHIVES)\)[ \t]+([^;&|\n]*)", recipe):
        args = tuple(a for a in rest.split() if not a.startswith("--") or a in ("--quiet", "--verbose"))
        found.append(("agency" if side == "GOVARC" else "archives", words(tuple(a for a in args if not a.startswith("--")))))
    expected = []
    for side, args in SEQUENCE:
        w = words(tuple(a for a in args if not a.startswith("--")))
        if w == ("pki", "issue") and args[-1] in AGENCIES[1:]:
            continue  # one `for` line in the Makefile
        expected.append((side, w))
        if w == ("transfer", "status"):
            expected.append(("agency", ("verify",)))  # then a line verifies every package
    assert found == expected
    # the document, the group, the reason and the OA drop folder are the Makefile's
    for value in (DOC, REASON, "DEMO_GROUP := 全市各委办局", "--oa-drop CZJ=../demo-oa/CZJ", "--url ../demo-hub",
                  "--to CZJ --cc $(DEMO_GROUP) --urgency 加急 --deadline 7d"):
        assert value in text, value


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file below ``roots`` but the logs and the lock, with its digest (what a re-run must not change)."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root.parent).as_posix()
            if p.is_file() and "/logs/" not in rel and not rel.endswith(".lock") and "catalog.sqlite" not in rel:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def catalog_rows(db: Path, *tables: str) -> list[list[tuple[object, ...]]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables]  # noqa: S608


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    from click.testing import CliRunner

    build = tmp_path_factory.mktemp("build")
    homes = {"agency": build / "demo", "archives": build / "demo-archives"}
    for folder in ("demo-exchange", "demo-hub", "demo-oa/CZJ"):  # the recipe's `mkdir -p`
        (build / folder).mkdir(parents=True)
    runner = CliRunner()

    def run_all() -> dict[tuple[str, tuple[str, ...]], object]:
        results = {}
        mid = ""  # the id of SZF's message of DOC, from the last exchange status (the recipe's MESSAGE_OF)
        for side, args in SEQUENCE:
            args = tuple(a.format(agency=homes["agency"], archives=homes["archives"], mid=mid, build=build) for a in args)
            if words(args) in ONCE and args[:2] == ("pki", "init-ca") and (homes[side] / "pki" / "ca.pem").exists():
                continue
            if words(args) == ("pki", "issue") and (homes[side] / "keys" / args[-1] / "cert.pem").exists():
                continue
            if args[0] == "send" and mid:
                continue  # sent already
            r = runner.invoke(main, ["--home", str(homes[side]), *args], env=ENV)
            assert r.exit_code == 0, (side, args, r.output)
            results[(side, args)] = r
            if args == STATUS:
                mid = " ".join([m["id"] for m in json.loads(r.stdout)["messages"] if m["archival_code"] == DOC][:1])
        return results

    first = run_all()
    return build, [first, run_all]


def test_the_demo_transfers_accepts_and_imports_every_agencys_receipt(demo) -> None:
    build, (first, _) = demo
    status = json.loads(CliRunnerJson(build / "demo", "transfer", "status"))
    per_agency = {s["agency"]: (len(s["batches"]), s["due"], s["batches"][0]["counts"]) for s in status}
    # the sample city sends each agency's packages in one batch; the archives keep PDF/A, PDF, OFD,
    # TIFF, JPEG and PNG for the long term, so each agency's one DOCX record comes back rejected (3-2)
    assert per_agency == {
        "SZF": (1, 0, {"pending": 0, "accepted": 11, "duplicate": 0, "rejected": 1}),
        "CZJ": (1, 0, {"pending": 0, "accepted": 10, "duplicate": 0, "rejected": 1}),
        "DAJ": (1, 0, {"pending": 0, "accepted": 8, "duplicate": 0, "rejected": 1}),
    }
    assert len(list((build / "demo-archives" / "holdings").rglob("*.zip"))) == 29
    reasons = [json.loads(p.read_text(encoding="utf-8")) for p in (build / "demo-archives" / "rejected").rglob("*.reasons.json")]
    assert sorted(r["agency"] for r in reasons) == sorted(AGENCIES)
    assert all([c["code"] for c in r["failed"]] == ["3-2"] and ".docx" in r["failed"][0]["message"] for r in reasons)
    summary = first[("agency", ("transfer", "status", "--summary"))].stdout
    assert re.search(r"SZF\s*│\s*0\s*│\s*1\s*│\s*12\s*│\s*11\s*│\s*0\s*│\s*1\s*│\s*0\s*│\s*0", summary), summary
    # the receipts verify with stock OpenSSL against the archives' CA, the lists against the agencies'
    exchange = build / "demo-exchange"
    for code in AGENCIES:
        for kind, name, ca in (("receipts", "receipt.xml", "demo-archives"), ("inbound", "transfer-list.xml", "demo")):
            [doc] = (exchange / kind / code).glob(f"*/{name}")
            r = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", f"{doc}.p7s",
                                "-content", str(doc), "-CAfile", str(build / ca / "pki" / "ca.pem"), "-purpose", "any",
                                "-out", "/dev/null"], capture_output=True)
            assert r.returncode == 0, r.stderr


def the_message(build: Path) -> dict[str, Any]:
    doc = json.loads(CliRunnerJson(build / "demo", "exchange", "status", "--agency", "SZF"))
    [message] = doc["messages"]
    assert doc["refused"] == [] and doc["overdue"] == 0
    return message


def test_the_demo_sends_a_document_and_its_recipients_answer(demo) -> None:
    build, (first, _) = demo
    m = the_message(build)
    mid = m["id"]
    assert (m["archival_code"], m["urgency"], m["state"]) == (DOC, "加急", "sent")
    assert m["title"] == "柳州市人民政府办公室关于进一步加强全市公文交换管理工作的通知" and m["deadline"]
    # CZJ 主送 signed for it; the group's other member, DAJ, 抄送 returned it with the reason
    assert [(r["recipient"], r["role"], r["state"], r["reason"]) for r in m["recipients"]] == [
        ("CZJ", "主送", "signed_for", None), ("DAJ", "抄送", "returned", REASON)]
    text = first[("agency", ("exchange", "status", "--agency", "SZF"))].stdout
    assert "CZJ  主送  signed_for" in text and f"DAJ  抄送  returned  ({REASON})" in text, text
    # the package is on the hub once; CZJ's OA drop folder holds it and its JSON; DAJ keeps it as 收文
    hub = build / "demo-hub" / "exchange"
    [obj] = [p for p in (hub / "objects").rglob("*") if p.is_file()]
    assert hashlib.sha256(obj.read_bytes()).hexdigest() == m["package_sha256"]
    drop = build / "demo-oa" / "CZJ"
    assert sorted(p.name for p in drop.iterdir()) == [f"{mid}.json", f"{mid}.zip"]
    assert (drop / f"{mid}.zip").read_bytes() == obj.read_bytes()
    meta = json.loads((drop / f"{mid}.json").read_text(encoding="utf-8"))
    assert (meta["message_id"], meta["sender_code"], meta["recipient_code"], meta["role"]) == (mid, "SZF", "CZJ", "主送")
    assert (build / "demo" / "incoming" / "DAJ" / f"{mid}.zip").read_bytes() == obj.read_bytes()
    # 收文 gets no archival code of the recipient: the records are the 32 the agencies archived
    [records] = catalog_rows(build / "demo" / "catalog.sqlite", "records")
    assert len(records) == 32 and [r[1] for r in records if r[2] == DOC] == ["SZF"]
    # each answer is a receipt signed by its recipient, verified with stock OpenSSL against the demo CA
    for code in ("CZJ", "DAJ"):
        doc = hub / "receipts" / "SZF" / mid / f"{code}.xml"
        r = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", f"{doc}.p7s",
                            "-content", str(doc), "-CAfile", str(build / "demo" / "pki" / "ca.pem"), "-purpose", "any",
                            "-out", "/dev/null"], capture_output=True)
        assert r.returncode == 0, r.stderr
    # the whole round went by the recipe: sent, received, answered
    assert "1 主送, 1 抄送" in first[("agency", ("send", DOC, "--agency", "SZF", "--to", "CZJ", "--cc", "全市各委办局",
                                               "--urgency", "加急", "--deadline", "7d"))].stdout
    received = first[("agency", ("receive",))].stdout
    assert f"CZJ: {mid}: handed_over" in received and f"DAJ: {mid}: received" in received, received


def test_the_demo_ends_with_the_inventory_of_every_record(demo) -> None:
    import openpyxl

    build, (first, _) = demo
    r = first[("agency", ("inventory", "--format", "xlsx", "--out", f"{build}/demo-inventory.xlsx", "--force"))]
    assert f"32 records 件, 40 files, 0.000 GB → {build}/demo-inventory.xlsx" in r.stdout
    rows = list(openpyxl.load_workbook(build / "demo-inventory.xlsx")["目录"].iter_rows(values_only=True))
    assert rows[-1][:3] == ("总计 Total", None, 32)
    states = [row[12] for row in rows[1:33]]
    assert states.count("已接收 accepted") == 29 and states.count("已退回 rejected") == 3
    assert (build / "demo-inventory.csv").read_bytes().startswith("\ufeff机构 Agency,".encode())


def test_running_the_demo_again_changes_nothing(demo) -> None:
    build, (_, run_all) = demo
    roots = (build / "demo", build / "demo-archives", build / "demo-exchange", build / "demo-hub", build / "demo-oa")
    before = snapshot(*roots)
    tables = ("records", "batches", "batch_items", "messages", "message_recipients", "incoming")
    rows = (catalog_rows(build / "demo" / "catalog.sqlite", *tables),
            catalog_rows(build / "demo-archives" / "catalog.sqlite", "accept_batches", "accept_items", "holdings"))
    again = run_all()
    assert snapshot(*roots) == before
    assert (catalog_rows(build / "demo" / "catalog.sqlite", *tables),
            catalog_rows(build / "demo-archives" / "catalog.sqlite", "accept_batches", "accept_items", "holdings")) == rows
    assert "DAG: 0 batches answered" in again[("archives", ("--verbose", "nightly"))].stdout
    assert again[("agency", ("transfer", "receipts"))].stdout == ""
    # no second message: the send was skipped; nothing new to receive; the same answers again
    assert not any(args[0] == "send" for _, args in again)
    assert len(catalog_rows(build / "demo" / "catalog.sqlite", "messages")[0]) == 1
    assert again[("agency", ("receive",))].stdout == "SZF: nothing new\nCZJ: nothing new\nDAJ: nothing new\n"
    assert sum("already given" in r.stdout for (_, args), r in again.items() if args[0] in ("sign-for", "return")) == 2


def CliRunnerJson(home: Path, *args: str) -> str:  # noqa: N802
    from click.testing import CliRunner

    r = CliRunner().invoke(main, ["--home", str(home), "--json", *args], env=ENV)
    assert r.exit_code == 0, r.output
    return r.stdout
