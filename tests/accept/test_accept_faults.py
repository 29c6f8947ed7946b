"""Crashes and a full disk at the archives: a re-run converges to the same holdings and verdicts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govarc.accept import holdings as store
from govarc.accept import run as flow
from govarc.accept.docs import receipt_from_xml
from govarc.catalog import holdings as hcat
from govarc.catalog.db import open_catalog
from govarc.sign.keys import FixedPrompter
from tests.accept.conftest import PASSPHRASE, make_archives
from tests.sign.conftest import AGENCY


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs (not even ``except Exception``)."""


def verdicts(exchange: Path, batch: str) -> list[tuple[str, str, str | None]]:
    r = receipt_from_xml((exchange / "receipts" / AGENCY / batch / "receipt.xml").read_bytes(), "r")
    return [(v.archival_code, v.verdict.value, v.holdings_key) for v in r.verdicts]


def held(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "holdings").rglob("*.zip"))


def deliver_with_one_bad(agency) -> None:
    pkgs = [agency.package(i) for i in (1, 2, 3)]
    agency.deliver("B1", pkgs)
    wire = agency.exchange / "inbound" / AGENCY / "B1" / "packages" / pkgs[2].name
    wire.write_bytes(wire.read_bytes()[:-10] + b"0123456789")


@pytest.fixture
def reference(agency, pki, tmp_path):
    """An uninterrupted run's verdicts and holdings, on its own copy of the exchange."""
    deliver_with_one_bad(agency)
    import shutil

    clean = tmp_path / "exchange-clean"
    shutil.copytree(agency.exchange, clean)
    ws = make_archives(tmp_path / "reference", pki, clean)
    flow.accept_workspace(ws, FixedPrompter(PASSPHRASE))
    return verdicts(clean, "B1"), held(ws.home)


@pytest.mark.parametrize("where", ["keep", "record_item", "publish-p7s", "finish_batch"])
def test_a_run_dying_at_any_point_converges_on_re_run(agency, archives, reference, monkeypatch, where):
    calls = {"n": 0}

    def dying(original, after: int):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > after:
                raise Crash(where)
            return original(*args, **kwargs)
        return wrapper

    if where == "keep":
        monkeypatch.setattr(store, "keep", dying(store.keep, 1))  # the second accepted package is never kept
    elif where == "record_item":
        # the first package is kept in the holdings but its verdict is never committed
        monkeypatch.setattr(hcat, "record_item", dying(hcat.record_item, 0))
    elif where == "publish-p7s":
        from govarc.transport.folder import FolderTransport

        original = FolderTransport.publish

        def publish(self, key, data, **kw):
            if key.endswith("receipt.xml.p7s"):
                raise Crash(where)
            return original(self, key, data, **kw)
        monkeypatch.setattr(FolderTransport, "publish", publish)
    else:
        monkeypatch.setattr(hcat, "finish_batch", dying(hcat.finish_batch, 0))
    with pytest.raises(Crash):
        flow.accept_workspace(archives, FixedPrompter(PASSPHRASE))
    monkeypatch.undo()

    report = flow.accept_workspace(archives, FixedPrompter(PASSPHRASE))

    assert [b.state for b in report.batches] == ["answered"]
    assert (verdicts(agency.exchange, "B1"), held(archives.home)) == reference
    assert flow.accept_workspace(archives, FixedPrompter(PASSPHRASE)).batches == ()


def test_kill_9_mid_batch_then_re_run_converges(agency, archives, reference, env):
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "govarc", "--home", str(archives.home), "accept"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    proc = start()
    # kill it as soon as its first verdict is committed (or whenever it ends, if it is faster)
    while proc.poll() is None:
        if (archives.home / "catalog.sqlite").exists():
            try:
                with open_catalog(archives.catalog_path) as cat:
                    if cat.conn.execute("SELECT COUNT(*) FROM accept_items").fetchone()[0] >= 1:
                        os.kill(proc.pid, signal.SIGKILL)
                        break
            except Exception:
                pass
        time.sleep(0.02)
    proc.wait(timeout=120)
    again = subprocess.run([sys.executable, "-m", "govarc", "--home", str(archives.home), "accept"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (verdicts(agency.exchange, "B1"), held(archives.home)) == reference


@pytest.fixture
def mounts():
    points: list[Path] = []

    def mount(target: Path, size: str) -> None:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], check=True,
                       capture_output=True)
        points.append(target)

    yield mount
    for p in reversed(points):
        if subprocess.run(["umount", str(p)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(p)], capture_output=True)


def test_a_full_disk_is_one_line_exit_8_nothing_half_stored_and_a_re_run_converges(agency, pki, tmp_path, mounts,
                                                                                   env, reference):
    home = tmp_path / "full"
    mounts(home, "4m")
    ws = make_archives(home, pki, agency.exchange)
    filler = home / "filler"
    with open(filler, "wb", buffering=0) as f:  # take every free block (unbuffered: nothing left to flush at close)
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    result = subprocess.run([sys.executable, "-m", "govarc", "--home", str(home), "accept"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 8, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "govarc: error:" in result.stderr
    assert held(home) == []
    assert not (agency.exchange / "receipts").exists()
    filler.unlink()
    again = subprocess.run([sys.executable, "-m", "govarc", "--home", str(home), "accept"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (verdicts(agency.exchange, "B1"), held(home)) == reference
    _ = ws
