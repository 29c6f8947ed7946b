"""Faults of the document exchange over a real SFTP and a real S3 hub.

``send`` and ``receive`` SIGKILLed at seeded points (a subprocess that kills itself on the N-th call
of the steps that change something, :mod:`tests.e2e.killer`) converge on re-run: the same message
id, the package once on the hub, every envelope once, no temporaries; every message kept, handed to
the OA drop folder and signed for exactly once. The server killed mid-send is one line and exit 5,
and the next run completes the same message. Wrong credentials or an unknown host key: exit 5, one
line, nothing written to the catalog or the hub.
"""

from __future__ import annotations

import json
import random
import signal
from pathlib import Path
from typing import Any

import pytest

from govarc.exchange.documents import envelope_key, package_key, receipt_key
from govarc.transport.s3 import S3Transport
from govarc.transport.sftp import SFTPTransport
from tests.e2e.conftest import Exchange
from tests.e2e.exchangekit import (  # noqa: F401  (fixtures)
    GROUP, RECIPIENTS, SENDER, XCity, golden_xchange, xcity,
)
from tests.e2e.test_faults import _KillingReader, _kill_server, one_line_exit_5, set_option
from tests.servers.sshd import keygen

FOLDER_PACKAGE = 0  # SZF's first record, a folder package: zipped into exchange-outgoing/ before it is sent
SEND = ("send", "--agency", SENDER, "--to", "CZJ", "--cc", GROUP)


def transport_class(city: XCity) -> str:
    return "govarc.transport.sftp:SFTPTransport" if city.exchange.kind == "sftp" else "govarc.transport.s3:S3Transport"


def killed(city: XCity, args: tuple[str, ...], at: int, targets: tuple[str, ...]) -> None:
    """Run ``govarc ARGS`` in a process of its own that SIGKILLs itself at the ``at``-th step; it must die so."""
    p = city.popen(*args, kill_at=at, targets=targets)
    out, err = p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL, (at, p.returncode, out, err)


def messages(city: XCity) -> list[tuple[str, str]]:
    return [(str(m[0]), str(m[9])) for m in city.catalog()["messages"]]


def assert_sent_once(city: XCity, mid: str, *receipts: str) -> str:
    """One message ``mid``, sent and delivered to the four; on the hub exactly its package, its envelopes
    (and the given recipients' receipts), nothing else: no temporaries, no unfinished uploads."""
    cat = city.catalog()
    assert [(str(m[0]), str(m[9])) for m in cat["messages"]] == [(mid, "sent")]
    assert sorted((str(r[1]), str(r[4])) for r in cat["message_recipients"]) == [(c, "delivered") for c in RECIPIENTS]
    sha = str(cat["messages"][0][4])
    expected = [package_key(sha)] + [envelope_key(c, mid) + s for c in RECIPIENTS for s in ("", ".p7s")]
    expected += [receipt_key(SENDER, mid, c) + s for c in receipts for s in ("", ".p7s")]
    assert city.raw() == sorted(expected)
    assert city.local_files()["outgoing"] in ([], [SENDER])  # the folder package's zip is gone once sent
    return sha


# --- send killed --------------------------------------------------------------------------------

SEND_STEPS = 11
"""Steps of a send to the four that change something: record the message, put the package, per recipient put
its envelope then its signature, mark the message sent (marking recipients delivered is not counted: how many
are marked at once is the sender's business)."""
SEND_TARGETS = ("govarc.catalog.messages:create_message", "{cls}.put", "govarc.catalog.messages:set_sent")
SEND_POINTS = sorted(random.Random(26).sample(range(1, SEND_STEPS + 1), 3))
SEND_CASES = [(kind, point) for kind in ("sftp", "s3") for point in ["mid-upload", *SEND_POINTS]]


@pytest.mark.parametrize("exchange, point", SEND_CASES, indirect=["exchange"], ids=[f"{k}-{p}" for k, p in SEND_CASES])
def test_send_killed_at_a_seeded_point_converges_on_rerun(xcity: XCity, point: Any) -> None:
    code = xcity.package_code(FOLDER_PACKAGE)
    if point == "mid-upload":  # the first block of the package read, not yet stored
        killed(xcity, (*SEND[:1], code, *SEND[1:]), 2, ("stream",))
    else:
        cls = transport_class(xcity)
        killed(xcity, (*SEND[:1], code, *SEND[1:]), point, tuple(t.format(cls=cls) for t in SEND_TARGETS))
    recorded = messages(xcity)
    assert len(recorded) <= 1 and all(state == "sending" for _, state in recorded)  # chosen before any write
    if point != "mid-upload":  # killed where meant: the steps before it done, none after
        assert len(recorded) == (point > 1)
        assert len(xcity.raw()) == max(0, point - 2)  # the package, then envelopes and signatures one by one
    rep = xcity.send(code)
    if recorded:
        assert (rep["message_id"], rep["resumed"]) == (recorded[0][0], True)
    assert rep["envelopes_written"] + rep["envelopes_already"] == 4
    assert_sent_once(xcity, rep["message_id"])
    # every recipient receives it once, verified
    got = xcity.ok("receive")
    assert {a["agency"]: [(m["message_id"], m["state"]) for m in a["messages"]] for a in got["agencies"]} == {
        SENDER: [], "CZJ": [(rep["message_id"], "handed_over")], "DAJ": [(rep["message_id"], "signed_for")],
        "GAJ": [(rep["message_id"], "received")], "WJW": [(rep["message_id"], "received")]}
    # the same command once more is a new message: the first one was finished
    assert xcity.send(code)["message_id"] != rep["message_id"]


