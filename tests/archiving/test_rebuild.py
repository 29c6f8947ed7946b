"""`govarc catalog rebuild`: the catalog comes back from the store, no archival code is reused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.catalog.db import open_catalog
from govarc.catalog.identity import ID_FILE, read_id_file
from govarc.cli import main
from govarc.archiving.pending import catalog_record
from govarc.workspace import Workspace
from tests.catalog.conftest import DAMAGES, PASSPHRASE, catalog_rows, snapshot
from tests.citykit import make_doc

SZF_FOLDERS = ["0012-WS·2024-Y-BGS-0001", "0012-WS·2024-Y-BGS-0002", "0012-WS·2024-Y-BGS-0003"]
SZF_ZIPS = ["0012-WS·2024-Y-BGS-0004.zip", "0012-WS·2024-Y-BGS-0005.zip"]
CZJ_FOLDERS = ["0035-WS·2024-D30-CWK-0001", "0035-WS·2024-D30-CWK-0002"]
CZJ_ZIPS = ["0035-WS·2024-D30-CWK-0003.zip"]


def cli(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def rebuild(home: Path, *args: str):
    return cli(home, "--json", "catalog", "rebuild", *args)


def records(ws: Workspace) -> dict[str, object]:
    """Each record's description as packaging would read it again from the catalog."""
    with open_catalog(ws.catalog_path) as cat:
        ids = cat.conn.execute("SELECT id, archival_code FROM records").fetchall()
        return {code: catalog_record(cat, rid) for rid, code in ids}


def nightly(ws: Workspace, tmp_path: Path):
    secret = tmp_path / "passphrase"
    secret.write_bytes(PASSPHRASE)
    secret.chmod(0o600)
    return cli(ws.home, "--json", "nightly", "--passphrase-file", str(secret))


def test_the_city_has_every_kind_of_package(city):
    rows, _ = catalog_rows(city)
    kinds = {(r[0], r[-1].endswith(".zip"), r[10]) for r in rows}
    assert kinds == {("SZF", False, 1), ("SZF", True, 1), ("CZJ", False, 0), ("CZJ", True, 0)}
    assert sorted(os.listdir(city.store_dir("SZF"))) == SZF_FOLDERS + SZF_ZIPS


@pytest.mark.parametrize("damage", ["deleted", "zero-bytes", "garbage", "truncated-half", "foreign", "foreign-wal",
                                    "no-id-beside-id-file", "recreated-empty-without-id"])
def test_rebuild_restores_every_record(city, tmp_path, damage):
    rows, files = catalog_rows(city)
    described = records(city)
    workspace_id = read_id_file(city.home)
    DAMAGES[damage](city, tmp_path / "elsewhere")
    damaged = city.catalog_path.read_bytes() if city.catalog_path.exists() else None

    result = rebuild(city.home)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["recovered"], report["unrecovered"], report["findings"]) == (8, 0, [])
    assert catalog_rows(city) == (rows, files)
    assert records(city) == described
    assert report["sequences"] == {"0012-WS·2024-Y-BGS": 5, "0035-WS·2024-D30-CWK": 3}
    new_id = read_id_file(city.home)
    with open_catalog(city.catalog_path) as cat:
        assert cat.identity() == new_id == report["catalog_id"]
        assert cat.conn.execute("SELECT DISTINCT state FROM records").fetchall() == [("packaged",)]
    if (city.home / ID_FILE).exists() and damage != "recreated-empty-without-id":
        assert new_id == workspace_id  # the workspace keeps its identity
    if damaged is not None:  # the old file is kept aside, never deleted
        kept = Path(report["kept_aside"][0])
        assert kept.name.startswith("catalog.sqlite.broken-") and kept.read_bytes() == damaged
    else:
        assert report["kept_aside"] == []
    assert not list(city.home.glob(".catalog.sqlite.rebuild-*"))

    status = json.loads(cli(city.home, "--json", "status").output)
    assert [(s["agency"], s["records"], s["packages"], s["signed"]) for s in status] == [("SZF", 5, 5, 5), ("CZJ", 3, 3, 0)]
    # The drop folders still hold every document: the next night registers nothing again.
    again = nightly(city, tmp_path)
    assert again.exit_code == 0, again.output
    assert all(a["ingest"]["registered"] == 0 and a["packaged"] == [] for a in json.loads(again.output)["agencies"])
    assert catalog_rows(city) == (rows, files)


def _flip_payload_byte(ws: Workspace) -> list[str]:
    pdf = next((ws.store_dir("SZF") / SZF_FOLDERS[0] / "data").glob("*.pdf"))
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    return [f"SZF/{SZF_FOLDERS[0]}"]


def _truncate_zip(ws: Workspace) -> list[str]:
    z = ws.store_dir("SZF") / SZF_ZIPS[0]
    z.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    return [f"SZF/{SZF_ZIPS[0]}"]


