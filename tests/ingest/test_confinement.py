"""Nothing outside the drop folder gets into the catalog or the object store (issue 7, item 1).

Every path a sidecar (JSON, XML) or a register (CSV, XLSX) names must resolve inside the folder
being ingested, following nothing: absolute paths, ``..``, links (to outside or inside, as the
file or as a folder on the way), FIFOs, sockets and devices are refused with their code, the
refusal names the offending path, and a good document beside them is still registered.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from govarc.ingest.sources import discover
from tests.citykit import ingest_into as run
from tests.citykit import make_doc
from tests.ingest.hostile import (
    HOSTILE, Hostile, can_mknod, catalog_rows, describe, doc, make_socket, objects, register_csv, register_row,
    sidecar_json, sidecar_xml,
)

CARRIERS = ["json", "xml", "csv", "xlsx"]


def _only_good_registered(ws, report, good: Path) -> None:
    registered = [o for o in report.outcomes if o.status == "registered"]
    assert [o.path for o in registered] == [str(good)]
    rows = catalog_rows(ws)
    assert len(rows) == 1 and rows[0][1].endswith(good.name)
    assert len(objects(ws)) == 1  # the good document only


@pytest.mark.parametrize("carrier", CARRIERS)
@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_a_hostile_attachment_is_refused_with_its_code(ws, tmp_path, hostile: Hostile, carrier: str):
    drop, outside = tmp_path / "drop" / "SZF", tmp_path / "outside"
    good = make_doc(drop, 1)
    doc(drop, "doc.pdf")
    name = hostile.make(drop, outside, ws.home)
    describe(carrier, drop, "doc.pdf", [name])
    report = run(ws, drop)
    (refused,) = [o for o in report.outcomes if o.path == str(drop / "doc.pdf")]
    assert refused.status == "refused"
    assert (hostile.code, hostile.offending(drop, outside, ws.home)) in [(f.code, f.path) for f in refused.findings]
    assert all("\n" not in f.message for f in refused.findings)
    # the hostile file is not reported again as a document of its own
    assert all(Path(o.path).name != Path(name).name for o in report.outcomes if o.path != refused.path)
    _only_good_registered(ws, report, good)


@pytest.mark.parametrize("carrier", ["csv", "xlsx"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_a_register_row_naming_a_hostile_main_document_is_refused(ws, tmp_path, hostile: Hostile, carrier: str):
    drop, outside = tmp_path / "drop" / "SZF", tmp_path / "outside"
    good = make_doc(drop, 1)
    name = hostile.make(drop, outside, ws.home)
    rows = [register_row(name)]
    if carrier == "csv":
        register_csv(drop / "登记表.csv", rows)
    else:
        from tests.ingest.hostile import register_xlsx

        register_xlsx(drop / "登记表.xlsx", rows)
    report = run(ws, drop)
    refused = [o for o in report.outcomes if o.status == "refused"]
    offending = hostile.offending(drop, outside, ws.home)
    assert [(f.code, f.path) for o in refused for f in o.findings if f.code == hostile.code] == [(hostile.code, offending)]
    _only_good_registered(ws, report, good)


@pytest.mark.parametrize("carrier", ["json", "csv"])
def test_a_nul_byte_in_a_named_path_is_refused(ws, tmp_path, carrier):
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "doc.pdf")
    describe(carrier, drop, "doc.pdf", ["a.pdf\x00../../etc/passwd"])
    (o,) = [o for o in run(ws, drop).outcomes if o.path.endswith("doc.pdf")]
    assert o.status == "refused"
    (f,) = [f for f in o.findings if f.code == "INGEST_UNSAFE_PATH"]
    assert "\x00" not in f.path and "\\x00" in f.path and "NUL" in f.message
    assert catalog_rows(ws) == [] and objects(ws) == []


@pytest.mark.parametrize("carrier", ["xlsx", "xml"])
def test_a_nul_byte_cannot_be_smuggled_through_other_carriers(ws, tmp_path, carrier):
    """XLSX and XML cannot hold a NUL: the metadata itself is refused, nothing is stored."""
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "doc.pdf")
    if carrier == "xml":
        (drop / "doc.xml").write_bytes(
            b'<record xmlns="urn:govarc:record:1"><title>t</title><files><file role="attachment"><name>a\x00b</name>'
            b"</file></files></record>")
    else:
        from openpyxl.utils.exceptions import IllegalCharacterError

        with pytest.raises(IllegalCharacterError):
            from tests.ingest.hostile import register_xlsx

            register_xlsx(drop / "register.xlsx", [register_row("doc.pdf", "a.pdf\x00x")])
        return
    report = run(ws, drop)
    assert report.refused and catalog_rows(ws) == [] and objects(ws) == []
    assert {f.code for o in report.outcomes for f in o.findings} <= {"INGEST_METADATA_UNREADABLE", "INGEST_METADATA_MISSING"}


def _kinds() -> list[str]:
    return ["link-out", "link-in", "fifo", "socket"] + (["device"] if can_mknod() else [])


def _make(kind: str, path: Path, outside: Path) -> None:
    if kind == "link-out":
        doc(outside, "x.pdf")
        os.symlink(outside / "x.pdf", path)
    elif kind == "link-in":  # to a file inside the drop folder (hidden, so not a document of its own)
        doc(path.parent, ".real-" + path.name)
        os.symlink(".real-" + path.name, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        make_socket(path)
    else:
        import stat

        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))


def _code(kind: str) -> str:
    return "INGEST_LINK" if kind.startswith("link") else "INGEST_NOT_REGULAR"


@pytest.mark.parametrize("kind", _kinds())
def test_a_document_that_is_a_link_or_special_file_is_reported_as_such(ws, tmp_path, kind):
    drop = tmp_path / "drop" / "SZF"
    good = make_doc(drop, 1)
    _make(kind, drop / "doc.pdf", tmp_path / "outside")
    sidecar_json(drop / "doc.json")
    report = run(ws, drop)
    bad = [o for o in report.outcomes if o.path == str(drop / "doc.pdf")]
    assert [(f.code, f.path) for o in bad for f in o.findings] == [(_code(kind), str(drop / "doc.pdf"))]
    # its sidecar is claimed by it, not reported as a document without a sidecar
    assert not any(f.code == "INGEST_METADATA_MISSING" for o in report.outcomes for f in o.findings)
    _only_good_registered(ws, report, good)


@pytest.mark.parametrize("suffix", [".json", ".xml"])
@pytest.mark.parametrize("kind", _kinds())
def test_a_sidecar_that_is_a_link_or_special_file_is_refused(ws, tmp_path, kind, suffix):
    drop = tmp_path / "drop" / "SZF"
    good = make_doc(drop, 1)
    doc(drop, "doc.pdf")
    outside = tmp_path / "outside"
    if kind.startswith("link"):
        target = (outside if kind == "link-out" else drop / "meta") / f"doc{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        sidecar_json(target) if suffix == ".json" else sidecar_xml(target)
        os.symlink(target, drop / f"doc{suffix}")
    else:
        _make(kind, drop / f"doc{suffix}", outside)
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.path == str(drop / "doc.pdf")]
    assert o.status == "refused"
    assert [(f.code, f.path) for f in o.findings] == [(_code(kind), str(drop / f"doc{suffix}"))]
    _only_good_registered(ws, report, good)


@pytest.mark.parametrize("name", ["register.csv", "登记表.xlsx"])
@pytest.mark.parametrize("kind", _kinds())
def test_a_register_that_is_a_link_or_special_file_is_refused(ws, tmp_path, kind, name):
    drop = tmp_path / "drop" / "SZF"
    good = make_doc(drop, 1)
    outside = tmp_path / "outside"
    if kind.startswith("link"):
        target = outside / name
        outside.mkdir(parents=True, exist_ok=True)
        register_csv(target, [register_row("doc.pdf")])
        os.symlink(target, drop / name)
    else:
        _make(kind, drop / name, outside)
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.path == str(drop / name)]
    assert [(f.code, f.path) for f in o.findings] == [(_code(kind), str(drop / name))]
    _only_good_registered(ws, report, good)


def test_a_linked_folder_in_the_drop_folder_is_refused_not_followed(ws, tmp_path):
    drop, outside = tmp_path / "drop" / "SZF", tmp_path / "outside"
    good = make_doc(drop, 1)
    make_doc(outside, 2)
    os.symlink(outside, drop / "more")
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.status == "refused"]
    assert [(f.code, f.path) for f in o.findings] == [("INGEST_LINK", str(drop / "more"))]
    _only_good_registered(ws, report, good)


def test_a_drop_folder_that_is_itself_a_link_is_followed(ws, tmp_path):
    """The folder named on the command line or in the configuration is the user's choice."""
    real = tmp_path / "exports" / "SZF"
    make_doc(real, 1)
    os.symlink(real, tmp_path / "drop-link")
    assert run(ws, tmp_path / "drop-link").count("registered") == 1


