"""The package store: keys relative to the home, resolving them safely, quarantine, staging, stale temporaries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from govarc.store.packages import PackageStore, hidden_names, package_size, store_packages

CODE = "0012-WS·2024-Y-BGS-0001"


@pytest.fixture
def store(tmp_path: Path) -> PackageStore:
    s = PackageStore(tmp_path / "home", "SZF")
    s.root.mkdir(parents=True)
    return s


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_locations_and_keys(store: PackageStore) -> None:
    assert store.root == store.home / "store" / "SZF"
    assert store.location(CODE, zip=True) == store.root / f"{CODE}.zip"
    assert store.location(CODE, zip=False) == store.root / CODE
    assert store.key(store.location(CODE, zip=True)) == f"store/SZF/{CODE}.zip"
    assert store.resolve(f"store/SZF/{CODE}.zip") == store.root / f"{CODE}.zip"
    assert PackageStore.at(store.root) == store


@pytest.mark.parametrize("key", [
    "", "store/CZJ/" + CODE, "store/SZF/../CZJ/" + CODE, "store/SZF/..", "store/SZF/.quarantine", "store/SZF/.x.tmp",
    "store/SZF", "objects/ab/" + CODE, "store/SZF/a/b", "../store/SZF/" + CODE, "/etc/", "/srv/home/store/SZF/.hidden",
])
def test_keys_that_would_leave_the_store_resolve_to_nothing(store: PackageStore, key: str) -> None:
    assert store.resolve(key) is None


def test_an_absolute_path_from_before_keys_is_found_by_its_name(store: PackageStore) -> None:
    """A catalog migrated while its packages were elsewhere (a workspace moved before the upgrade)."""
    assert store.resolve(f"/old/home/store/SZF/{CODE}.zip") == store.root / f"{CODE}.zip"


def test_a_moved_home_resolves_the_same_keys(tmp_path: Path, store: PackageStore) -> None:
    store.location(CODE, zip=False).mkdir()
    key = store.key(store.location(CODE, zip=False))
    moved = tmp_path / "home2"
    store.home.rename(moved)
    path = PackageStore(moved, "SZF").resolve(key)
    assert path is not None and path.is_dir() and path == moved / "store" / "SZF" / CODE


def test_quarantine_keeps_the_entry_aside_under_a_timestamped_name(store: PackageStore) -> None:
    bad = store.location(CODE, zip=True)
    bad.write_bytes(b"PK not really")
    moved = store.quarantine(bad)
    assert not bad.exists() and moved.parent == store.root / ".quarantine"
    assert moved.name.startswith(f"{CODE}.zip.") and moved.read_bytes() == b"PK not really"
    assert list(store_packages(store.home)) == []
    assert hidden_names(store.home) == [".quarantine", moved.name]


def test_clean_stale_removes_only_dead_processes_temporaries(store: PackageStore) -> None:
    from govarc.package.build import _TMP_MARK  # build's temporaries: .<name><mark><pid>-<hex>

    dead, alive = dead_pid(), os.getpid()
    stale = store.root / f".{CODE}.zip{_TMP_MARK}{dead}-0a1b2c3d"
    live = store.root / f".{CODE}.zip{_TMP_MARK}{alive}-0a1b2c3d"
    stale_dir = store.root / f".{CODE}{_TMP_MARK}{dead}-00ff00ff"
    for p in (stale, live):
        p.write_bytes(b"x")
    stale_dir.mkdir()
    (stale_dir / "f").write_bytes(b"x")
    package = store.location(CODE, zip=False)
    package.mkdir()
    store.clean_stale()
    assert sorted(p.name for p in store.root.iterdir()) == sorted([live.name, package.name])


def test_staging_lays_out_links_and_cleans_dead_runs(tmp_path: Path, store: PackageStore) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    leftover = tmp / f"stage-t0-{dead_pid()}"
    leftover.mkdir()
    other = tmp / "not-a-stage"
    other.mkdir()
    staging = store.staging(tmp)
    assert not leftover.exists() and other.exists()
    src = tmp_path / "object"
    src.write_bytes(b"content")
    stage = staging.get()
    assert staging.get() == stage and list(stage.iterdir()) == []
    staging.lay_out([("正文.pdf", src)], stage)
    assert (stage / "正文.pdf").read_bytes() == b"content" and os.path.samefile(stage / "正文.pdf", src)
    staging.empty(stage)
    assert list(stage.iterdir()) == [] and src.exists()
    staging.remove()
    assert not stage.exists()


def test_package_size_of_a_folder_and_a_zip(store: PackageStore) -> None:
    folder = store.location(CODE, zip=False)
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "a").write_bytes(b"12345")
    (folder / "bagit.txt").write_bytes(b"123")
    (folder / "link").symlink_to(folder / "data" / "a")
    assert package_size(folder) == 8
    z = store.location(CODE, zip=True)
    z.write_bytes(b"0" * 42)
    assert package_size(z) == 42
    assert [p.name for p in store_packages(store.home)] == [CODE, f"{CODE}.zip"]