# --- receive killed ------------------------------------------------------------------------------

RECEIVE_STEPS = 32
"""Steps of receiving two messages by the four: per message, CZJ downloads, keeps, registers, places two files
in its OA drop folder and records the hand-over; DAJ downloads, keeps, registers and records its 签收; GAJ and
WJW download, keep and register."""
RECEIVE_POINTS = sorted(random.Random(66).sample(range(1, RECEIVE_STEPS + 1), 3))
RECEIVE_CASES = [(kind, point) for kind in ("sftp", "s3") for point in RECEIVE_POINTS]


@pytest.mark.parametrize("exchange, point", RECEIVE_CASES, indirect=["exchange"],
                         ids=[f"{k}-{p}" for k, p in RECEIVE_CASES])
def test_receive_killed_at_a_seeded_point_loses_and_duplicates_nothing(xcity: XCity, point: int) -> None:
    mids = sorted(xcity.send(xcity.package_code(n))["message_id"] for n in (3, 4))
    cls = transport_class(xcity)
    killed(xcity, ("receive",), point, (
        f"{cls}.download", "govarc.exchange.receive:_keep", "govarc.catalog.incoming:register",
        "govarc.exchange.oa:_place", "govarc.catalog.incoming:record_hand_over",
        "govarc.catalog.incoming:record_answer"))
    registered = len([s for s in (3, 9, 15, 19, 23, 26, 29, 32) if s < point])  # killed where meant
    assert len(xcity.incoming()) == registered
    rerun = xcity.cli("receive")
    assert rerun.exit_code == 0, rerun.output
    assert xcity.incoming() == sorted((m, a, s) for m in mids for a, s in (
        ("CZJ", "handed_over"), ("DAJ", "signed_for"), ("GAJ", "received"), ("WJW", "received")))
    # the OA got each message once, whole, and no temporaries
    files = xcity.local_files()
    assert files["oa"] == sorted(f"{m}.{x}" for m in mids for x in ("json", "zip"))
    for m in mids:
        meta = json.loads((xcity.oa_drop / f"{m}.json").read_text(encoding="utf-8"))
        assert meta["message_id"] == m and meta["recipient_code"] == "CZJ"
    kept = {"zip", "json", "envelope.xml", "envelope.xml.p7s"}
    assert files["incoming"] == sorted(
        list(RECIPIENTS) + [f"{a}/{m}.{x}" for m in mids for a in RECIPIENTS
                            for x in kept | ({"receipt.xml", "receipt.xml.p7s"} if a == "DAJ" else set())])
    assert list((xcity.ws.tmp_dir / "exchange").rglob("*.*")) == []  # no staged package or download left
    # DAJ's 签收 is on the hub once per message, and the sender counts it
    for m in mids:
        answers = [k for k in xcity.raw() if k.startswith(f"exchange/receipts/{SENDER}/{m}/")]
        assert answers == [receipt_key(SENDER, m, "DAJ"), receipt_key(SENDER, m, "DAJ") + ".p7s"]
    st = xcity.ok("exchange", "status")
    assert st["refused"] == [] and [m["counts"]["signed_for"] for m in st["messages"]] == [1, 1]
    assert "nothing new" in xcity.cli("receive", "--agency", "CZJ").output


# --- the server killed mid-send ------------------------------------------------------------------


def _restart(ex: Exchange) -> None:
    if ex.seaweed is not None:
        ex.seaweed.start()  # on the same ports and data folder; sshd's listener never went away


