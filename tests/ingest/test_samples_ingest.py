"""The committed sample city through the real ingest: every good document in, every bad one out."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.findings import CODES, Level
from govarc.ingest.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BAD = sorted(p for p in (SAMPLES / "bad").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    ws, _ = init_workspace(tmp_path_factory.mktemp("city"), SAMPLES / "city.toml")
    return ws


def test_every_sample_document_of_every_agency_is_registered(city):
    total = 0
    with open_catalog(city.catalog_path) as cat:
        for agency in city.agencies:
            report = ingest(cat, city.objects_dir, agency, [agency.drop], workers=2)
            assert not report.refused, [o.as_dict() for o in report.outcomes if o.status == "refused"]
            total += report.count("registered")
        formats = {r[0] for r in cat.conn.execute("SELECT DISTINCT format_name FROM record_files")}
    assert total >= 30
    assert {"PDF", "PDF/A", "OFD", "JPEG", "TIFF", "Office Open XML Document (DOCX)"} <= formats


@pytest.mark.parametrize("folder", BAD, ids=[p.name for p in BAD])
def test_every_bad_sample_raises_its_code(city, folder):
    code = folder.name
    with open_catalog(city.catalog_path) as cat:
        before = cat.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        report = ingest(cat, city.objects_dir, city.agency("SZF"), [folder], workers=1)
        after = cat.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert report.outcomes
    for outcome in report.outcomes:
        assert code in [f.code for f in outcome.findings], outcome.as_dict()
        if CODES[code].level is Level.ERROR:
            assert outcome.status == "refused"
        else:
            assert outcome.status == "registered"
    if CODES[code].level is Level.ERROR:
        assert after == before  # nothing of a refused item reached the catalog
