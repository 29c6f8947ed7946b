"""The content-addressed object store: each file kept once, under its SHA-256.

An object lives at ``<root>/<sha256[:2]>/<sha256>``. It is only ever renamed to that name once
its content has been checked against the digest and is on disk, so an object that is there is
whole. Copies are staged as temporaries beside their object path (``.<sha256>.<pid>-<random>``),
made durable together, then renamed, and the renames made durable: on Linux 5.8 or later by one
syncfs(2) of the store's filesystem before the renames and one after (an fsync per object was
about 5 % of the nightly's time), elsewhere by fsyncing the copies on a few threads (fsync waits
on the disk, not the CPU, and several at once share journal commits) and then their folders. A temporary is removed whatever
happens, unless the process is killed; such leftovers start with a dot and are never taken for
objects. The store never writes the catalog.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from govarc.errors import InvalidInputError
from govarc.fsutil import FilesystemSync, fsync_path
from govarc.package.hashing import Algorithm, digest_stream, parallel_map

FSYNC_THREADS = 8


class ObjectStore:
    """The objects below ``root``, a folder of the workspace (``ws.objects_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the object of this SHA-256 (lower-case hex) is, whether it is there or not."""
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Whether the object is stored."""
        return self.path(sha256).exists()

    def open(self, sha256: str) -> BinaryIO:
        """The stored object, open for reading; FileNotFoundError when it is not stored."""
        return open(self.path(sha256), "rb")

    def count_unreferenced(self, referenced: set[str]) -> int:
        """How many stored objects are not among the SHA-256s of ``referenced`` (temporaries not counted)."""
        count = 0
        try:
            folders = list(os.scandir(self.root))
        except OSError:
            return 0
        for folder in folders:
            if not folder.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(folder.path):
                if not entry.name.startswith(".") and entry.name not in referenced:
                    count += 1
        return count

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """A :class:`Staging` for copies published together; what is not published is removed."""
        staging = Staging(self)
        try:
            yield staging
        finally:
            try:
                staging.discard()
            finally:
                staging.close()

    def put_files(self, files: Iterable[tuple[str, Path]]) -> None:
        """Store each ``(sha256, path)`` not stored yet: all of them or, on any error, none.

        Raises :class:`~govarc.errors.InvalidInputError` (naming the file) when a file does not
        have the digest given for it, and :class:`OSError` when it cannot be read or written.
        """
        with self.staging() as staging:
            for sha256, path in files:
                if staging.needs(sha256):
                    with open(path, "rb", buffering=0) as src:
                        if not staging.add(sha256, src):
                            raise InvalidInputError(f"content does not have the SHA-256 {sha256}", str(path))
            staging.publish()


class Staging:
    """Copies waiting beside their object paths to be published together (see :meth:`ObjectStore.staging`)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._temps: dict[str, Path] = {}
        self._fs: FilesystemSync | None = None

    def _open_syncfs(self) -> None:
        """Open the store's folder for syncfs(2) before the first copy is written: syncfs reports
        only the write-back errors that came after its descriptor was opened."""
        if self._fs is not None:
            return
        self.store.root.mkdir(parents=True, exist_ok=True)
        self._fs = FilesystemSync(self.store.root)

    @property
    def _use_syncfs(self) -> bool:
        return self._fs is not None and self._fs.available

    def _sync_all(self) -> None:
        assert self._fs is not None
        self._fs.sync()

    def close(self) -> None:
        """Close the descriptor kept for syncfs (:meth:`ObjectStore.staging` does)."""
        if self._fs is not None:
            self._fs.close()
            self._fs = None

    def needs(self, sha256: str) -> bool:
        """Whether the object is neither stored nor staged."""
        return sha256 not in self._temps and not self.store.has(sha256)

    def add(self, sha256: str, source: BinaryIO) -> bool:
        """Copy ``source`` (read to its end) to a temporary for the object ``sha256``.

        Returns False, keeping nothing, when what was read does not have that digest. Call only
        when :meth:`needs` says so. Raises :class:`OSError` when the copy cannot be written.
        """
        self._open_syncfs()
        dest = self.store.path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}")
        try:
            with open(tmp, "xb", buffering=0) as dst:
                d = digest_stream(source, [Algorithm.SHA256], sink=dst)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if d.hexdigests[Algorithm.SHA256] != sha256:
            tmp.unlink(missing_ok=True)
            return False
        self._temps[sha256] = tmp
        return True

    def discard(self, shas: Sequence[str] | None = None) -> None:
        """Remove the staged copies of ``shas`` (of every object staged when None)."""
        for sha in list(self._temps) if shas is None else shas:
            tmp = self._temps.pop(sha, None)
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def publish(self) -> None:
        """Fsync the staged copies together, rename each to its object path, fsync the folders.

        The renames are on disk when this returns; a copy is renamed only once its content is.
        """
        if not self._temps:
            return
        if self._use_syncfs:
            self._sync_all()  # every copy's data on disk before any is renamed
        else:
            for _ in parallel_map(fsync_path, [str(t) for t in self._temps.values()], FSYNC_THREADS):
                pass
        folders = set()
        for sha, tmp in list(self._temps.items()):
            dest = self.store.path(sha)
            os.replace(tmp, dest)
            del self._temps[sha]
            folders.add(str(dest.parent))
        if self._use_syncfs:
            self._sync_all()  # the renames
            return
        for folder in sorted(folders):
            fsync_path(folder)