def _drop_record_xml(ws: Workspace) -> list[str]:
    (ws.store_dir("CZJ") / CZJ_FOLDERS[0] / "metadata" / "record.xml").unlink()
    return [f"CZJ/{CZJ_FOLDERS[0]}"]


def _forge_signature(ws: Workspace) -> list[str]:
    sig = next((ws.store_dir("SZF") / SZF_FOLDERS[1] / "signatures").glob("*.p7s"))
    data = bytearray(sig.read_bytes())
    data[-10] ^= 0xFF
    sig.write_bytes(bytes(data))
    return [f"SZF/{SZF_FOLDERS[1]}"]


def _untrusted(ws: Workspace) -> list[str]:
    for anchor in ws.trust_dir.glob("*.pem"):
        anchor.unlink()
    return [f"SZF/{n}" for n in SZF_FOLDERS + SZF_ZIPS]


def _fifo(ws: Workspace) -> list[str]:
    os.mkfifo(ws.store_dir("SZF") / "0012-WS·2024-Y-BGS-0009")
    return ["SZF/0012-WS·2024-Y-BGS-0009"]


def _symlink(ws: Workspace) -> list[str]:
    os.symlink(ws.store_dir("CZJ") / CZJ_FOLDERS[1], ws.store_dir("CZJ") / "0035-WS·2024-D30-CWK-0008")
    return ["CZJ/0035-WS·2024-D30-CWK-0008"]


def _stray_file(ws: Workspace) -> list[str]:
    (ws.store_dir("SZF") / "说明.txt").write_text("not a package", encoding="utf-8")
    return ["SZF/说明.txt"]


def _wrong_agency(ws: Workspace) -> list[str]:
    os.rename(ws.store_dir("CZJ") / CZJ_ZIPS[0], ws.store_dir("SZF") / CZJ_ZIPS[0])
    return [f"SZF/{CZJ_ZIPS[0]}"]


def _renamed(ws: Workspace) -> list[str]:
    os.rename(ws.store_dir("CZJ") / CZJ_FOLDERS[1], ws.store_dir("CZJ") / "0035-WS·2024-D30-CWK-0007")
    return ["CZJ/0035-WS·2024-D30-CWK-0007"]


def _twin(ws: Workspace) -> list[str]:
    """The same package twice, as a folder and under another code's name: one is a duplicate."""
    shutil.copytree(ws.store_dir("SZF") / SZF_FOLDERS[2], ws.store_dir("CZJ") / SZF_FOLDERS[2])
    return [f"CZJ/{SZF_FOLDERS[2]}"]


HOSTILE: dict[str, Callable[[Workspace], list[str]]] = {
    "payload-byte": _flip_payload_byte, "truncated-zip": _truncate_zip, "no-record-xml": _drop_record_xml,
    "forged-signature": _forge_signature, "untrusted-signer": _untrusted, "fifo": _fifo, "symlink": _symlink,
    "stray-file": _stray_file, "wrong-agency": _wrong_agency, "renamed": _renamed, "twin": _twin,
}


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_what_cannot_be_recovered_is_reported_and_the_rest_recovered(city, tmp_path, hostile):
    rows, _ = catalog_rows(city)
    bad = HOSTILE[hostile](city)
    city.catalog_path.unlink()
    result = rebuild(city.home)
    assert result.exit_code == 3, result.output
    report = json.loads(result.output)
    store = city.home / "store"
    assert [(f["code"], f["path"]) for f in report["findings"]] == [("CATALOG_UNRECOVERED", str(store / b)) for b in bad]
    assert all(f["message"] for f in report["findings"])
    unrecovered = {str(store / b) for b in bad}
    # package_path is a key relative to the home
    expected = [r for r in rows if os.path.lexists(city.home / r[-1]) and str(city.home / r[-1]) not in unrecovered]
    assert catalog_rows(city)[0] == expected
    assert report["recovered"] == len(expected)
    assert cli(city.home, "status").exit_code == 0  # the catalog is this workspace's again


