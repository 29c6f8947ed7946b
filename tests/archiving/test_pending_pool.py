"""Packaging on a pool of forked workers: the same packages, the signer inherited and never pickled,
a worker's failure is the build's failure, and no worker outlives a killed parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from govarc.archiving import pending
from govarc.catalog.db import open_catalog
from govarc.errors import InvalidInputError
from govarc.package.verify import verify_package
from govarc.sign.agency import load_agency_signer
from govarc.sign.pki import init_ca, issue_agency, load_ca
from tests.archiving.test_pending import Passphrase, forget_packages, package, rows, ws  # noqa: F401 - fixture


class Unpicklable:
    """A signer that refuses to be pickled: the pool must inherit it through fork."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, tagmanifest: bytes) -> dict[str, bytes]:
        return self.inner(tagmanifest)

    def __reduce__(self):
        raise AssertionError("the signer was pickled")


def signer_of(ws):
    init_ca(ws.pki_dir, "测试CA", b"test-passphrase")
    issue_agency(load_ca(ws.pki_dir, b"test-passphrase"), ws.keys_dir("SZF"), "SZF", "柳州市人民政府办公室", b"test-passphrase")
    return load_agency_signer(ws, "SZF", Passphrase())


def test_workers_build_sign_and_record_every_package_with_an_inherited_signer(ws):
    built = package(ws, signer=Unpicklable(signer_of(ws)), workers=2)
    assert len(built) == 7 and all(p.signed and not p.adopted for p in built)
    recorded = sorted(rows(ws))
    assert [r[1] for r in recorded] == ["packaged"] * 7 and [r[4] for r in recorded] == [1] * 7
    for p, r in zip(sorted(built, key=lambda p: p.archival_code), recorded):
        result = verify_package(p.path)
        assert result.valid and list((p.path / "signatures").glob("*.p7s"))
        on_disk = sum(f.stat().st_size for f in p.path.rglob("*") if f.is_file())
        assert (r[0], r[2], r[3]) == (p.archival_code, p.tagmanifest_sha256, on_disk)
    assert list(ws.tmp_dir.iterdir()) == []  # the workers' staging folders are gone too
    assert package(ws, workers=2) == []


def test_workers_adopt_what_a_crashed_run_left_as_in_process(ws):
    first = package(ws, workers=2)
    before = rows(ws)
    lost = sorted(p.archival_code for p in first)[1:5]
    forget_packages(ws, lost)
    again = package(ws, workers=2)
    assert sorted(p.archival_code for p in again) == lost and all(p.adopted for p in again)
    assert rows(ws) == before


@pytest.mark.parametrize("error", [InvalidInputError("no room for the package", "x"), OSError(28, "No space left")])
def test_a_failing_build_in_a_worker_fails_the_run_and_keeps_what_was_built(ws, monkeypatch, error):
    real = pending.build_package
    with open_catalog(ws.catalog_path) as cat:
        bad = cat.conn.execute("SELECT archival_code FROM records ORDER BY id LIMIT 1 OFFSET 3").fetchone()[0]

    def build(stage, record, out, **kw):  # inherited by the forked workers
        if out.name.startswith(bad):
            raise error
        return real(stage, record, out, **kw)

    monkeypatch.setattr(pending, "build_package", build)
    with pytest.raises(type(error)) as raised:
        package(ws, workers=2)
    assert str(error) in str(raised.value)
    states = dict((r[0], r[1]) for r in rows(ws))
    assert states[bad] == "registered"
    assert list(states.values()).count("packaged") >= 3  # those before it at least
    monkeypatch.setattr(pending, "build_package", real)
    package(ws, workers=2)
    assert [r[1] for r in rows(ws)] == ["packaged"] * 7
    assert list(ws.tmp_dir.iterdir()) == []


SLOW_RUN = """
import sys, time
from pathlib import Path
from govarc.archiving import pending
from govarc.catalog.db import open_catalog
from govarc.workspace import Workspace

def slow(*a, **kw):
    time.sleep(60)

pending.build_package = slow
ws = Workspace.open(Path(sys.argv[1]))
with open_catalog(ws.catalog_path) as cat:
    pending.package_pending(cat, ws.objects, ws.package_store("SZF"), ws.tmp_dir, "SZF", unsigned=True, workers=2)
"""


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def test_no_worker_outlives_a_killed_parent(ws):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(ws.home)])
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) == 2, "the pool did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{w}") and _alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{w}") and _alive(w) for w in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_staging_folders_of_workers_whose_every_build_failed_are_removed(ws, monkeypatch):
    """A worker that never finished a build never named its staging folder to the parent: the
    parent finds it by the pid the worker reported when it started."""
    def failing(stage, record, out, **kw):  # inherited by the forked workers
        raise InvalidInputError("no room for the package", str(out))

    monkeypatch.setattr(pending, "build_package", failing)
    with pytest.raises(InvalidInputError):
        package(ws, workers=2)
    assert list(ws.tmp_dir.iterdir()) == []
    assert [r[1] for r in rows(ws)] == ["registered"] * 7


def test_workers_report_their_pids_through_a_pipe_without_a_lock():
    reported = pending._WorkerPids()
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            pending._WorkerPids.report(reported.write_fd)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    assert sorted(reported.collect()) == sorted(children)