@pytest.fixture
def kill_server_at(xcity: XCity, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``kill_server_at(n)``: the server dies during the ``n``-th put of this process (1: the package)."""
    cls: Any = SFTPTransport if xcity.exchange.kind == "sftp" else S3Transport
    real = cls.put

    def arm(n: int) -> None:
        calls = [0]

        def put(self: Any, key: str, stream: Any, *args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == n:
                stream = _KillingReader(stream, lambda: _kill_server(xcity.exchange))
            return real(self, key, stream, *args, **kwargs)

        monkeypatch.setattr(cls, "put", put)

    yield arm
    monkeypatch.setattr(cls, "put", real)


@pytest.mark.parametrize("during", [1, 4], ids=["the-package", "the-second-envelope"])
def test_the_server_killed_mid_send_is_exit_5_and_the_next_run_completes_the_message(
        xcity: XCity, kill_server_at: Any, during: int) -> None:
    code = xcity.package_code()
    kill_server_at(during)
    r = xcity.cli(*SEND[:1], code, *SEND[1:])
    one_line_exit_5(r)
    [(mid, state)] = messages(xcity)
    assert state == "sending"
    _restart(xcity.exchange)
    assert [k for k in xcity.raw() if k.startswith("exchange/inbox/") and "/.govarc-" not in k] == (
        [envelope_key("CZJ", mid), envelope_key("CZJ", mid) + ".p7s"] if during == 4 else [])
    rep = xcity.send(code)
    assert (rep["message_id"], rep["resumed"], rep["package_written"]) == (mid, True, during == 1)
    assert (rep["envelopes_written"], rep["envelopes_already"]) == ((4, 0) if during == 1 else (3, 1))
    assert_sent_once(xcity, mid)
    assert xcity.ok("receive")["exit_code"] == 0
    assert [s for _, _, s in xcity.incoming()] == ["handed_over", "signed_for", "received", "received"]


# --- wrong credentials, an unknown host key --------------------------------------------------------


def _wrong_key(city: XCity, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    set_option(city.ws, "identity_file", str(keygen(tmp / "stranger_key")))


def _unknown_host_key(city: XCity, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    assert city.exchange.sshd is not None
    other = keygen(tmp / "other_host_key")
    (tmp / "known_hosts").write_text(city.exchange.sshd.host_line(Path(f"{other}.pub")))
    set_option(city.ws, "known_hosts", str(tmp / "known_hosts"))


def _empty_known_hosts(city: XCity, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    (tmp / "known_hosts").write_text("")
    set_option(city.ws, "known_hosts", str(tmp / "known_hosts"))


def _wrong_secret(city: XCity, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setenv("AWS_SECRET_ACCESS_KEY", "0" * 40)


def _unknown_access_key(city: XCity, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setenv("AWS_ACCESS_KEY_ID", "nobody-at-all")


BREAKS = {"sftp": [_wrong_key, _unknown_host_key, _empty_known_hosts], "s3": [_wrong_secret, _unknown_access_key]}


@pytest.mark.parametrize("exchange, breaks", [(kind, b) for kind, bs in BREAKS.items() for b in bs],
                         indirect=["exchange"], ids=lambda x: getattr(x, "__name__", x))
def test_wrong_credentials_or_host_key_exit_5_and_write_nothing(
        xcity: XCity, breaks: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mid = xcity.send()["message_id"]
    assert xcity.ok("receive", "--agency", "GAJ")["exit_code"] == 0
    hub, before, files = xcity.raw(), xcity.catalog(), xcity.local_files()
    breaks(xcity, tmp_path, monkeypatch)
    for args in [(*SEND[:1], xcity.package_code(4), *SEND[1:]), ("receive",), ("inbox",), ("exchange", "status"),
                 ("sign-for", mid, "--agency", "GAJ")]:
        r = xcity.cli(*args)
        one_line_exit_5(r)
        assert xcity.catalog() == before and xcity.local_files() == files, args
    assert xcity.raw() == hub


@pytest.mark.parametrize("exchange, what", [("sftp", ""), ("s3", ""), ("s3", ".p7s")], indirect=["exchange"],
                         ids=["sftp-envelope", "s3-envelope-metadata-kept", "s3-signature-metadata-kept"])
def test_a_resumed_send_publishes_again_an_envelope_changed_on_the_hub(xcity: XCity, what: str) -> None:
    code = xcity.package_code()
    # killed when recipients are first marked delivered (in one batch): every envelope and signature is on the
    # hub, every recipient still pending
    killed(xcity, (*SEND[:1], code, *SEND[1:]), 1, ("govarc.catalog.messages:set_delivered",))
    [(mid, _)] = messages(xcity)
    assert envelope_key("CZJ", mid) + ".p7s" in xcity.raw()
    assert [str(x[4]) for x in xcity.catalog()["message_recipients"]] == ["pending"] * 4
    key = envelope_key("CZJ", mid) + what
    good = xcity.raw_read(key)
    bad = good[:-8] + good[-4:] + good[-8:-4]
    xcity.tamper(key, bad, keep_metadata=xcity.exchange.kind == "s3")  # S3: its stored digest now lies
    rep = xcity.send(code)
    # CZJ's, changed on the hub, is published again; the other three are found whole and kept
    assert (rep["message_id"], rep["envelopes_written"], rep["envelopes_already"]) == (mid, 1, 3)
    if what == "":
        assert xcity.raw_read(key) == good  # the same bytes: the envelope is rebuilt from what the catalog recorded
    else:
        assert xcity.raw_read(key) != bad  # signed afresh
    assert_sent_once(xcity, mid)
    got = xcity.ok("receive", "--agency", "CZJ")
    assert [(m["message_id"], m["state"]) for m in got["agencies"][0]["messages"]] == [(mid, "handed_over")]