def test_unrecovered_packages_are_one_line_each_on_stderr(city):
    _flip_payload_byte(city)
    _stray_file(city)
    city.catalog_path.write_bytes(b"garbage" * 1000)
    result = subprocess.run([sys.executable, "-m", "govarc", "--home", str(city.home), "catalog", "rebuild"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("govarc: unrecovered: ") and "CATALOG_UNRECOVERED" in e for e in errors)
    assert "PAYLOAD_DIGEST_MISMATCH" in errors[0] or "DIGEST" in errors[0]
    assert "kept aside: " in result.stdout and "7 packages recovered (CZJ 3, SZF 4)" in result.stdout


def _corrupt_highest(ws: Workspace) -> None:
    z = ws.store_dir("SZF") / SZF_ZIPS[1]
    z.write_bytes(b"PK\x03\x04" + b"\x00" * 100)


def _quarantined(ws: Workspace) -> None:
    q = ws.store_dir("SZF") / ".quarantine"
    q.mkdir()
    (q / "0012-WS·2024-Y-BGS-0007.20240301120000").mkdir()


def _temporary_build(ws: Workspace) -> None:
    (ws.store_dir("SZF") / ".0012-WS·2024-Y-BGS-0007.zip.govarc-tmp-99999999-abcd1234").write_bytes(b"PK")


@pytest.mark.parametrize("case, last", [("corrupt-highest", 5), ("quarantined", 7), ("temporary-build", 7)])
def test_after_rebuild_a_new_document_gets_the_next_item_never_a_used_one(city, tmp_path, case, last):
    {"corrupt-highest": _corrupt_highest, "quarantined": _quarantined, "temporary-build": _temporary_build}[case](city)
    city.catalog_path.unlink()
    result = rebuild(city.home)
    assert json.loads(result.output)["sequences"]["0012-WS·2024-Y-BGS"] == last
    make_doc(tmp_path / "new", 42, retention="Y")
    ingested = cli(city.home, "--json", "ingest", str(tmp_path / "new"), "--agency", "SZF")
    assert ingested.exit_code == 0, ingested.output
    (item,) = json.loads(ingested.output)["items"]
    assert item["archival_code"] == f"0012-WS·2024-Y-BGS-{last + 1:04d}"
    used = {Path(n).name.split(".zip")[0] for n in os.listdir(city.store_dir("SZF"))}
    assert item["archival_code"] not in used


def test_a_healthy_catalog_is_refused_unless_forced_and_forcing_is_idempotent(city, tmp_path):
    rows = catalog_rows(city)
    before = snapshot(city.home)
    refused = rebuild(city.home)
    assert refused.exit_code == 6 and "healthy" in refused.output and "--force" in refused.output
    assert snapshot(city.home) == before
    with open_catalog(city.catalog_path) as cat:
        sequences = cat.conn.execute("SELECT * FROM sequences ORDER BY 1, 2, 3, 4, 5").fetchall()
    kept = []
    for _ in range(2):
        forced = rebuild(city.home, "--force")
        assert forced.exit_code == 0, forced.output
        kept += json.loads(forced.output)["kept_aside"]
        assert catalog_rows(city) == rows
        with open_catalog(city.catalog_path) as cat:
            assert cat.conn.execute("SELECT * FROM sequences ORDER BY 1, 2, 3, 4, 5").fetchall() == sequences
    assert len({Path(k).name for k in kept}) == 2 and all(Path(k).is_file() for k in kept)
    assert cli(city.home, "status").exit_code == 0


def test_the_object_store_is_restored_from_the_packages(city):
    _, files = catalog_rows(city)
    shutil.rmtree(city.objects_dir)
    city.objects_dir.mkdir()
    city.catalog_path.unlink()
    report = json.loads(rebuild(city.home).output)
    shas = {f[4] for f in files}
    assert report["objects_restored"] == len(shas) and report["objects_unreferenced"] == 0
    for sha in shas:
        assert hashlib.sha256(city.objects.path(sha).read_bytes()).hexdigest() == sha


def test_files_of_records_never_packaged_are_counted(city, tmp_path):
    make_doc(tmp_path / "new", 43, retention="D10")
    assert cli(city.home, "ingest", str(tmp_path / "new"), "--agency", "SZF").exit_code == 0
    city.catalog_path.unlink()
    result = cli(city.home, "catalog", "rebuild")
    assert result.exit_code == 0
    assert "1 files in objects/ belong to no recovered package" in result.output


CRASH = """
import os, sys
from pathlib import Path
from govarc.archiving import rebuild as rb
from govarc.workspace import Workspace

home, where = Path(sys.argv[1]), sys.argv[2]
if where == "swap":
    rb.put_in_place = lambda tmp, path: os._exit(9)
seen = []

def progress(path):
    seen.append(path)
    if where == "scan" and len(seen) == 3:
        os._exit(9)

rb.rebuild_catalog(Workspace.open(home), progress=progress)
"""


@pytest.mark.parametrize("where", ["scan", "swap"])
@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_a_crash_during_rebuild_leaves_the_old_situation(city, tmp_path, where, damage):
    rows = catalog_rows(city)
    DAMAGES[damage](city, tmp_path / "elsewhere")
    before = snapshot(city.home)
    crash = subprocess.run([sys.executable, "-c", CRASH, str(city.home), where], capture_output=True, text=True, timeout=120)
    assert crash.returncode == 9, crash.stderr
    after = snapshot(city.home)
    temporary = [k for k in after if k.startswith(".catalog.sqlite.rebuild-")]
    assert temporary  # the crash left its temporary catalog …
    kept = {k: v for k, v in after.items() if k not in temporary and not k.startswith("catalog.sqlite.broken-")}
    assert kept == before  # … and nothing else changed: the catalog is as it was
    assert cli(city.home, "status").exit_code == 6
    result = rebuild(city.home)
    assert result.exit_code == 0, result.output
    assert catalog_rows(city) == rows
    assert not list(city.home.glob(".catalog.sqlite.rebuild-*"))
