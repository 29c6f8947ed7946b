"""The package store of one agency (``store/<CODE>/``): locations and keys, staging, quarantine, cleanup.

A package's location is recorded in the catalog as a *key* relative to the workspace home
(``store/SZF/0012-WS·2024-Y-BGS-0001.zip``), so that a workspace can be moved and a store on object
storage can later stand beside this one. :meth:`PackageStore.resolve` turns a key back into a path
and never leads outside the agency's store. The store never writes the catalog.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from govarc.fsutil import remove_orphans

STORE_DIR = "store"
QUARANTINE = ".quarantine"
_STAGE = re.compile(r"^stage-t?\d+-(\d+)$")


def package_size(path: Path) -> int:
    """Bytes of a package: the .zip's size, or the sum of a folder's files (links not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def store_packages(home: Path) -> Iterator[Path]:
    """Every entry of ``<home>/store/<CODE>/`` that is or claims to be a package, in name order.

    Hidden names (temporary builds, the quarantine) are skipped; see :func:`hidden_names`.
    """
    try:
        agencies = sorted(os.scandir(Path(home) / STORE_DIR), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for agency in agencies:
        if agency.name.startswith(".") or not agency.is_dir(follow_symlinks=False):
            continue
        try:
            entries = sorted(os.scandir(agency.path), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith("."):
                yield Path(entry.path)


def hidden_names(home: Path) -> list[str]:
    """Names of the temporary builds and of the quarantine's entries in every agency's store.

    Their archival codes were handed out too, so a catalog rebuild must not reuse them.
    """
    names: list[str] = []
    try:
        agencies = list(os.scandir(Path(home) / STORE_DIR))
    except OSError:
        return names
    for agency in agencies:
        if not agency.is_dir(follow_symlinks=False):
            continue
        try:
            for entry in os.scandir(agency.path):
                if entry.name.startswith("."):
                    names.append(entry.name)
            quarantine = Path(agency.path) / QUARANTINE
            if quarantine.is_dir() and not quarantine.is_symlink():
                names.extend(e.name for e in os.scandir(quarantine))
        except OSError:
            continue
    return names


@dataclass(frozen=True)
class PackageStore:
    """The packages of agency ``code`` below workspace ``home``: ``<home>/store/<code>/``."""

    home: Path
    code: str

    @classmethod
    def at(cls, root: Path) -> PackageStore:
        """The store whose folder is ``root`` (``<home>/store/<code>``)."""
        root = Path(root)
        return cls(root.parent.parent, root.name)

    @property
    def root(self) -> Path:
        return self.home / STORE_DIR / self.code

    def location(self, archival_code: str, zip: bool) -> Path:
        """Where the package of ``archival_code`` lives (a folder, or a .zip if ``zip``)."""
        return self.root / (archival_code + (".zip" if zip else ""))

    def key(self, path: Path) -> str:
        """The key a package at ``path`` (in this store) is recorded under: relative to the home, '/'-separated."""
        return PurePosixPath(*Path(path).relative_to(self.home).parts).as_posix()

    def resolve(self, key: str) -> Path | None:
        """The package a catalog key names, or None when it would lie outside this store.

        A key is ``store/<code>/<name>``; a hidden name (a temporary build, the quarantine), ``..``
        or another agency's folder is refused. An absolute path (from a catalog older than keys,
        not under its home when migrated) is looked up by its name in this store, as before keys.
        """
        if not key:
            return None
        if key.startswith("/") or os.path.isabs(key):
            name = os.path.basename(key)
            return self.root / name if _plain(name) and not key.endswith(("/", os.sep)) else None
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != STORE_DIR or parts[1] != self.code or not _plain(parts[2]):
            return None
        return self.root / parts[2]

    def quarantine(self, path: Path) -> Path:
        """Move the entry at ``path`` (of this store) into ``.quarantine/``, under a timestamped name."""
        folder = self.root / QUARANTINE
        folder.mkdir(exist_ok=True)
        dest = folder / f"{path.name}.{dt.datetime.now():%Y%m%d%H%M%S}"
        os.replace(path, dest)
        return dest

    def clean_stale(self) -> None:
        """Remove temporary builds left in the store by processes that died (see :mod:`govarc.package.build`)."""
        from govarc.package.build import remove_stale_temps

        remove_stale_temps(self.root)

    def staging(self, tmp: Path) -> Staging:
        """Staging folders for building this store's packages, below ``tmp`` (cleaned of dead runs' folders)."""
        tmp.mkdir(parents=True, exist_ok=True)
        remove_orphans(tmp, _STAGE)
        return Staging(tmp)


def _plain(name: str) -> bool:
    return bool(name) and not name.startswith(".") and "/" not in name and os.sep not in name and name != ".."


class Staging:
    """One staging folder per build thread, emptied after each build and removed at the end.

    Reusing the folder saves a directory creation and removal per package: on ext4 that churns
    inodes are the dearest part of building a small package. Files are laid out as hard links
    (copies where links cannot be made), so staging never changes the stored files.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.local = threading.local()
        self.made: list[Path] = []
        self.lock = threading.Lock()

    def get(self) -> Path:
        """This thread's staging folder, empty."""
        stage: Path | None = getattr(self.local, "stage", None)
        if stage is None:
            with self.lock:
                stage = self.tmp / f"stage-t{len(self.made)}-{os.getpid()}"
                self.made.append(stage)
            if stage.exists():
                shutil.rmtree(stage)
            stage.mkdir(parents=True)
            self.local.stage = stage
        return stage

    @staticmethod
    def lay_out(files: list[tuple[str, Path]], stage: Path) -> None:
        """Put each ``(name, stored copy)`` under its name in ``stage``, as a hard link (or a copy)."""
        for name, src in files:
            try:
                os.link(src, stage / name)
            except OSError:
                shutil.copyfile(src, stage / name)

    @staticmethod
    def empty(stage: Path) -> None:
        for entry in os.scandir(stage):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)

    def remove(self) -> None:
        for stage in self.made:
            shutil.rmtree(stage, ignore_errors=True)
