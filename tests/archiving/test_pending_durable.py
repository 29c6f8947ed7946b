"""Packages are made durable a batch at a time, always before the catalog records them; what a power
loss can leave at a destination the catalog does not name, and the next run rebuilds it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc import fsutil
from govarc.archiving import pending
from govarc.archiving.pending import package_pending
from govarc.catalog.db import open_catalog
from govarc.ingest.pipeline import ingest
from govarc.package.verify import verify_package
from tests.citykit import make_city

N = 7


@pytest.fixture
def ws(tmp_path):
    city = make_city(tmp_path, n=N)
    workspace, _ = init_workspace(tmp_path / "home", city)
    with open_catalog(workspace.catalog_path) as cat:
        report = ingest(cat, workspace.objects, workspace.agency("SZF"), [tmp_path / "drop" / "SZF"], workers=1)
    assert report.count("registered") == N
    return workspace


def package(ws, **kw):
    kw.setdefault("unsigned", True)
    with open_catalog(ws.catalog_path) as cat:
        return package_pending(cat, ws.objects, ws.package_store("SZF"), ws.tmp_dir, "SZF", **kw)


def packaged_codes(ws) -> set[str]:
    with open_catalog(ws.catalog_path) as cat:
        return {r[0] for r in cat.conn.execute("SELECT archival_code FROM records WHERE state='packaged'")}


def test_every_package_is_synced_before_the_catalog_records_it(ws, monkeypatch):
    synced: list[set[str]] = []
    real = pending._BatchSync.__call__

    def spy(self, paths):
        # At the sync, none of these packages is recorded yet; every earlier batch is.
        assert not packaged_codes(ws) & {p.name for p in paths}
        assert packaged_codes(ws) == set().union(*synced) if synced else not packaged_codes(ws)
        real(self, paths)
        synced.append({p.name for p in paths})

    monkeypatch.setattr(pending._BatchSync, "__call__", spy)
    monkeypatch.setattr(pending, "RECORD_EVERY", 3)
    built = package(ws)
    assert len(built) == N
    assert set().union(*synced) == packaged_codes(ws) == {p.archival_code for p in built}
    assert len(synced) >= N // 3  # in batches, not once per package and not once at the end only


@pytest.mark.parametrize("zip_", [False, True])
def test_without_syncfs_every_file_and_folder_of_the_batch_is_fsynced(ws, monkeypatch, zip_):
    monkeypatch.setattr(fsutil, "_syncfs", lambda: None)
    fsynced: list[str] = []
    real = pending.fsync_path
    monkeypatch.setattr(pending, "fsync_path", lambda p: (fsynced.append(os.fspath(p)), real(p))[1])
    built = package(ws, zip=zip_)
    assert len(built) == N
    store = ws.store_dir("SZF")
    expected = {os.fspath(store)}
    for p in built:
        if zip_:
            expected.add(os.fspath(p.path))
        else:
            for folder, _dirs, names in os.walk(p.path):
                expected.add(folder)
                expected.update(os.path.join(folder, n) for n in names)
    assert expected <= set(fsynced)


def test_a_failed_sync_records_nothing_and_the_next_run_adopts_the_packages(ws, monkeypatch):
    def fail(self, paths):
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(pending._BatchSync, "__call__", fail)
        with pytest.raises(OSError):
            package(ws)
    assert packaged_codes(ws) == set()
    again = package(ws)
    assert len(again) == N and all(p.adopted for p in again)
    assert len(packaged_codes(ws)) == N


def _cut_payload(path: Path) -> None:
    next((path / "data").iterdir()).write_bytes(b"")


def _empty_folder(path: Path) -> None:
    import shutil

    shutil.rmtree(path)
    path.mkdir()


def _no_tagmanifest(path: Path) -> None:
    (path / "tagmanifest-sha256.txt").unlink()


def _zero_zip(path: Path) -> None:
    path.write_bytes(b"")


def _cut_zip(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zip_member_zeroed(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        blobs = {n: z.read(n) for n in names}
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, b"" if "/data/" in n else blobs[n])


@pytest.mark.parametrize("zip_, damage", [
    (False, _cut_payload), (False, _empty_folder), (False, _no_tagmanifest),
    (True, _zero_zip), (True, _cut_zip), (True, _zip_member_zeroed),
])
def test_what_a_power_loss_leaves_before_the_batch_sync_is_rebuilt(ws, zip_, damage):
    """A package renamed into place but not yet synced may come back empty or cut after a power loss;
    the catalog does not name it (it records only synced batches), so the next run checks it,
    quarantines it and builds it again."""
    first = {p.archival_code: p for p in package(ws, zip=zip_)}
    code = sorted(first)[0]
    damage(first[code].path)
    with open_catalog(ws.catalog_path) as cat, cat.write() as conn:
        conn.execute("UPDATE records SET state='registered', package_path=NULL, package_tagmanifest_sha256=NULL, "
                     "package_size=NULL, package_signed=NULL, packaged_at=NULL WHERE archival_code=?", (code,))
    (again,) = package(ws, zip=zip_)
    assert again.archival_code == code and not again.adopted
    assert verify_package(again.path).valid
    assert len(list((ws.store_dir("SZF") / ".quarantine").iterdir())) == 1
    assert packaged_codes(ws) == set(first)
