"""govarc.fsutil.atomic_write: the one way govarc writes a file in place (temporary, fsync, rename or link)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from govarc.fsutil import TEMP_MARK, atomic_write, remove_orphans, temp_name, write_atomic
from tests.ingest.hostile import make_socket


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


def _listing(folder: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry of ``folder``: its type and its bytes (a regular file) or its target (a link)."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for p in folder.iterdir():
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode):
            out[p.name] = (stat.S_IFMT(st.st_mode), p.read_bytes())
        elif stat.S_ISLNK(st.st_mode):
            out[p.name] = (stat.S_IFMT(st.st_mode), os.readlink(p))
        else:
            out[p.name] = (stat.S_IFMT(st.st_mode), b"")
    return out


class Boom(Exception):
    pass


def test_writes_a_new_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.txt", b"hello")
    assert (tmp_path / "a.txt").read_bytes() == b"hello"
    assert _temporaries(tmp_path) == []


@pytest.mark.parametrize("replace", [True, False])
def test_streams_what_the_block_writes(tmp_path: Path, replace: bool) -> None:
    with atomic_write(tmp_path / "big.bin", replace=replace) as f:
        for i in range(64):
            f.write(bytes([i]) * 65536)
        assert not (tmp_path / "big.bin").exists()  # nothing visible under the name before the end
        assert len(_temporaries(tmp_path)) == 1
    assert (tmp_path / "big.bin").stat().st_size == 64 * 65536
    assert _temporaries(tmp_path) == []


def test_replace_replaces_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"old")
    write_atomic(tmp_path / "a.txt", b"new")
    assert (tmp_path / "a.txt").read_bytes() == b"new"
    assert _temporaries(tmp_path) == []


def test_no_replace_refuses_an_existing_file_before_the_block_runs(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"old")
    ran = []
    with pytest.raises(FileExistsError):
        with atomic_write(tmp_path / "a.txt", replace=False) as f:
            ran.append(1)
            f.write(b"new")
    assert ran == []
    assert _listing(tmp_path) == {"a.txt": (stat.S_IFREG, b"old")}


def test_no_replace_refuses_a_file_that_appears_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    with pytest.raises(FileExistsError):
        with atomic_write(target, replace=False) as f:
            f.write(b"mine")
            target.write_bytes(b"theirs")  # another writer got there first
    assert _listing(tmp_path) == {"a.txt": (stat.S_IFREG, b"theirs")}


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640, 0o444])
@pytest.mark.parametrize("replace", [True, False])
def test_mode_is_exact_whatever_the_umask(tmp_path: Path, mode: int, replace: bool) -> None:
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "k.pem", b"secret", mode=mode, replace=replace)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(tmp_path / "k.pem").st_mode) == mode


def test_mode_none_is_what_open_gives(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a", b"x")
        (tmp_path / "b").write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(tmp_path / "a").st_mode) == stat.S_IMODE(os.lstat(tmp_path / "b").st_mode) == 0o640


def test_a_secret_is_never_readable_by_others_while_written(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "k.pem", mode=0o600) as f:
        (tmp,) = _temporaries(tmp_path)
        assert stat.S_IMODE(os.lstat(tmp_path / tmp).st_mode) == 0o600
        f.write(b"secret")


@pytest.mark.parametrize(("existing", "replace"), [(None, True), (None, False), (b"the old content", True)])
@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt, OSError])
def test_a_failure_mid_write_leaves_no_temporary_and_the_old_file(tmp_path: Path, existing: bytes | None,
                                                                  replace: bool, error: type[BaseException]) -> None:
    target = tmp_path / "a.txt"
    if existing is not None:
        target.write_bytes(existing)
    before = _listing(tmp_path)
    with pytest.raises(error):
        with atomic_write(target, replace=replace) as f:
            f.write(b"half of the new")
            raise error()
    assert _listing(tmp_path) == before


def test_a_failure_of_the_rename_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "a.txt").mkdir()  # a folder at the target cannot be replaced by a file
    (tmp_path / "a.txt" / "inside").write_bytes(b"kept")
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "a.txt", b"new")
    assert _temporaries(tmp_path) == []
    assert (tmp_path / "a.txt" / "inside").read_bytes() == b"kept"


@pytest.mark.parametrize("link_to", ["outside.txt", "missing.txt", "sub", "/dev/null"])
def test_a_link_at_the_target_is_replaced_and_never_followed(tmp_path: Path, link_to: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (tmp_path / "outside.txt").write_bytes(b"not yours")
    (tmp_path / "sub").mkdir()
    target = folder / "a.txt"
    target.symlink_to(link_to if link_to.startswith("/") else tmp_path / link_to)
    write_atomic(target, b"new")
    assert not target.is_symlink() and target.read_bytes() == b"new"
    assert (tmp_path / "outside.txt").read_bytes() == b"not yours"
    assert list((tmp_path / "sub").iterdir()) == []
    assert _temporaries(folder) == []


@pytest.mark.parametrize("link_to", ["outside.txt", "missing.txt", "sub"])
def test_no_replace_refuses_a_link_at_the_target(tmp_path: Path, link_to: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (tmp_path / "outside.txt").write_bytes(b"not yours")
    (tmp_path / "sub").mkdir()
    (folder / "a.txt").symlink_to(tmp_path / link_to)
    before = _listing(folder)
    with pytest.raises(FileExistsError):
        write_atomic(folder / "a.txt", b"new", replace=False)
    assert _listing(folder) == before
    assert (tmp_path / "outside.txt").read_bytes() == b"not yours"


@pytest.mark.parametrize("make", [os.mkfifo, make_socket], ids=["fifo", "socket"])
def test_a_fifo_or_socket_at_the_target_is_replaced_without_opening_it(tmp_path: Path, make: object) -> None:
    """Opening a FIFO to write would wait for a reader, forever: the entry is renamed over instead."""
    target = tmp_path / "a.txt"
    make(target)  # type: ignore[operator]
    code = ("import sys; from govarc.fsutil import write_atomic; "
            "write_atomic(sys.argv[1], b'new')")
    subprocess.run([sys.executable, "-c", code, str(target)], check=True, timeout=60)
    assert stat.S_ISREG(os.lstat(target).st_mode) and target.read_bytes() == b"new"
    assert _temporaries(tmp_path) == []


@pytest.mark.parametrize("make", [os.mkfifo, make_socket], ids=["fifo", "socket"])
def test_no_replace_refuses_a_fifo_or_socket_at_the_target(tmp_path: Path, make: object) -> None:
    target = tmp_path / "a.txt"
    make(target)  # type: ignore[operator]
    mode = os.lstat(target).st_mode
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new", replace=False)
    assert os.lstat(target).st_mode == mode
    assert _temporaries(tmp_path) == []


def test_a_link_where_the_temporary_goes_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary name taken by a planted link makes the write fail; the link's target is untouched."""
    (tmp_path / "victim").write_bytes(b"kept")
    planted = ".a.txt" + TEMP_MARK + "1-deadbeef"
    (tmp_path / planted).symlink_to(tmp_path / "victim")
    monkeypatch.setattr("govarc.fsutil.temp_name", lambda name: planted)
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "a.txt", b"new")
    assert (tmp_path / "victim").read_bytes() == b"kept"
    assert (tmp_path / planted).is_symlink()
    assert not (tmp_path / "a.txt").exists()


