"""A folder package is on disk, every file and folder of it, before the rename that publishes it.

The build makes the payload durable on a background thread while it identifies the copies, then
the tag files: these tests record what was synced, and when, against the rename, on both ways
(syncfs(2), and an fsync of every file and folder where syncfs cannot report write-back errors).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from govarc import fsutil
from govarc.errors import InvalidInputError
from govarc.formats import FormatInfo
from govarc.package import build as build_module
from govarc.package.build import build_package
from govarc.package.metadata import load_metadata
from govarc.package.verify import verify_package


def tree(root: Path) -> set[str]:
    """Every file and folder below ``root`` (and ``root`` itself, as "."), relative, "/"-separated."""
    found = {"."}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            found.add(Path(dirpath, n).relative_to(root).as_posix())
    return found


def many_files(folder: Path) -> Path:
    """A source with nested folders, an empty file and several formats."""
    (folder / "卷一" / "子卷").mkdir(parents=True)
    (folder / "正文.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    (folder / "卷一" / "说明.txt").write_text("城中区 1200株\n", encoding="utf-8")
    (folder / "卷一" / "子卷" / "空.dat").write_bytes(b"")
    for i in range(20):
        (folder / "卷一" / f"附件{i:02d}.bin").write_bytes(os.urandom(3000 + i))
    return folder


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return many_files(tmp_path / "src")


@pytest.fixture
def record(sample_metadata: Path):  # type: ignore[no-untyped-def]
    return load_metadata(sample_metadata)


@pytest.fixture
def renames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    done: list[tuple[str, str]] = []
    real = os.rename

    def rename(a: str, b: str) -> None:
        done.append((str(a), str(b)))
        real(a, b)

    monkeypatch.setattr(build_module.os, "rename", rename)
    return done


def test_without_syncfs_every_file_and_folder_is_fsynced_before_the_rename(
    source: Path, record, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renames: list[tuple[str, str]],
) -> None:
    monkeypatch.setattr(fsutil, "_syncfs", lambda: None)
    synced: list[str] = []
    real = build_module.fsync_path

    def fsync_path(path: str | os.PathLike[str]) -> None:
        assert not renames or os.fspath(path) == str(out.parent), "fsync of the package after its rename"
        synced.append(os.fspath(path))
        real(path)

    out = tmp_path / "out" / "pkg"
    monkeypatch.setattr(build_module, "fsync_path", fsync_path)
    build_package(source, record, out)
    assert len(renames) == 1
    tmp = Path(renames[0][0])
    before_rename = {Path(p).relative_to(tmp).as_posix() for p in synced if Path(p).is_relative_to(tmp)}
    assert before_rename == tree(out)  # every file and folder, nothing missed
    assert synced[-1] == str(out.parent)  # and the rename itself, last
    assert verify_package(out).valid


def test_with_syncfs_the_last_sync_comes_after_the_last_write(
    source: Path, record, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renames: list[tuple[str, str]],
) -> None:
    calls: list[set[str]] = []
    tmp_root: list[Path] = []
    real_init = build_module._Durability.__init__

    def init(self, root: Path, enabled: bool) -> None:  # type: ignore[no-untyped-def]
        tmp_root.append(root)
        real_init(self, root, enabled)

    def syncfs(fd: int) -> int:
        assert not renames, "syncfs after the rename"
        calls.append(tree(tmp_root[0]))
        os.sync()
        return 0

    monkeypatch.setattr(fsutil, "_syncfs", lambda: syncfs)
    monkeypatch.setattr(build_module._Durability, "__init__", init)
    out = tmp_path / "out" / "pkg"
    build_package(source, record, out)
    assert len(calls) == 2  # the payload (while identifying), then the tag files
    assert calls[-1] == tree(out)
    assert {n for n in calls[0] if n.startswith("data/")} == {n for n in tree(out) if n.startswith("data/")}
    assert verify_package(out).valid


@pytest.mark.parametrize("failing", ["payload", "tags"])
@pytest.mark.parametrize("way", ["syncfs", "fsync"])
def test_a_write_back_error_leaves_no_package_and_no_temporary(
    source: Path, record, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renames: list[tuple[str, str]],
    failing: str, way: str,
) -> None:
    count = {"n": 0}
    fail_at = 1 if failing == "payload" else 2

    def syncfs(fd: int) -> int:
        count["n"] += 1
        if count["n"] == fail_at:
            import ctypes

            ctypes.set_errno(errno.EIO)
            return -1
        return 0

    real = build_module.fsync_path

    def fsync_path(path: str | os.PathLike[str]) -> None:
        is_tag = "/data/" not in os.fspath(path) and not os.fspath(path).endswith("/data")
        if (failing == "tags") == is_tag and Path(path).is_file():
            raise OSError(errno.EIO, "Input/output error", os.fspath(path))
        real(path)

    if way == "syncfs":
        monkeypatch.setattr(fsutil, "_syncfs", lambda: syncfs)
    else:
        monkeypatch.setattr(fsutil, "_syncfs", lambda: None)
        monkeypatch.setattr(build_module, "fsync_path", fsync_path)
    out = tmp_path / "out" / "pkg"
    with pytest.raises(OSError) as e:
        build_package(source, record, out)
    assert e.value.errno == errno.EIO
    assert renames == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in source.rglob("*")) == sorted(p.name for p in many_files(tmp_path / "again").rglob("*"))


def test_known_formats_are_used_only_for_the_bytes_they_were_found_in(
    source: Path, record, tmp_path: Path,
) -> None:
    import hashlib

    pdf = (source / "正文.pdf").read_bytes()
    told = FormatInfo("application/pdf", "PDF/A", "2b")  # what an ingest found, say
    known = {
        "正文.pdf": (hashlib.sha256(pdf).hexdigest(), told),
        "卷一/说明.txt": ("0" * 64, FormatInfo("application/x-wrong", "wrong")),  # other bytes: not used
    }
    info = build_package(source, record, tmp_path / "pkg", known_formats=known, durable=False)
    by_name = {f.name: f for f in info.record.files}
    assert (by_name["正文.pdf"].mime, by_name["正文.pdf"].format_name, by_name["正文.pdf"].format_version) == (
        "application/pdf", "PDF/A", "2b")
    assert by_name["卷一/说明.txt"].mime == "text/plain"
    assert verify_package(tmp_path / "pkg").valid


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_formats_are_those_ingest_finds_whatever_the_threads(
    source: Path, record, tmp_path: Path, workers: int,
) -> None:
    from govarc import formats

    info = build_package(source, record, tmp_path / "pkg", workers=workers, durable=False)
    for f in info.record.files:
        found = formats.identify_file(source / f.name)
        assert (f.mime, f.format_name, f.format_version) == (found.mime, found.name, found.version), f.name


def test_an_unreadable_source_file_is_named(source: Path, record, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads anything: make the file vanish between listing and copying instead
        victim = source / "卷一" / "附件03.bin"
        real: Callable[..., object] = build_module.collect_source

        def collect(src: Path):  # type: ignore[no-untyped-def]
            files = real(src)
            victim.unlink()
            return files

        build_module_collect = pytest.MonkeyPatch()
        build_module_collect.setattr(build_module, "collect_source", collect)
        try:
            with pytest.raises(InvalidInputError) as e:
                build_package(source, record, tmp_path / "out" / "pkg")
        finally:
            build_module_collect.undo()
    else:
        victim = source / "卷一" / "附件03.bin"
        victim.chmod(0)
        with pytest.raises(InvalidInputError) as e:
            build_package(source, record, tmp_path / "out" / "pkg")
    assert str(victim) in str(e.value)
    assert list((tmp_path / "out").iterdir()) == []
