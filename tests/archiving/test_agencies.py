"""Packaging and signing for every agency of a workspace: one call each, a report with its exit code."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.archiving.agencies import AgencySigning, SigningReport, package_agencies, sign_agencies
from govarc.archiving.pending import SignFailure
from govarc.catalog.db import open_catalog
from govarc.errors import ConfigError
from govarc.ingest.pipeline import ingest
from tests.citykit import make_city


@pytest.fixture
def ws(tmp_path):
    city = make_city(tmp_path, n=3)
    workspace, _ = init_workspace(tmp_path / "home", city)
    with open_catalog(workspace.catalog_path) as cat:
        ingest(cat, workspace.objects, workspace.agency("SZF"), [tmp_path / "drop" / "SZF"], workers=1)
    return workspace


def test_the_signing_report_exits_with_the_first_failure():
    fail = lambda code: SignFailure("0012-WS·2024-Y-BGS-0001", Path("p"), "no", code)  # noqa: E731
    report = SigningReport((AgencySigning("SZF"), AgencySigning("CZJ", failed=(fail(4), fail(3))),
                            AgencySigning("DAJ", failed=(fail(1),))))
    assert report.exit_code == 4 and report.as_dict()["exit_code"] == 4
    assert SigningReport((AgencySigning("SZF", unsigned_without_key=2),)).exit_code == 0


def test_package_then_sign_every_agency(ws):
    opened = []

    @contextmanager
    def progress(code):
        opened.append(code)
        yield None

    szf = ws.agency("SZF")
    packaged = package_agencies(ws, [szf], lambda agency: None, progress=progress)
    assert len(packaged.packaged) == 3 and packaged.exit_code == 0 and opened == ["SZF"]
    assert not any(p.signed for p in packaged.packaged)

    with pytest.raises(ConfigError, match="^PACKAGE_NO_KEY: agency SZF"):
        sign_agencies(ws, [szf], lambda code: None, lambda *a: None, only=True)
    report = sign_agencies(ws, [szf], lambda code: None, lambda *a: None)
    assert report.as_dict() == {"agencies": [{"agency": "SZF", "signed": [], "failed": [], "unsigned_without_key": 3}],
                                "exit_code": 0}
