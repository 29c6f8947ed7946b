"""Which catalog belongs to which workspace: an id kept both in the catalog and beside it.

A workspace's archival codes (档号) live in two places: in the packages of its store and in the
catalog's sequences. A catalog that was deleted, truncated or swapped for another one would hand
out codes that already name other documents in the store, so every command that opens the catalog
of a workspace goes through :func:`open_workspace_catalog`, which refuses (``ConfigError``, exit 6)

- a missing or empty catalog (0 bytes, or no tables) beside a store that holds packages or beside
  the identity file ``catalog.id``;
- a catalog whose id is not the one in ``catalog.id`` (a foreign catalog, or the WAL of another);
- a damaged file (not SQLite, truncated);
- a catalog without an id (from before ids, or made by hand) that does not know every package of
  the store.

A brand-new workspace (no packages, no ``catalog.id``) gets a fresh id in both places on first
open; a workspace from before ids is adopted the same way once its catalog is seen to know its
store. The way out of every refusal is ``govarc catalog rebuild`` (:mod:`govarc.archiving.rebuild`).
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from govarc.catalog.db import REBUILD_HINT, Catalog, DatabaseError, database_error, open_catalog, open_readonly, table_names
from govarc.errors import ConfigError
from govarc.fsutil import write_atomic

if TYPE_CHECKING:
    from govarc.workspace import Workspace

ID_FILE = "catalog.id"
_ID_MAX = 128  # bytes: a UUID and a newline, with room for a little whitespace
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HINT = "run `govarc catalog rebuild`"


def id_path(home: Path) -> Path:
    return Path(home) / ID_FILE


def new_id() -> str:
    return str(uuid.uuid4())


def read_id_file(home: Path) -> str | None:
    """The id in ``home/catalog.id``, or None when there is no such file.

    Anything else there (a folder, a FIFO, garbage, a huge file) is a ConfigError: the file is
    checked to be a regular file before it is opened, and opened without blocking.
    """
    path = id_path(home)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"cannot read the catalog identity: {e.strerror}", str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError("the catalog identity is not a regular file", str(path))
    if st.st_size > _ID_MAX:
        raise ConfigError(f"the catalog identity is {st.st_size} bytes, not a UUID", str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            data = f.read(_ID_MAX + 1)
    except OSError as e:
        raise ConfigError(f"cannot read the catalog identity: {e.strerror}", str(path)) from None
    try:
        text = data.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        text = ""
    if not _UUID.match(text):
        raise ConfigError("the catalog identity is not a UUID; restore it from a backup or " + _HINT, str(path))
    return text


def write_id_file(home: Path, catalog_id: str) -> None:
    """Write ``catalog.id`` atomically (temporary file, fsync, rename, fsync of the folder)."""
    write_atomic(id_path(home), (catalog_id + "\n").encode("ascii"))


@dataclass(frozen=True)
class CatalogState:
    """What a look at the catalog file found, without changing it."""

    exists: bool
    blank: str | None = None  # why the catalog counts as empty: "0 bytes", "no tables"
    catalog_id: str | None = None
    codes: frozenset[str] | None = None  # archival codes it knows (only asked for when adopting)
    created: tuple[Path, ...] = ()  # SQLite side files the look created

    def tidy(self) -> None:
        """Remove the side files the look created (only when refusing: another process may be
        opening the catalog meanwhile, and its -shm must never be removed under it)."""
        for side in self.created:
            try:
                if side.name.endswith("-shm") or side.stat().st_size == 0:
                    side.unlink()
            except OSError:
                pass


def _header_problem(path: Path, size: int) -> str | None:
    """Why the first 100 bytes of ``path`` are not a whole SQLite database's header, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            head = f.read(100)
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    if len(head) < 100 or head[:16] != _SQLITE_MAGIC:
        return "is not an SQLite database"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        return "has a damaged header"
    if size % page:
        return f"is truncated ({size} bytes is not a whole number of {page}-byte pages)"
    pages = int.from_bytes(head[28:32], "big")
    declared_valid = head[24:28] == head[92:96]
    wal = path.with_name(path.name + "-wal")
    # With frames in the WAL a checkpoint may be extending the file right now: then SQLite itself
    # finds missing pages when it reads them (a malformed-image error, turned into a ConfigError).
    wal_busy = wal.exists() and wal.stat().st_size > 32
    if declared_valid and not wal_busy and pages * page > size:
        return f"is truncated ({size} bytes of the {pages * page} its header declares)"
    return None


