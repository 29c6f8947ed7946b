"""Package every catalog record that has no package yet, into its agency's store.

Safe to re-run after a crash at any point: a package is built atomically, and one found at the
destination that the catalog does not know yet (the crash came between the rename and the catalog
update) is verified and adopted, or moved to the store's quarantine if it is not whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.catalog.db import Catalog
from govarc.errors import InvalidInputError
from govarc.ingest.pipeline import object_path
from govarc.package import layout
from govarc.package.build import PackageInfo, Signer, build_package
from govarc.package.hashing import Progress
from govarc.package.manifest import bag_info_get
from govarc.package.metadata import Record, record_from_dict
from govarc.package.reader import open_package
from govarc.package.verify import verify_package


@dataclass(frozen=True)
class Packaged:
    """One record packaged (or adopted from a crashed run)."""

    archival_code: str
    path: Path
    size: int
    tagmanifest_sha256: str
    signed: bool
    adopted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"archival_code": self.archival_code, "path": str(self.path), "size": self.size,
                "tagmanifest_sha256": self.tagmanifest_sha256, "signed": self.signed, "adopted": self.adopted}


def catalog_record(catalog: Catalog, record_id: int) -> Record:
    """The :class:`Record` of a catalog row (descriptive metadata; files are filled in by the build)."""
    row = catalog.conn.execute("SELECT metadata FROM records WHERE id=?", (record_id,)).fetchone()
    return record_from_dict(json.loads(row[0]))


def _stage(catalog: Catalog, objects: Path, record_id: int, stage: Path) -> None:
    """Lay out the record's files under their names, as hard links into the object store."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    rows = catalog.conn.execute(
        "SELECT name, sha256 FROM record_files WHERE record_id=? ORDER BY position", (record_id,)
    ).fetchall()
    for name, sha in rows:
        src = object_path(objects, sha)
        if not src.is_file():
            raise InvalidInputError(f"stored copy of {name} is missing from the object store", str(src))
        try:
            os.link(src, stage / name)
        except OSError:
            shutil.copyfile(src, stage / name)


def _existing(out: Path, code: str) -> tuple[bool, str]:
    """Whether a package already at ``out`` is whole and is ``code``'s; and its tag manifest digest."""
    result = verify_package(out)
    if not result.valid or bag_info_get(list(result.bag_info), "External-Identifier") != code:
        return False, ""
    with open_package(out) as r:
        return True, hashlib.sha256(r.read(layout.REQUIRED_TAGMANIFEST)).hexdigest()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _signed(path: Path) -> bool:
    with open_package(path) as r:
        return any(layout.is_signature(n) for n in r.entries)


def package_pending(
    catalog: Catalog,
    objects: Path,
    store: Path,
    tmp: Path,
    agency_code: str,
    *,
    signer: Signer | None = None,
    zip: bool = False,
    sm3: bool = False,
    progress: Progress | None = None,
    on_package: Callable[[Packaged], None] | None = None,
) -> list[Packaged]:
    """Build (and sign, given ``signer``) a package for every registered record of an agency."""
    rows = catalog.conn.execute(
        "SELECT id, archival_code FROM records WHERE agency=? AND state='registered' ORDER BY id", (agency_code,)
    ).fetchall()
    done: list[Packaged] = []
    store.mkdir(parents=True, exist_ok=True)
    for record_id, code in rows:
        out = store / (code + (".zip" if zip else ""))
        adopted = False
        if os.path.lexists(out):
            whole, tm = _existing(out, code)
            if whole:
                adopted = True
            else:
                quarantine = store / ".quarantine"
                quarantine.mkdir(exist_ok=True)
                os.replace(out, quarantine / f"{out.name}.{dt.datetime.now():%Y%m%d%H%M%S}")
        if not adopted:
            stage = tmp / f"stage-{record_id}-{os.getpid()}"
            try:
                _stage(catalog, objects, record_id, stage)
                info: PackageInfo = build_package(
                    stage, catalog_record(catalog, record_id), out, zip=zip, sm3=sm3, progress=progress, signer=signer,
                )
            finally:
                shutil.rmtree(stage, ignore_errors=True)
            tm = info.tagmanifest_sha256
        result = Packaged(code, out, _size(out), tm, _signed(out), adopted)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with catalog.write() as conn:
            conn.execute(
                "UPDATE records SET state='packaged', package_path=?, package_tagmanifest_sha256=?, package_size=?, "
                "package_signed=?, packaged_at=? WHERE id=? AND state='registered'",
                (str(out), tm, result.size, int(result.signed), now, record_id),
            )
        done.append(result)
        if on_package:
            on_package(result)
    return done
