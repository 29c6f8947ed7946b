"""The archives' holdings: accepted packages kept immutably, content-addressed; rejected ones apart.

A package is kept at ``holdings/<sha256[:2]>/<sha256>.zip``, named by the SHA-256 of the package
*as the agency delivered it* (what the transfer list and the receipt state), holding the
countersigned copy. The same package delivered twice has one name, so it is stored once. A copy
is made complete (fsynced, read-only) under a temporary name on the same file system, then linked
into place: a full disk or a crash leaves nothing half-stored, and a second link of the same
content finds the first and keeps it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from govarc.errors import from_os_error
from govarc.fsutil import atomic_write, fsync_path, write_atomic

_SHA = re.compile(r"^[0-9a-f]{64}$")


def holdings_key(sha256: str) -> str:
    """The workspace-relative key of the package whose delivered SHA-256 is ``sha256``."""
    if not _SHA.match(sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return f"holdings/{sha256[:2]}/{sha256}.zip"


def keep(home: Path, staged: Path, sha256: str) -> tuple[str, bool]:
    """Keep the staged (countersigned) package under its content address; (key, newly stored).

    ``staged`` must be on the workspace's file system (``tmp/``); it is linked, never moved, and
    the caller removes it. An existing package under the key is kept as it is (immutability).
    """
    key = holdings_key(sha256)
    dest = home / key
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged, 0o444)
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(staged, dest)
        except FileExistsError:
            return key, False
        fsync_path(dest.parent)
    except OSError as e:
        raise from_os_error(e) from e
    return key, True


def keep_rejected(folder: Path, staged: Path | None, name: str, reasons: Mapping[str, object]) -> None:
    """Put a rejected package and its reasons in ``folder`` (``rejected/<AGENCY>/<BATCH>/``).

    ``name`` is the package's key in the batch (one safe segment); the reasons go beside it as
    ``<name>.reasons.json``. Both are written under a temporary name and renamed.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if staged is not None:
            with open(staged, "rb") as src, atomic_write(folder / name) as out:
                shutil.copyfileobj(src, out, 1 << 20)
        write_file(folder / f"{name}.reasons.json",
                   json.dumps(reasons, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
    except OSError as e:
        raise from_os_error(e) from e


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (:func:`govarc.fsutil.write_atomic`), creating its folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as e:
        raise from_os_error(e) from e