# -- a single file named directly ---------------------------------------------------------------


def test_a_sidecar_named_directly_ingests_its_document(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    pdf = make_doc(drop, 1)
    make_doc(drop, 2)
    report = run(ws, pdf.with_suffix(".json"))
    assert [(o.path, o.status) for o in report.outcomes] == [(str(pdf), "registered")]


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_a_document_named_directly_finds_its_sidecar(ws, tmp_path, suffix):
    drop = tmp_path / "drop" / "SZF"
    pdf = doc(drop, "doc.pdf")
    sidecar_json(drop / "doc.json") if suffix == ".json" else sidecar_xml(drop / "doc.xml")
    make_doc(drop, 2)
    report = run(ws, pdf)
    assert [(o.path, o.status) for o in report.outcomes] == [(str(pdf), "registered")]


def test_a_register_named_directly_ingests_its_rows(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "a.pdf")
    doc(drop, "b.pdf")
    register = register_csv(drop / "register.csv", [register_row("a.pdf"), register_row("b.pdf")])
    report = run(ws, register)
    assert [(Path(o.path).name, o.status) for o in report.outcomes] == [("a.pdf", "registered"), ("b.pdf", "registered")]


def test_a_document_named_directly_finds_its_register_row(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    pdf = doc(drop, "a.pdf")
    register_csv(drop / "register.csv", [register_row("a.pdf")])
    assert [(o.path, o.status) for o in run(ws, pdf).outcomes] == [(str(pdf), "registered")]


def test_a_single_file_is_confined_to_its_folder(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    doc(drop.parent, "x.pdf")
    pdf = doc(drop, "doc.pdf")
    sidecar_json(drop / "doc.json", 附件=["../x.pdf"])
    (o,) = run(ws, pdf).outcomes
    assert [(f.code, f.path) for f in o.findings] == [("INGEST_UNSAFE_PATH", str(drop / "../x.pdf"))]
    assert catalog_rows(ws) == []


@pytest.mark.parametrize("kind", _kinds())
def test_a_link_or_special_file_named_directly_is_refused(ws, tmp_path, kind):
    drop = tmp_path / "drop" / "SZF"
    drop.mkdir(parents=True, exist_ok=True)
    _make(kind, drop / "doc.pdf", tmp_path / "outside")
    sidecar_json(drop / "doc.json")
    (o,) = run(ws, drop / "doc.pdf").outcomes
    assert [(f.code, f.path) for f in o.findings] == [(_code(kind), str(drop / "doc.pdf"))]
    assert catalog_rows(ws) == [] and objects(ws) == []


def test_windows_separators_in_a_register_reach_a_subfolder(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    doc(drop / "正文", "a.pdf")
    register_csv(drop / "register.csv", [register_row("正文\\a.pdf")])
    report = run(ws, drop)
    assert [o.status for o in report.outcomes] == ["registered"]


def test_discovery_opens_nothing_it_refuses(tmp_path):
    """A FIFO named everywhere: discovery returns at once (a read would block forever)."""
    drop = tmp_path / "in"
    drop.mkdir()
    os.mkfifo(drop / "pipe.pdf")
    os.mkfifo(drop / "pipe.json")
    os.mkfifo(drop / "register.csv")
    doc(drop, "doc.pdf")
    sidecar_json(drop / "doc.json", 附件=["pipe.pdf"])
    items = {it.main.name: [(f.code, Path(f.path).name) for f in it.findings] for it in discover([drop])}
    assert items == {
        "doc.pdf": [("INGEST_NOT_REGULAR", "pipe.pdf")],  # its attachment
        "pipe.pdf": [("INGEST_NOT_REGULAR", "pipe.pdf")],  # a document with a sidecar (itself a FIFO)
        "register.csv": [("INGEST_NOT_REGULAR", "register.csv")],
    }


# -- encodings (issue 7, item 11): a BOM, GB18030, NFD names -------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_a_sidecar_with_a_utf8_bom_is_accepted(ws, tmp_path, suffix):
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "doc.pdf")
    if suffix == ".json":
        sidecar_json(drop / "doc.json")
        (drop / "doc.json").write_bytes(b"\xef\xbb\xbf" + (drop / "doc.json").read_bytes())
    else:
        sidecar_xml(drop / "doc.xml", bom=True)
    assert (drop / f"doc{suffix}").read_bytes().startswith(b"\xef\xbb\xbf")
    assert [o.status for o in run(ws, drop).outcomes] == ["registered"]


def test_a_gb18030_register_and_nfd_names_still_work(ws, tmp_path):
    import unicodedata

    drop = tmp_path / "drop" / "SZF"
    nfd = unicodedata.normalize("NFD", "Café-通知.pdf")
    assert nfd != unicodedata.normalize("NFC", nfd)
    doc(drop, nfd)
    doc(drop, "附件1.pdf")
    register_csv(drop / "登记表.csv", [register_row(nfd, "附件1.pdf")], encoding="gb18030")
    report = run(ws, drop)
    assert [o.status for o in report.outcomes] == ["registered"]
    from govarc.catalog.db import open_catalog

    with open_catalog(ws.catalog_path) as cat:
        names = [r[0] for r in cat.conn.execute("SELECT name FROM record_files ORDER BY position")]
    assert names == [unicodedata.normalize("NFC", nfd), "附件1.pdf"]