@pytest.mark.parametrize("name", ["a.txt", "档案目录.xlsx", "x" * 255, "文" * 85, "a\udcff.bin"])
def test_temporary_names_are_hidden_short_enough_and_name_the_process(name: str) -> None:
    tmp = temp_name(name)
    assert tmp.startswith(".") and len(tmp.encode("utf-8", "surrogateescape")) <= 255
    m = re.match(rf"^\..*{re.escape(TEMP_MARK)}(\d+)-[0-9a-f]+$", tmp, re.DOTALL)
    assert m is not None and int(m.group(1)) == os.getpid()
    assert temp_name(name) != tmp


def test_a_long_name_is_written(tmp_path: Path) -> None:
    name = "文" * 80 + ".json"  # 245 bytes: the temporary's name must not be longer than 255
    write_atomic(tmp_path / name, b"{}")
    assert (tmp_path / name).read_bytes() == b"{}"


def test_the_temporary_of_a_killed_writer_is_an_orphan(tmp_path: Path) -> None:
    """A writer killed mid-write leaves its temporary; remove_orphans finds it by the process id in its name."""
    code = ("import os, sys; from govarc.fsutil import atomic_write\n"
            "with atomic_write(sys.argv[1]) as f:\n"
            "    f.write(b'half'); f.flush(); os._exit(9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.txt")], timeout=60)
    assert proc.returncode == 9
    (left,) = _temporaries(tmp_path)
    remove_orphans(tmp_path, re.compile(rf"^\.a\.txt{re.escape(TEMP_MARK)}(\d+)-[0-9a-f]+$"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("replace", [True, False])
def test_the_file_then_its_folder_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: bool) -> None:
    synced: list[tuple[str, int]] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        synced.append(("folder" if stat.S_ISDIR(st.st_mode) else "file", st.st_ino))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomic(tmp_path / "a.txt", b"data", replace=replace)
    assert synced == [("file", os.lstat(tmp_path / "a.txt").st_ino), ("folder", os.lstat(tmp_path).st_ino)]
