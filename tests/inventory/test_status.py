"""`govarc status`: the transfer and exchange states per agency, in the table and with --json."""

from __future__ import annotations

import json

import pytest

from govarc.catalog.summary import InventoryState
from govarc.workspace import Workspace
from tests.inventory.conftest import EXPECTED_STATES, run


def test_status_json_gives_each_agencys_states(states_city: Workspace) -> None:
    for args in (("status", "--json"), ("--json", "status")):
        r = run(states_city.home, *args)
        assert r.exit_code == 0, r.output
        rows = {row["agency"]: row for row in json.loads(r.stdout)}
        assert list(rows) == ["SZF", "CZJ"]
        szf, czj = rows["SZF"], rows["CZJ"]
        for code, row in rows.items():
            assert row["states"] == {s.value: EXPECTED_STATES.get((code, s.value), 0) for s in InventoryState}
            assert sum(row["states"].values()) == row["records"]
        assert (szf["records"], szf["packages"], szf["signed"]) == (8, 7, 7)
        assert (szf["transferred"], szf["awaiting_receipt"], szf["accepted"], szf["rejected"]) == (7, 2, 4, 1)
        assert (czj["records"], czj["packages"], czj["signed"], czj["transferred"]) == (3, 3, 0, 0)
        assert szf["exchange"] == czj["exchange"] == {"sent": 0, "recipients": 0, "signed_for": 0, "returned": 0,
                                                      "overdue": 0}


def test_status_table_keeps_its_lines_and_adds_the_flows(states_city: Workspace) -> None:
    r = run(states_city.home, "status")
    assert r.exit_code == 0, r.output
    assert "机构 agency" in r.output and "已签名 signed" in r.output  # the table as it was
    assert "移交与交换 transfer and exchange" in r.output and "待回执" in r.output and "逾期" in r.output
    [szf] = [line for line in r.output.splitlines() if line.startswith("│ SZF") and "人民政府" not in line]
    assert [c.strip() for c in szf.strip("│ ").split("│")] == ["SZF", "7", "2", "4", "1", "0", "0", "0", "0"]


def test_status_of_one_agency(states_city: Workspace) -> None:
    r = run(states_city.home, "status", "--agency", "CZJ", "--json")
    assert r.exit_code == 0, r.output
    assert [row["agency"] for row in json.loads(r.stdout)] == ["CZJ"]


@pytest.mark.parametrize("code", ["NOPE", "szf", "../SZF", ""])
def test_status_of_an_unknown_agency_is_exit_2_with_the_choices(states_city: Workspace, code: str) -> None:
    r = run(states_city.home, "status", "--agency", code)
    assert r.exit_code == 2 and "choose from: SZF, CZJ" in r.stderr and r.stdout == ""
