"""Run locks: the workspace lock (one nightly or packaging run at a time) and per-agency locks.

Two scopes, both exclusive, non-blocking and held through ``flock`` (the kernel drops a lock when
its holder dies, so a killed run never leaves a stale lock); a second holder gets a
:class:`LockedError` at once (exit 7):

- the **workspace** lock, ``run.lock`` in the workspace: whoever writes the catalog, the object
  store or the package store as a run holds it (``nightly``, ``package``, ``sign --pending``,
  ``catalog rebuild``). The nightly job holds it from start to end: its ``runs`` row relies on it
  (a ``running`` row met by the holder is a dead run's).
- an **agency** lock, ``locks/<CODE>.lock``: for steps that act on one agency's world outside the
  workspace (its transfer location, its exchange inbox), so that a nightly step and a command run
  by hand for the same agency never send the same batch twice, while other agencies go on. It is
  taken inside the workspace lock, never the other way round (no lock-order deadlock).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

from govarc.errors import LockedError


class LockScope(str, Enum):
    """What a job step must hold while it runs (see the module docstring)."""

    WORKSPACE = "workspace"  # the workspace lock only (catalog, objects, package store)
    AGENCY = "agency"  # the workspace lock and its agency's lock


def agency_lock_path(home: Path, code: str) -> Path:
    """Where the lock of agency ``code`` lives in the workspace at ``home``."""
    return home / "locks" / f"{code}.lock"


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``path``; raise LockedError at once if it is taken.

    The holder's pid is written into the file, so that the refusal can name it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LockedError(f"another run holds the lock (pid {holder})", str(path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def agency_lock(home: Path, code: str) -> Iterator[None]:
    """Hold the lock of agency ``code`` (LockedError at once when another process holds it)."""
    with run_lock(agency_lock_path(home, code)):
        yield
