"""govarc.fsutil.FilesystemSync: the one syncfs(2) the builder, the object store and the package step share."""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

import pytest

from govarc import fsutil
from govarc.fsutil import FilesystemSync


def test_syncfs_writes_back_and_closes_its_descriptor(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 4096)
    before = len(os.listdir("/proc/self/fd"))
    with FilesystemSync(tmp_path) as fs:
        assert fs.available  # Linux 5.8 or later here
        assert len(os.listdir("/proc/self/fd")) == before + 1
        fs.sync()
        fs.close()
        fs.close()  # twice is harmless
        assert not fs.available
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_write_back_error_is_raised_with_its_errno(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(fsutil, "_syncfs", lambda: failing)
    with FilesystemSync(tmp_path) as fs, pytest.raises(OSError) as e:
        fs.sync()
    assert e.value.errno == errno.EIO


def test_without_a_trustworthy_syncfs_nothing_is_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsutil, "_syncfs", lambda: None)
    before = len(os.listdir("/proc/self/fd"))
    fs = FilesystemSync(tmp_path)
    assert not fs.available and len(os.listdir("/proc/self/fd")) == before
    with pytest.raises(RuntimeError):
        fs.sync()  # the caller must fsync its files instead


def test_a_missing_folder_is_an_error_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FilesystemSync(tmp_path / "nowhere")
