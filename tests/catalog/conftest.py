"""A workspace with packages of every kind (folder and zip, signed and unsigned), and ways to damage its catalog."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.archiving.pending import package_pending
from govarc.sign.agency import load_agency_signer
from govarc.sign.pki import init_ca, issue_agency, load_ca
from govarc.workspace import Workspace
from tests.citykit import ingest_into, make_doc

PASSPHRASE = b"test-passphrase"


class Passphrase:
    def passphrase(self, prompt: str, confirm: bool) -> bytes:
        return PASSPHRASE


CITY = """
[[agency]]
code = "SZF"
name = "柳州市人民政府办公室"
fonds = "0012"
unit = "BGS"
drop = "drop/SZF"

[[agency]]
code = "CZJ"
name = "柳州市财政局"
fonds = "0035"
unit = "CWK"
drop = "drop/CZJ"
unsigned = true
"""


def _package(ws: Workspace, code: str, *, zip: bool, signer: object = None) -> None:
    with open_catalog(ws.catalog_path) as cat:
        package_pending(cat, ws.objects, ws.package_store(code), ws.tmp_dir, code, signer=signer, zip=zip,  # type: ignore[arg-type]
                        unsigned=signer is None)


def build_city(root: Path) -> Workspace:
    """SZF: signed packages, three folders then two zips; CZJ (no key): unsigned, two folders then one zip.

    Drop folders hold every document ingested (a re-ingest must find them all registered).
    """
    for i in range(1, 4):
        make_doc(root / "drop" / "SZF", i, retention="Y")
    for i in range(1, 3):
        make_doc(root / "drop" / "CZJ", i, prefix="柳财预", retention="D30")
    (root / "city.toml").write_text(CITY, encoding="utf-8")
    ws, _ = init_workspace(root / "home", root / "city.toml")
    init_ca(ws.pki_dir, "测试CA", PASSPHRASE)
    shutil.copy(ws.pki_dir / "ca.pem", ws.trust_dir / "local-ca.pem")
    issue_agency(load_ca(ws.pki_dir, PASSPHRASE), ws.keys_dir("SZF"), "SZF", "柳州市人民政府办公室", PASSPHRASE)
    signer = load_agency_signer(ws, "SZF", Passphrase())
    assert ingest_into(ws, root / "drop" / "SZF").count("registered") == 3
    assert ingest_into(ws, root / "drop" / "CZJ", agency=ws.agency("CZJ")).count("registered") == 2
    _package(ws, "SZF", zip=False, signer=signer)
    _package(ws, "CZJ", zip=False)
    for i in range(4, 6):
        make_doc(root / "drop" / "SZF", i, retention="Y")
    make_doc(root / "drop" / "CZJ", 3, prefix="柳财预", retention="D30")
    assert ingest_into(ws, root / "drop" / "SZF").count("registered") == 2
    assert ingest_into(ws, root / "drop" / "CZJ", agency=ws.agency("CZJ")).count("registered") == 1
    _package(ws, "SZF", zip=True, signer=signer)
    _package(ws, "CZJ", zip=True)
    return ws


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of a built city (home/, drop/, city.toml); copy it before changing anything."""
    root = tmp_path_factory.mktemp("city")
    build_city(root)
    return root


@pytest.fixture
def city(golden: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the built city; drop folders and paths in govarc.toml point into the copy."""
    root = tmp_path / "city"
    shutil.copytree(golden, root, symlinks=True)
    toml = root / "home" / "govarc.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(str(golden), str(root)), encoding="utf-8")
    # The catalog names packages by keys relative to the home: a copy needs no rewriting.
    return Workspace.open(root / "home")


ROW_SQL = ("SELECT agency, archival_code, title, document_number, date, classification, state, content_key, "
           "package_tagmanifest_sha256, package_size, package_signed, package_path FROM records ORDER BY archival_code")
FILE_SQL = ("SELECT r.archival_code, f.role, f.name, f.size, f.sha256 FROM record_files f JOIN records r ON r.id = f.record_id "
            "ORDER BY r.archival_code, f.role, f.name")


def catalog_rows(ws: Workspace) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The rows a rebuild must restore: records (with package digest, size, signed flag, path) and their files."""
    with open_catalog(ws.catalog_path) as cat:
        return cat.conn.execute(ROW_SQL).fetchall(), cat.conn.execute(FILE_SQL).fetchall()


def snapshot(home: Path) -> dict[str, str]:
    """Every entry below ``home`` (but the run lock) with a digest of its content: nothing may change."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(home):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(home))
            if rel == "run.lock":
                continue
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir" if p.is_dir() else "other"
    return out


def _foreign_catalog(tmp: Path) -> Path:
    other, _ = init_workspace(tmp / "other-home")
    return other.catalog_path


def _delete(ws: Workspace, tmp: Path) -> None:
    ws.catalog_path.unlink()


def _zero(ws: Workspace, tmp: Path) -> None:
    ws.catalog_path.write_bytes(b"")


def _garbage(ws: Workspace, tmp: Path) -> None:
    ws.catalog_path.write_bytes(os.urandom(3000) + b"\x00" * 1096)


def _text(ws: Workspace, tmp: Path) -> None:
    ws.catalog_path.write_text("这不是数据库\n" * 500, encoding="utf-8")


def _truncated(ws: Workspace, tmp: Path) -> None:
    size = ws.catalog_path.stat().st_size
    with open(ws.catalog_path, "r+b") as f:
        f.truncate(size // 2)


def _truncated_odd(ws: Workspace, tmp: Path) -> None:
    with open(ws.catalog_path, "r+b") as f:
        f.truncate(1000)


def _foreign(ws: Workspace, tmp: Path) -> None:
    shutil.copy(_foreign_catalog(tmp), ws.catalog_path)


def _foreign_with_tables_no_id(ws: Workspace, tmp: Path) -> None:
    """What an older govarc made after the catalog was deleted: an empty catalog with tables, no id,
    and catalog.id lost as well."""
    ws.catalog_path.unlink()
    (ws.home / "catalog.id").unlink()
    with open_catalog(ws.catalog_path):
        pass


def _no_id_beside_id_file(ws: Workspace, tmp: Path) -> None:
    """A copy of the catalog from before identities restored over the current one."""
    with open_catalog(ws.catalog_path) as cat, cat.write() as conn:
        conn.execute("DELETE FROM meta")


def _foreign_wal(ws: Workspace, tmp: Path) -> None:
    """The WAL of another workspace's catalog beside this catalog."""
    other = _foreign_catalog(tmp)
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO runs (kind, started_at, status) VALUES ('x', 'y', 'z')")
    shutil.copy(str(other) + "-wal", str(ws.catalog_path) + "-wal")
    conn.close()


DAMAGES: dict[str, Callable[[Workspace, Path], None]] = {
    "deleted": _delete, "zero-bytes": _zero, "garbage": _garbage, "text": _text, "truncated-half": _truncated,
    "truncated-odd": _truncated_odd, "foreign": _foreign, "recreated-empty-without-id": _foreign_with_tables_no_id,
    "no-id-beside-id-file": _no_id_beside_id_file, "foreign-wal": _foreign_wal,
}
