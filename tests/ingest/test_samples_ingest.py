"""The committed sample city through the real ingest: every good document in, every bad one out.

Each folder of samples/bad is named by the code it must raise (samples/README.md); how many
documents it holds is read from the corpus it was generated from (samples/maker/corpus.toml), so a
case that silently stops being refused, or is refused for another reason, fails here.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.cli import main
from govarc.findings import CODES, Level
from govarc.ingest.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BAD = sorted(p for p in (SAMPLES / "bad").iterdir() if p.is_dir())
CASES = Counter(b["code"] for b in tomllib.loads((SAMPLES / "maker" / "corpus.toml").read_text("utf-8"))["bad"])

# The offending path each refusal of the hostile-input folders must name (a suffix of the finding's path).
OFFENDERS = {
    "INGEST_UNSAFE_PATH": ["/../../city.toml", "/etc/passwd", "/..\\..\\x"],
    "INGEST_TOO_LARGE": ["〔2024〕110号.json", "〔2024〕111号.json", "〔2024〕112号.json"],
    "INGEST_LINK": ["〔2024〕113号.pdf"],
}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every entry below ``root``, links not followed."""
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    ws, _ = init_workspace(tmp_path_factory.mktemp("city"), SAMPLES / "city.toml")
    return ws


def test_every_sample_document_of_every_agency_is_registered(city):
    total = 0
    with open_catalog(city.catalog_path) as cat:
        for agency in city.agencies:
            report = ingest(cat, city.objects, agency, [agency.drop], workers=2)
            assert not report.refused, [o.as_dict() for o in report.outcomes if o.status == "refused"]
            total += report.count("registered")
        formats = {r[0] for r in cat.conn.execute("SELECT DISTINCT format_name FROM record_files")}
    assert total >= 30
    assert {"PDF", "PDF/A", "OFD", "JPEG", "TIFF", "Office Open XML Document (DOCX)"} <= formats


@pytest.mark.parametrize("folder", BAD, ids=[p.name for p in BAD])
def test_every_bad_sample_raises_its_code(city, folder):
    code = folder.name
    refusal = CODES[code].level is Level.ERROR
    objects, samples = _tree(city.objects_dir), _tree(SAMPLES)
    with open_catalog(city.catalog_path) as cat:
        before = cat.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        report = ingest(cat, city.objects, city.agency("SZF"), [folder], workers=1)
        after = cat.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert len(report.outcomes) == CASES[code], [o.as_dict() for o in report.outcomes]
    for outcome in report.outcomes:
        codes = [f.code for f in outcome.findings]
        assert code in codes, outcome.as_dict()
        if refusal:
            assert outcome.status == "refused"
            # refused for its own reason, not for one the sample did not ask for
            assert {f.code for f in outcome.findings if f.level is Level.ERROR} == {code}, outcome.as_dict()
        else:
            assert outcome.status == "registered"
    if code in OFFENDERS:
        paths = sorted(f.path for o in report.outcomes for f in o.findings if f.code == code)
        assert len(paths) == len(OFFENDERS[code])
        for offender in OFFENDERS[code]:
            assert any(p.endswith(offender) for p in paths), (offender, paths)
    if refusal:
        assert after == before  # nothing of a refused item reached the catalog
        assert _tree(city.objects_dir) == objects  # nor the object store
    assert _tree(SAMPLES) == samples  # the inputs are never changed, links never followed into


@pytest.mark.parametrize("code", sorted(OFFENDERS))
def test_govarc_ingest_refuses_the_hostile_samples_with_exit_3_and_names_the_offender(tmp_path, code):
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(main, ["--home", str(home), "init", "--config", str(SAMPLES / "city.toml")]).exit_code == 0

    result = runner.invoke(main, ["--home", str(home), "--json", "ingest", str(SAMPLES / "bad" / code), "--agency", "SZF"])

    assert result.exit_code == 3, result.output
    report = json.loads(result.output)
    assert (report["registered"], report["refused"]) == (0, CASES[code])
    paths = [f["path"] for item in report["items"] for f in item["findings"] if f["code"] == code]
    assert all(any(p.endswith(o) for p in paths) for o in OFFENDERS[code]), paths
    assert not [p for p in (home / "objects").rglob("*") if not p.is_dir()]  # nothing stored
    assert not [p for p in (home / "store").rglob("*") if not p.is_dir()]
