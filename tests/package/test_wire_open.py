"""package.wire.open_regular: a FIFO swapped in after the check is refused, never waited on."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from govarc.errors import InvalidInputError
from govarc.package import wire


def test_a_regular_file_opens_blocking(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(b"PK")
    fd = wire.open_regular(tmp_path / "p.zip")
    try:
        assert os.get_blocking(fd) and os.read(fd, 2) == b"PK"
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["fifo", "link", "folder"])
def test_what_is_not_a_regular_file_is_refused_unopened(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "p.zip"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "link":
        (tmp_path / "real").write_bytes(b"PK")
        target.symlink_to(tmp_path / "real")
    else:
        target.mkdir()
    with pytest.raises(InvalidInputError, match="regular file"):
        wire.open_regular(target, "a package to send")


def test_a_fifo_swapped_in_after_the_check_does_not_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "p.zip"
    os.mkfifo(fifo)
    real_lstat = os.lstat

    def lstat_before_the_swap(path, *a, **kw):  # type: ignore[no-untyped-def]
        st = real_lstat(path, *a, **kw)
        if Path(path) == fifo:  # what the check saw was a regular file
            return os.stat_result((stat.S_IFREG | 0o644, *tuple(st)[1:]))
        return st

    monkeypatch.setattr(wire.os, "lstat", lstat_before_the_swap)
    outcome: list[BaseException | int] = []

    def run() -> None:
        try:
            outcome.append(wire.open_regular(fifo))
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the opener so the test run does not hang, then fail
        open(fifo, "wb").close()
        pytest.fail("open_regular waited on a FIFO")
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInputError), outcome
