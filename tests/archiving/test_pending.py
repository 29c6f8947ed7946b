"""Packaging what the catalog holds: batches recorded, crashes adopted, errors keep earlier work."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.errors import InvalidInputError
from govarc.archiving import pending
from govarc.archiving.pending import package_pending
from govarc.ingest.pipeline import ingest
from govarc.package.verify import verify_package
from govarc.sign.agency import load_agency_signer
from govarc.sign.pki import init_ca, issue_agency, load_ca
from tests.citykit import make_city


class Passphrase:
    def passphrase(self, prompt: str, confirm: bool) -> bytes:
        return b"test-passphrase"


@pytest.fixture
def ws(tmp_path):
    city = make_city(tmp_path, n=7)
    workspace, _ = init_workspace(tmp_path / "home", city)
    with open_catalog(workspace.catalog_path) as cat:
        report = ingest(cat, workspace.objects, workspace.agency("SZF"), [tmp_path / "drop" / "SZF"], workers=1)
    assert report.count("registered") == 7
    return workspace


def package(ws, **kw):
    kw.setdefault("unsigned", True)  # these tests are about packaging; the key rule has its own tests
    with open_catalog(ws.catalog_path) as cat:
        return package_pending(cat, ws.objects, ws.package_store("SZF"), ws.tmp_dir, "SZF", **kw)


def rows(ws):
    with open_catalog(ws.catalog_path) as cat:
        return cat.conn.execute(
            "SELECT archival_code, state, package_tagmanifest_sha256, package_size, package_signed FROM records ORDER BY id"
        ).fetchall()


def forget_packages(ws, codes=None):
    """What the catalog looks like when a run died after building packages but before recording them."""
    with open_catalog(ws.catalog_path) as cat, cat.write() as conn:
        conn.execute("UPDATE records SET state='registered', package_path=NULL, package_tagmanifest_sha256=NULL, "
                     "package_size=NULL, package_signed=NULL, packaged_at=NULL"
                     + (f" WHERE archival_code IN ({','.join('?' * len(codes))})" if codes else ""), codes or ())


def test_every_record_is_packaged_and_recorded_with_its_size(ws):
    built = package(ws)
    assert len(built) == 7 and not any(p.adopted or p.signed for p in built)
    recorded = rows(ws)
    assert [r[1] for r in recorded] == ["packaged"] * 7
    for p, r in zip(sorted(built, key=lambda p: p.archival_code), sorted(recorded)):
        assert verify_package(p.path).valid
        on_disk = sum(f.stat().st_size for f in p.path.rglob("*") if f.is_file())
        assert (r[0], r[2], r[3], r[4]) == (p.archival_code, p.tagmanifest_sha256, on_disk, 0)
    assert list(ws.tmp_dir.iterdir()) == []  # staging folders are gone
    assert package(ws) == []


def test_packages_built_but_not_recorded_are_adopted_unchanged(ws):
    first = package(ws)
    before = rows(ws)
    lost = sorted(p.archival_code for p in first)[2:6]
    forget_packages(ws, lost)
    again = package(ws)
    assert sorted(p.archival_code for p in again) == lost
    assert all(p.adopted for p in again)
    assert rows(ws) == before  # same tag manifests and sizes as when they were built


def test_a_partial_package_at_the_destination_is_quarantined_and_rebuilt(ws):
    first = {p.archival_code: p for p in package(ws)}
    code = sorted(first)[0]
    (first[code].path / "bag-info.txt").unlink()
    forget_packages(ws, [code])
    (again,) = package(ws)
    assert again.archival_code == code and not again.adopted
    assert verify_package(again.path).valid
    assert len(list((ws.store_dir("SZF") / ".quarantine").iterdir())) == 1


def test_a_whole_package_of_other_content_under_the_same_code_is_never_adopted(ws, tmp_path):
    import shutil

    from govarc.package.build import build_package

    first = {p.archival_code: p for p in package(ws)}
    code = sorted(first)[0]
    # As if the catalog had been replaced: a whole, valid package of other content under this code.
    with open_catalog(ws.catalog_path) as cat:
        rid, name = cat.conn.execute(
            "SELECT records.id, name FROM records JOIN record_files ON records.id = record_id "
            "WHERE archival_code=? AND role='main'", (code,)).fetchone()
        record = pending.catalog_record(cat, rid)
    other = tmp_path / "other"
    other.mkdir()
    (other / name).write_bytes(b"%PDF-1.4\nanother document\n%%EOF\n")
    shutil.rmtree(first[code].path)
    build_package(other, record, first[code].path, durable=False)
    assert verify_package(first[code].path).valid
    forget_packages(ws, [code])
    (again,) = package(ws)
    assert again.archival_code == code and not again.adopted
    assert len(list((ws.store_dir("SZF") / ".quarantine").iterdir())) == 1
    assert (again.path / "data" / name).read_bytes() != b"%PDF-1.4\nanother document\n%%EOF\n"
    assert verify_package(again.path).valid


def test_a_failing_build_keeps_the_packages_built_before_it(ws):
    with open_catalog(ws.catalog_path) as cat:
        sha = cat.conn.execute(
            "SELECT sha256 FROM record_files JOIN records ON records.id = record_id ORDER BY records.id LIMIT 1 OFFSET 4"
        ).fetchone()[0]
    missing = ws.objects.path(sha)
    keep = missing.read_bytes()
    missing.unlink()
    with pytest.raises(InvalidInputError, match="missing from the object store"):
        package(ws)
    states = [r[1] for r in rows(ws)]
    assert states[:4] == ["packaged"] * 4 and states[4] == "registered"
    missing.write_bytes(keep)
    assert len(package(ws)) == 3 - states[5:].count("packaged")
    assert [r[1] for r in rows(ws)] == ["packaged"] * 7


def test_records_are_written_in_batches(ws, monkeypatch):
    monkeypatch.setattr(pending, "RECORD_EVERY", 3)
    seen = []

    def on_package(p):
        with open_catalog(ws.catalog_path) as cat:
            state = cat.conn.execute("SELECT state FROM records WHERE archival_code=?", (p.archival_code,)).fetchone()[0]
        seen.append(state)

    assert len(package(ws, on_package=on_package)) == 7
    assert seen == ["packaged"] * 7  # reported only once the catalog holds it


def test_signed_packages_are_recorded_as_signed(ws):
    ca_cert = init_ca(ws.pki_dir, "测试CA", b"test-passphrase")
    assert ca_cert is not None
    issue_agency(load_ca(ws.pki_dir, b"test-passphrase"), ws.keys_dir("SZF"), "SZF", "柳州市人民政府办公室", b"test-passphrase")
    signer = load_agency_signer(ws, "SZF", Passphrase())
    built = package(ws, signer=signer)
    assert all(p.signed for p in built)
    assert all(list((p.path / "signatures").glob("*.p7s")) for p in built)
    assert [r[4] for r in rows(ws)] == [1] * 7


def test_staging_left_by_a_dead_process_is_removed(ws):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    ws.tmp_dir.mkdir(exist_ok=True)
    for name in (f"stage-3-{pid}", f"stage-t0-{pid}"):
        (ws.tmp_dir / name).mkdir()
        (ws.tmp_dir / name / "正文.pdf").write_bytes(b"%PDF-1.4")
    alive = ws.tmp_dir / f"stage-t0-{os.getppid()}"
    alive.mkdir()
    package(ws)
    assert sorted(p.name for p in ws.tmp_dir.iterdir()) == [alive.name]


def test_without_a_key_nothing_is_built_unless_unsigned_is_wanted(ws):
    from govarc.errors import ConfigError

    before = rows(ws)
    for kw in ({}, {"keys": ws.keys_dir("SZF")}):
        with pytest.raises(ConfigError) as e:
            package(ws, unsigned=False, **kw)
        assert e.value.message.startswith("PACKAGE_NO_KEY: agency SZF has no signing key")
        assert e.value.exit_code == 6
    assert str(ws.keys_dir("SZF") / "key.pem") in e.value.message
    assert rows(ws) == before and not any(ws.store_dir("SZF").glob("*"))
    assert len(package(ws, unsigned=True)) == 7
    assert package(ws, unsigned=False) == []  # nothing pending: nothing to refuse