def inspect_catalog(path: Path, *, want_codes: bool = False) -> CatalogState:
    """Look at the catalog at ``path`` read-only; ConfigError when it is damaged.

    The read-only connection may create SQLite's ``-wal``/``-shm`` side files; the state lists
    them so that a refusal can remove them again (:meth:`CatalogState.tidy`).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return CatalogState(exists=False)
    except OSError as e:
        raise ConfigError(f"cannot read the catalog: {e.strerror}", str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError("the catalog is not a regular file; " + REBUILD_HINT, str(path))
    if st.st_size == 0:
        return CatalogState(exists=True, blank="0 bytes")
    problem = _header_problem(path, st.st_size)
    if problem:
        raise ConfigError(f"the catalog {problem}; {REBUILD_HINT}", str(path))
    sides = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
    before = {p: p.exists() for p in sides}
    failed = False
    try:
        with open_readonly(path) as conn:
            tables = table_names(conn)
            catalog_id = None
            codes = None
            if "records" in tables:
                if "meta" in tables:
                    row = conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
                    catalog_id = str(row[0]) if row else None
                if want_codes:
                    codes = frozenset(r[0] for r in conn.execute("SELECT archival_code FROM records"))
    except DatabaseError as e:
        failed = True
        raise database_error(e, path) or ConfigError(f"cannot read the catalog: {e}", str(path)) from None
    finally:
        created = tuple(side for side, existed in before.items() if not existed and side.exists())
        if failed:
            CatalogState(exists=True, created=created).tidy()
    if "records" not in tables:
        return CatalogState(exists=True, blank="no tables" if not tables else "no records table", created=created)
    return CatalogState(exists=True, catalog_id=catalog_id, codes=codes, created=created)


def package_code(path: Path) -> str:
    """The archival code a package of the store is named by (its name without ``.zip``)."""
    return path.name[:-4] if path.name.endswith(".zip") else path.name


def check_workspace_catalog(ws: Workspace) -> str | None:
    """Refuse a catalog that is not this workspace's (ConfigError); return the id to claim, if any.

    Returns None when the catalog and ``catalog.id`` agree already; else the id that the catalog
    and the file are to carry once it is opened (a fresh workspace, or one from before ids).
    """
    home, path = ws.home, ws.catalog_path
    file_id = read_id_file(home)
    state = inspect_catalog(path)
    try:
        return _judge(ws, path, file_id, state)
    except ConfigError:
        state.tidy()
        raise


def _judge(ws: Workspace, path: Path, file_id: str | None, state: CatalogState) -> str | None:
    """The store is asked through ``ws`` (:meth:`~govarc.workspace.Workspace.stored_packages`)."""
    if not state.exists or state.blank:
        what = "missing" if not state.exists else f"empty ({state.blank})"
        if file_id is not None:
            raise ConfigError(f"the catalog is {what}, but {ID_FILE} says this workspace has catalog {file_id}; "
                              + _HINT, str(path))
        package = next(ws.stored_packages(), None)
        if package is not None:
            raise ConfigError(f"the catalog is {what}, but the store holds packages (such as {package}); "
                              + _HINT, str(path))
        return new_id()
    if state.catalog_id is not None and file_id is not None:
        if state.catalog_id != file_id:
            raise ConfigError(f"the catalog is not this workspace's: it is catalog {state.catalog_id}, "
                              f"{ID_FILE} says {file_id}; " + _HINT, str(path))
        return None
    if state.catalog_id is None and file_id is not None:
        raise ConfigError(f"the catalog has no identity, but {ID_FILE} says this workspace has catalog {file_id}; "
                          + _HINT, str(path))
    # A catalog without an id (from before ids) or an id file lost: adopt it if it knows the store.
    known = inspect_catalog(path, want_codes=True).codes or frozenset()  # side files exist now: no tidy
    unknown = [p for p in ws.stored_packages() if package_code(p) not in known]
    if unknown:
        raise ConfigError(f"the catalog does not know {len(unknown)} package(s) of the store (such as "
                          f"{unknown[0]}), so it is not this workspace's catalog; " + _HINT, str(path))
    return state.catalog_id or new_id()


def claim(ws: Workspace, cat: Catalog, catalog_id: str) -> str:
    """Record ``catalog_id`` in the catalog (unless it has one) and in ``catalog.id``."""
    actual = cat.claim_identity(catalog_id)
    write_id_file(ws.home, actual)
    return actual


@contextmanager
def open_workspace_catalog(ws: Workspace) -> Iterator[Catalog]:
    """Open the catalog of ``ws`` after checking it is the workspace's own (see the module's doc).

    Every command that opens a workspace's catalog goes through here. Nothing is created or
    changed before the checks pass.
    """
    to_claim = check_workspace_catalog(ws)
    with open_catalog(ws.catalog_path) as cat:
        if to_claim is not None:
            claim(ws, cat, to_claim)
        yield cat
