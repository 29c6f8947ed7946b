"""Handing a received message to the agency's office-automation system (OA): a command or a drop folder.

Either way the OA gets two files: the package as received (``<MESSAGE_ID>.zip``) and its metadata
(``<MESSAGE_ID>.json``: message id, sender, role, urgency, deadline, title, digest …, see
:func:`metadata_json`). The message id is the OA's idempotency key: govarc hands a message over
again only when no earlier hand-over was recorded as done (it failed, timed out, or the receiving
run was killed while the OA worked on it).

- ``oa_command``: run without a shell, with the package path and the metadata path as its last two
  arguments and the metadata JSON on stdin, in a session (process group) of its own. Exit status 0
  is success; anything else, or running past ``oa_timeout`` seconds (the whole process group is
  then killed), is a failure whose one line (the end of its stderr) is kept.
- ``oa_drop``: the package, then the metadata JSON, are written into the folder atomically
  (a hidden temporary beside the destination, fsynced, then linked under the final name): the OA
  may take a message once its ``.json`` appears. A file already there with the same bytes is a
  no-op; a different file is never overwritten (failure).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.domain import Agency
from govarc.fsutil import TEMP_MARK, atomic_write, remove_orphans

MAX_ERROR_CHARS = 300
# the temporaries of a hand-over (see govarc.fsutil.temp_name), and those of earlier versions (.govarc-oa-<pid>-…)
_ORPHAN = re.compile(rf"^\.(?:govarc-oa-|.+{re.escape(TEMP_MARK)})(\d+)-[0-9a-f]+$", re.DOTALL)
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class HandOver:
    """The outcome of one hand-over attempt: ``error`` None on success."""

    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def configured(agency: Agency) -> bool:
    """Whether the agency hands received messages to an OA at all."""
    return agency.oa_command is not None or agency.oa_drop is not None


def metadata_json(metadata: Mapping[str, Any]) -> bytes:
    """The metadata document the OA gets (UTF-8 JSON, keys sorted, one trailing newline)."""
    return (json.dumps(dict(metadata), ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def hand_over(agency: Agency, package: Path, meta_path: Path, message_id: str, tmp: Path) -> HandOver:
    """Hand ``package`` and its metadata file ``meta_path`` (:func:`metadata_json`) to the OA of ``agency``.

    Never raises for the OA's faults (they are the :class:`HandOver`'s error); ``tmp`` is a private
    folder of the workspace for the command's stdin and stderr.
    """
    try:
        meta = meta_path.read_bytes()
    except OSError as e:
        return HandOver(f"the metadata file {meta_path} cannot be read: {e.strerror or e}")
    if agency.oa_command is not None:
        return run_command(agency.oa_command, package, meta_path, meta, tmp, agency.oa_timeout)
    if agency.oa_drop is not None:
        return drop(agency.oa_drop, package, meta, message_id)
    return HandOver("no OA is configured (oa_command or oa_drop)")


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    return "".join(ch if ch.isprintable() else "?" for ch in line)[:MAX_ERROR_CHARS]


def run_command(command: tuple[str, ...], package: Path, meta_path: Path, meta: bytes, tmp: Path,
                timeout: int) -> HandOver:
    """Run the OA command once (see the module docstring)."""
    tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=tmp) as stdin, tempfile.NamedTemporaryFile(dir=tmp, prefix="oa-stderr-") as err:
        stdin.write(meta)
        stdin.seek(0)
        try:
            proc = subprocess.Popen([*command, str(package), str(meta_path)], stdin=stdin, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True, close_fds=True)
        except OSError as e:
            return HandOver(f"the OA command {command[0]!r} cannot be started: {e.strerror or e}")
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return HandOver(f"the OA command ran longer than oa_timeout ({timeout} s) and was killed")
        except BaseException:
            _kill_group(proc)  # interrupted: leave no OA process behind
            raise
        if status != 0:
            said = _tail(Path(err.name))
            how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
            return HandOver(f"the OA command {how}" + (f": {said}" if said else ""))
    return HandOver()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def _place(folder: Path, name: str, source: Path | None, data: bytes | None) -> str | None:
    """Put one file into the drop folder without ever replacing a different one; an error line or None."""
    dest = folder / name
    want = hashlib.sha256(data).hexdigest() if data is not None else None
    if os.path.lexists(dest):
        if not dest.is_file() or dest.is_symlink():
            return f"{dest} is already there and is not a regular file"
        if want is None:
            assert source is not None
            want = _digest(source)
        return None if _digest(dest) == want else f"{dest} is already there with other content; it is not replaced"
    try:
        with atomic_write(dest, replace=False) as out:  # a file that appeared meanwhile stays
            if data is not None:
                out.write(data)
            else:
                assert source is not None
                with open(source, "rb") as f:
                    shutil.copyfileobj(f, out, _BLOCK)
    except FileExistsError:
        return _place(folder, name, source, data)
    return None


def _clean_temporaries(folder: Path) -> None:
    """Remove the temporaries of hand-overs whose process is gone (killed mid-copy)."""
    remove_orphans(folder, _ORPHAN)


def drop(folder: Path, package: Path, meta: bytes, message_id: str) -> HandOver:
    """Write ``<MESSAGE_ID>.zip`` then ``<MESSAGE_ID>.json`` into the OA's drop folder (see the module docstring)."""
    if not folder.is_dir():
        return HandOver(f"the OA drop folder {folder} does not exist or is not a folder")
    try:
        _clean_temporaries(folder)
        for name, source, data in ((f"{message_id}.zip", package, None), (f"{message_id}.json", None, meta)):
            problem = _place(folder, name, source, data)
            if problem is not None:
                return HandOver(problem)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return HandOver(f"the OA drop folder {folder} is full: {e.strerror}")
        return HandOver(f"writing into the OA drop folder {folder} failed: {e.strerror or e}")
    return HandOver()
