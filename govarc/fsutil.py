"""Small file-system helpers shared by the builder, the reader and ingest."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a folder by path (a folder's fsync makes its new entries durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def walk_tree(root: Path) -> Iterator[tuple[str, os.DirEntry[str], os.stat_result]]:
    """Every entry below ``root`` but folders, as ``(relative "/" path, entry, lstat)``; links are not followed."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append((Path(entry.path), rel + "/"))
                else:
                    yield rel, entry, st
