"""`govarc init`, `agency add/list`, `status`, `ingest` and `package` through the CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner

from govarc.cli import main
from govarc.package.verify import verify_package
from tests.citykit import make_city, make_doc


def invoke(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def test_init_from_a_city_file_and_again_changes_nothing(tmp_path):
    city = make_city(tmp_path, n=1)
    home = tmp_path / "home"
    first = invoke(home, "--json", "init", "--config", str(city))
    assert first.exit_code == 0 and json.loads(first.output) == {"home": str(home.resolve()), "changed": True, "agencies": ["SZF"]}
    config = (home / "govarc.toml").read_bytes()
    again = invoke(home, "--json", "init", "--config", str(city))
    assert json.loads(again.output)["changed"] is False
    assert (home / "govarc.toml").read_bytes() == config


def test_agency_add_list_and_refusals(tmp_path):
    home = tmp_path / "home"
    assert invoke(home, "init").exit_code == 0
    added = invoke(home, "agency", "add", "CZJ", "--name", "柳州市财政局", "--fonds", "0035", "--unit", "CWK")
    assert added.exit_code == 0
    listed = json.loads(invoke(home, "--json", "agency", "list").output)
    assert [a["code"] for a in listed] == ["CZJ"] and listed[0]["fonds"] == "0035"
    dup = CliRunner().invoke(main, ["--home", str(home), "agency", "add", "CZJ", "--name", "x", "--fonds", "1"])
    assert dup.exit_code == 6 and "exists already" in dup.output
    bad = CliRunner().invoke(main, ["--home", str(home), "agency", "add", "C_1", "--name", "x", "--fonds", "1"])
    assert bad.exit_code == 6 and "letters, digits or hyphens" in bad.output


def test_commands_outside_a_workspace_exit_6(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "agency", "list"])
    assert result.exit_code == 6 and "govarc init" in result.output


def test_ingest_reports_refusals_and_exits_3_while_good_items_register(tmp_path):
    city = make_city(tmp_path, n=2)
    home = tmp_path / "home"
    invoke(home, "init", "--config", str(city))
    make_doc(tmp_path / "drop" / "SZF", 9, sidecar={"密级": "机密"})
    result = CliRunner().invoke(main, ["--home", str(home), "--json", "ingest", str(tmp_path / "drop" / "SZF"), "--agency", "SZF"])
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert (report["registered"], report["refused"]) == (2, 1)
    refused = [i for i in report["items"] if i["status"] == "refused"][0]
    assert refused["path"].endswith("9号.pdf") and refused["findings"][0]["code"] == "INGEST_CLASSIFIED"


def test_package_builds_every_pending_record_once(tmp_path):
    city = make_city(tmp_path, n=3)
    home = tmp_path / "home"
    invoke(home, "init", "--config", str(city))
    invoke(home, "ingest", str(tmp_path / "drop" / "SZF"), "--agency", "SZF")
    built = json.loads(invoke(home, "--json", "package").output)
    assert sorted(p["archival_code"] for p in built) == [
        "0012-WS·2024-D30-BGS-0001", "0012-WS·2024-Y-BGS-0001", "0012-WS·2024-Y-BGS-0002"]
    for p in built:
        assert verify_package(p["path"]).valid
    assert json.loads(invoke(home, "--json", "package").output) == []
    status = json.loads(invoke(home, "--json", "status").output)
    assert status[0]["records"] == 3 and status[0]["packages"] == 3


def test_an_agency_code_can_be_a_unified_social_credit_code(tmp_path):
    home = tmp_path / "home"
    invoke(home, "init")
    added = invoke(home, "agency", "add", "NTRCN-91450200MB1234567X", "--name", "柳州市财政局", "--fonds", "0035")
    assert added.exit_code == 0
    assert json.loads(invoke(home, "--json", "agency", "list").output)[0]["code"] == "NTRCN-91450200MB1234567X"
