"""record.xml names each file's format as ingest identifies it: OFD is OFD, PDF/A is PDF/A.

Built from the committed samples (samples/README.md: the OFD and PDF/A documents of SZF and CZJ),
both by ``govarc package build`` (folder and .zip) and by the nightly path, where
``package_pending`` builds what ingest registered: there record.xml must say what the catalog says.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.ingest.pipeline import ingest
from govarc.package.metadata import NS
from govarc.archiving.pending import package_pending
from govarc.package.reader import open_package
from govarc.package.verify import verify_package

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DROP = SAMPLES / "drop"

# file in samples/drop -> (mime, format name, version) that ingest records for it
EXPECTED = {
    "SZF/柳政发(2024)9号.ofd": ("application/ofd", "OFD", "1.0"),
    "CZJ/CZJ-2024-003.ofd": ("application/ofd", "OFD", "1.0"),
    "SZF/柳政办发〔2024〕15号.pdf": ("application/pdf", "PDF/A", "1b"),
    "CZJ/CZJ-2024-015.pdf": ("application/pdf", "PDF/A", "2b"),
    "SZF/柳政发〔2007〕12号.jpg": ("image/jpeg", "JPEG", "1.01"),
    "SZF/柳政发〔2024〕5号.pdf": ("application/pdf", "PDF", None),  # version checked below: a plain PDF
}


def record_formats(package: Path) -> dict[str, tuple[str, str, str | None]]:
    with open_package(package) as r:
        root = etree.fromstring(r.read("metadata/record.xml"))
    ns = {"r": NS}
    out = {}
    for fe in root.iterfind("r:files/r:file", ns):
        out[fe.findtext("r:name", namespaces=ns)] = (
            fe.findtext("r:format/r:mime", namespaces=ns),
            fe.findtext("r:format/r:name", namespaces=ns),
            fe.findtext("r:format/r:version", namespaces=ns),
        )
    return out


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """One folder holding a copy of each sample in EXPECTED, named as in the drop folder."""
    folder = tmp_path / "source"
    folder.mkdir()
    for rel in EXPECTED:
        shutil.copyfile(DROP / rel, folder / Path(rel).name)
    return folder


def check(formats: dict[str, tuple[str, str, str | None]]) -> None:
    assert set(formats) == {Path(rel).name for rel in EXPECTED}
    for rel, (mime, name, version) in EXPECTED.items():
        got = formats[Path(rel).name]
        assert got[:2] == (mime, name), (rel, got)
        if version is not None:
            assert got[2] == version, (rel, got)
        else:
            assert got[2] and got[2][0].isdigit(), (rel, got)


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_package_build_names_ofd_and_pdfa(runner, tmp_path: Path, source: Path, metadata_writer, zipped: bool) -> None:
    from govarc.cli import main

    meta = metadata_writer(tmp_path / "meta.json", **{"正文": "柳政发(2024)9号.ofd"})
    out = tmp_path / ("pkg.zip" if zipped else "pkg")
    args = ["--home", str(tmp_path / "home"), "package", "build", str(source), "--metadata", str(meta), "--out", str(out)]
    result = runner.invoke(main, args + (["--zip"] if zipped else []))
    assert result.exit_code == 0, result.output
    check(record_formats(out))
    assert verify_package(out).findings == ()


def test_nightly_packages_say_what_the_catalog_knows(tmp_path: Path) -> None:
    """Ingest the samples' OFD and PDF/A documents, package them as the nightly job does, compare."""
    ws, _ = init_workspace(tmp_path / "home", SAMPLES / "city.toml")
    docs = [DROP / rel for rel in EXPECTED if rel.startswith("SZF/")]
    with open_catalog(ws.catalog_path) as cat:
        report = ingest(cat, ws.objects, ws.agency("SZF"), docs, workers=1)
        assert report.count("registered") == len(docs), [o.as_dict() for o in report.outcomes]
        built = package_pending(cat, ws.objects, ws.package_store("SZF"), ws.tmp_dir, "SZF", unsigned=True)
        catalog = {
            name: (mime, fmt, version)
            for name, mime, fmt, version in cat.conn.execute(
                "SELECT name, mime, format_name, format_version FROM record_files")
        }
    assert len(built) == len(docs)
    seen = {}
    for p in built:
        assert verify_package(p.path).valid
        seen.update(record_formats(p.path))
    assert seen == catalog  # the package says what the catalog knows
    for rel in EXPECTED:
        if rel.startswith("SZF/"):
            assert seen[Path(rel).name][:2] == EXPECTED[rel][:2]
    assert seen["柳政发(2024)9号.ofd"] == ("application/ofd", "OFD", "1.0")
    assert seen["柳政办发〔2024〕15号.pdf"] == ("application/pdf", "PDF/A", "1b")
