"""`govarc send`: one package stored once on the hub, one signed envelope per recipient, idempotent retries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from govarc.catalog.db import open_catalog
from govarc.errors import InvalidInputError
from govarc.exchange.documents import Role, Urgency, envelope_from_xml, envelope_key, package_key
from govarc.exchange.send import parse_deadline, send
from govarc.transport import FolderTransport, TransportError
from govarc.transport.base import PutResult, Readable
from govarc.workspace import Workspace
from tests.exchange.sendkit import (  # noqa: F401  (fixtures)
    cli, exchange_rows, golden_xcity, hub, hub_keys, szf_codes, szf_signer, xcity,
)


def envelopes(ws: Workspace) -> list[str]:
    return [k for k in hub_keys(ws) if k.startswith("exchange/inbox/")]


def test_send_to_a_group_stores_the_package_once_and_signs_each_envelope(xcity: Workspace, tmp_path: Path) -> None:
    code = szf_codes(xcity)[3]  # a zip package
    r = cli(xcity, "send", code, "--agency", "SZF", "--to", "市直部门", "--cc", "GAJ", "--urgency", "加急",
            "--deadline", "3d", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    mid = rep["message_id"]
    assert mid.startswith("SZF-") and rep["recipients"] == [
        {"code": "CZJ", "role": "主送"}, {"code": "DAJ", "role": "主送"}, {"code": "GAJ", "role": "抄送"}]
    t = hub(xcity)
    objects = [k for k in hub_keys(xcity) if k.startswith("exchange/objects/")]
    assert objects == [package_key(rep["package_sha256"])]
    assert t.digest(objects[0]) == rep["package_sha256"]
    assert sorted(envelopes(xcity)) == sorted(
        [envelope_key(c, mid) for c in ("CZJ", "DAJ", "GAJ")] + [envelope_key(c, mid) + ".p7s" for c in ("CZJ", "DAJ", "GAJ")])
    e = envelope_from_xml(t.read(envelope_key("GAJ", mid)), "GAJ")
    assert (e.message_id, e.sender_code, e.recipient_code, e.role, e.urgency) == (mid, "SZF", "GAJ", Role.CC, Urgency.PRIORITY)
    assert e.to == ("CZJ", "DAJ") and e.cc == ("GAJ",) and e.archival_code == code and e.deadline
    assert e.package_sha256 == rep["package_sha256"] and e.package_size == rep["package_size"] and e.package_zip
    # an independent checker: openssl verifies the sender's signature over the envelope
    xml, sig = tmp_path / "e.xml", tmp_path / "e.p7s"
    xml.write_bytes(t.read(envelope_key("CZJ", mid)))
    sig.write_bytes(t.read(envelope_key("CZJ", mid) + ".p7s"))
    v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content", str(xml),
                        "-CAfile", str(xcity.pki_dir / "ca.pem"), "-purpose", "any", "-out", "/dev/null"],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    msgs, rcpts = exchange_rows(xcity)
    assert [(m[0], m[9]) for m in msgs] == [(mid, "sent")]
    assert [(x[1], x[2], x[4]) for x in rcpts] == [("CZJ", "主送", "delivered"), ("DAJ", "主送", "delivered"),
                                                   ("GAJ", "抄送", "delivered")]


def test_a_folder_package_is_zipped_deterministically_and_stored_once_across_messages(xcity: Workspace) -> None:
    code = szf_codes(xcity)[0]  # a folder package
    first = json.loads(cli(xcity, "send", code, "--agency", "SZF", "--to", "全市各委办局", "--json").output)
    assert [x["code"] for x in first["recipients"]] == ["CZJ", "DAJ", "GAJ"]  # the sender left out of its group
    assert first["package_written"] is True
    obj = hub(xcity).root / package_key(first["package_sha256"])
    with zipfile.ZipFile(obj) as zf:
        assert all(n.startswith(f"{code}/") for n in zf.namelist())
    again = json.loads(cli(xcity, "send", code, "--agency", "SZF", "--to", "CZJ", "--json").output)
    assert again["message_id"] != first["message_id"]
    assert again["package_sha256"] == first["package_sha256"] and again["package_written"] is False
    assert len([k for k in hub_keys(xcity) if k.startswith("exchange/objects/")]) == 1
    assert not any((xcity.home / "exchange-outgoing" / "SZF").iterdir())


@pytest.mark.parametrize("to,cc", [
    (["XYZ"], []),
    (["市直部"], []),  # a group's name mistyped
    (["CZJ", "NOPE"], []),
    (["CZJ"], ["全市"]),
    (["../CZJ"], []),
    (["czj"], []),  # codes are exact
])
def test_an_unknown_recipient_or_group_is_refused_before_anything_is_written(xcity: Workspace, to: list[str],
                                                                            cc: list[str]) -> None:
    args = [a for c in to for a in ("--to", c)] + [a for c in cc for a in ("--cc", c)]
    r = cli(xcity, "send", szf_codes(xcity)[3], "--agency", "SZF", *args)
    assert r.exit_code == 3, r.output
    assert "EXCHANGE_UNKNOWN_RECIPIENT" in r.output and "nothing was sent" in r.output
    assert hub_keys(xcity) == [] and exchange_rows(xcity) == ([], [])


def test_bad_sends_are_refused_with_exit_3(xcity: Workspace, tmp_path: Path) -> None:
    code = szf_codes(xcity)[3]
    fifo = tmp_path / "pkg.zip"
    os.mkfifo(fifo)
    link = tmp_path / "link.zip"
    link.symlink_to(xcity.home / "store" / "SZF" / f"{code}.zip")
    cases = [
        (["SZF"], code, "itself"),
        (["CZJ"], str(fifo), "regular file"),
        (["CZJ"], str(link), "symbolic link"),
        (["CZJ"], "0012-WS·2099-Y-BGS-9999", "neither an archival code"),
    ]
    for to, pkg, words in cases:
        r = cli(xcity, "send", pkg, "--agency", "SZF", *[a for c in to for a in ("--to", c)])
        assert r.exit_code == 3 and words in r.output, (pkg, r.output)
    outside = tmp_path / "copy.zip"
    outside.write_bytes((xcity.home / "store" / "SZF" / f"{code}.zip").read_bytes())
    r = cli(xcity, "send", str(outside), "--agency", "SZF", "--to", "CZJ")
    assert r.exit_code == 3 and "--title" in r.output
    for deadline in ("yesterday", "0d", "2001-01-01", "2026-13-40"):
        r = cli(xcity, "send", code, "--agency", "SZF", "--to", "CZJ", "--deadline", deadline)
        assert r.exit_code == 3 and "--deadline" in r.output, r.output
    assert hub_keys(xcity) == [] and exchange_rows(xcity) == ([], [])
    r = cli(xcity, "send", str(outside), "--agency", "SZF", "--to", "CZJ", "--title", "关于外部文件的通知")
    assert r.exit_code == 0, r.output


def test_parse_deadline() -> None:
    now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    def at(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(parse_deadline(text, now))

    assert at("3d") == now + dt.timedelta(days=3) and at("3d").tzinfo is not None
    assert at("12h") == now + dt.timedelta(hours=12)
    assert at("2w") == now + dt.timedelta(weeks=2)
    assert at("2026-12-05").date() == dt.date(2026, 12, 5) and at("2026-12-05").time() == dt.time(23, 59, 59)
    for bad in ("", "3", "d3", "-3d", "3y", "99999d", "2026-11-28"):
        with pytest.raises(InvalidInputError):
            parse_deadline(bad, now)


class Flaky(FolderTransport):
    """A folder hub whose puts fail after ``budget`` of them (a crash or a dropped connection)."""

    def __init__(self, root: Path, budget: int) -> None:
        super().__init__(root)
        self.budget = budget

    def put(self, key: str, stream: Readable, size: int | None = None, sha256: str | None = None, **kw: object) -> PutResult:
        if self.budget <= 0:
            raise TransportError("the connection dropped", key)
        self.budget -= 1
        return super().put(key, stream, size, sha256, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("budget", [0, 1, 2, 3, 4, 6])
def test_a_send_interrupted_after_k_puts_converges_on_rerun(xcity: Workspace, budget: int) -> None:
    from govarc.catalog.identity import open_workspace_catalog
    from govarc.sign.agency import workspace_policy

    code = szf_codes(xcity)[0]
    szf = xcity.agency("SZF")
    signer = szf_signer(xcity)
    with open_workspace_catalog(xcity) as cat:
        with pytest.raises(TransportError):
            send(xcity, cat, szf, code, Flaky(hub(xcity).root, budget), to=["市直部门"], cc=["GAJ"], signer=signer,
                 policy=workspace_policy(xcity))
        msgs, _ = exchange_rows(xcity)
        assert len(msgs) == 1 and msgs[0][9] == "sending"  # recorded before anything was written
        mid = str(msgs[0][0])
        rep = send(xcity, cat, szf, code, hub(xcity), to=["市直部门"], cc=["GAJ"], signer=signer,
                   policy=workspace_policy(xcity))
    assert rep.resumed and rep.message_id == mid
    assert rep.envelopes_written + rep.envelopes_already == 3
    keys = hub_keys(xcity)
    assert len([k for k in keys if k.startswith("exchange/objects/")]) == 1
    assert sorted(envelopes(xcity)) == sorted([envelope_key(c, mid) + s for c in ("CZJ", "DAJ", "GAJ") for s in ("", ".p7s")])
    msgs, rcpts = exchange_rows(xcity)
    assert [(m[0], m[9]) for m in msgs] == [(mid, "sent")] and {x[4] for x in rcpts} == {"delivered"}
    # each published envelope verifies and names the package on the hub
    t = hub(xcity)
    for c in ("CZJ", "DAJ", "GAJ"):
        e = envelope_from_xml(t.read(envelope_key(c, mid)), c)
        assert e.message_id == mid and t.digest(e.package_key) == e.package_sha256
    # and a third run is a new message only because the first is finished
    with open_catalog(xcity.catalog_path) as cat:
        assert cat.conn.execute("SELECT COUNT(*) FROM message_recipients").fetchone()[0] == 3


@pytest.mark.parametrize("toml,words", [
    ('\n[exchange]\nurl = "hub"\nwindow = 3\n', "unknown key `window`"),
    ('\n[exchange]\nduplicate_window_days = 30\n', "exchange.url"),
    ('\n[exchange]\nurl = "hub"\nduplicate_window_days = 0\n', "duplicate_window_days"),
    ('\n[exchange]\nurl = "hub"\n[exchange.groups]\n"全市" = ["CZJ", "../x"]\n', "not an agency code"),
    ('\n[exchange]\nurl = "hub"\n[exchange.groups]\n"全市" = []\n', "non-empty list"),
    ('\n[exchange]\nurl = "hub"\n[exchange.groups]\n"全市" = ["CZJ", "CZJ"]\n', "listed twice"),
    ('\n[exchange]\nurl = "hub"\n[exchange.groups]\n"CZJ" = ["DAJ"]\n', "a group needs a name of its own"),
    ('\n[exchange]\nurl = "hub"\n[exchange.transport]\nhost = "x"\n', "unknown key `host`"),
])
def test_a_bad_exchange_config_is_a_config_error(xcity: Workspace, toml: str, words: str) -> None:
    path = xcity.home / "govarc.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("\n[exchange]")] + toml, encoding="utf-8")
    r = cli(xcity, "send", szf_codes(xcity)[3], "--agency", "SZF", "--to", "CZJ")
    assert r.exit_code == 6 and words in r.output, r.output
