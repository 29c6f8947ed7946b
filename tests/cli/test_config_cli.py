"""Configuration mistakes are caught when made: govarc.toml, city files, `agency add`; and `--json` errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.cli import main
from govarc.workspace import KEY_ALGORITHMS, SECTIONS
from tests.citykit import make_city

AGENCY = '[[agency]]\ncode = "SZF"\nname = "柳州市人民政府办公室"\nfonds = "0012"\n'
GOOD = ('[workspace]\nschema = 1\nworkers = 2\n\n[package]\nzip = false\nsm3 = true\n\n'
        '[pki]\nidentity_oid = "2.5.4.97"\nkey_algorithm = "ec-p256"\n\n' + AGENCY)


def run(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--home", str(home), *args])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    assert run(h, "init").exit_code == 0
    return h


def test_a_correct_config_with_every_key_loads(home: Path) -> None:
    (home / "govarc.toml").write_text(GOOD + 'accepted_formats = ["PDF/A", "OFD", "image/png"]\nunsigned = true\n'
                                      'fonds_name = "x"\nunit = "BGS"\ncategory = "WS"\nallow_classified = false\n',
                                      encoding="utf-8")
    r = run(home, "--json", "agency", "list")
    assert r.exit_code == 0, r.output
    assert [a["code"] for a in json.loads(r.stdout)] == ["SZF"]


# (what to change in GOOD, what the one error line must say)
BAD = [
    (("[package]", "[pakage]"), "unknown section `pakage` in govarc.toml (did you mean `package`?)"),
    (("zip = false", "zipp = true"), "unknown key `zipp` in [package] (did you mean `zip`?)"),
    (("workers = 2", "worker = 2"), "unknown key `worker` in [workspace] (did you mean `workers`?)"),
    (('fonds = "0012"\n', 'fonds = "0012"\ndorp = "drop/SZF"\n'), "unknown key `dorp` in [[agency]] SZF (did you mean `drop`?)"),
    (('fonds = "0012"\n', 'fonds = "0012"\nunsinged = true\n'), "unknown key `unsinged` in [[agency]] SZF (did you mean `unsigned`?)"),
    (('fonds = "0012"\n', 'fonds = "0012"\naccepted_formats = ["application/pdff"]\n'),
     "agency SZF: `accepted_formats` names 'application/pdff', which is no MIME type or format name govarc identifies "
     "(did you mean 'application/pdf'?)"),
    (('fonds = "0012"\n', 'fonds = "0012"\naccepted_formats = ["PDF/B"]\n'), "names 'PDF/B', which is no MIME type"),
    (('fonds = "0012"\n', 'fonds = "0012"\naccepted_formats = ["application/PDF"]\n'), "names 'application/PDF'"),
    (('fonds = "0012"\n', 'fonds = "0012"\naccepted_formats = "application/pdf"\n'), "`accepted_formats` must be a list"),
    (('fonds = "0012"\n', 'fonds = "0012"\nallow_classified = "no"\n'), "`agency SZF: allow_classified` must be true or false"),
    (('fonds = "0012"\n', 'fonds = "0012"\nunsigned = 1\n'), "`agency SZF: unsigned` must be true or false, not 1"),
    (('fonds = "0012"\n', 'fonds = 12\n'), "`fonds` 12 must be 1-16 letters or digits"),
    (('name = "柳州市人民政府办公室"', 'name = ["x"]'), "agency SZF: `name` must be a string, not ['x']"),
    (('fonds = "0012"\n', 'fonds = "0012"\ndrop = 5\n'), "agency SZF: `drop` must be a string, not 5"),
    (("workers = 2", 'workers = "2"'), "`workspace.workers` must be a whole number ≥ 0, not '2'"),
    (("workers = 2", "workers = true"), "`workspace.workers` must be a whole number ≥ 0, not True"),
    (("workers = 2", "workers = -1"), "not -1"),
    (("zip = false", 'zip = "yes"'), "`package.zip` must be true or false, not 'yes'"),
    (("sm3 = true", "sm3 = 1"), "`package.sm3` must be true or false, not 1"),
    (("schema = 1", "schema = 2"), "config schema 2 is not 1"),
    (("schema = 1", "schema = true"), "config schema True is not 1"),
    (('key_algorithm = "ec-p256"', 'key_algorithm = "rsa-3072"'), "`pki.key_algorithm` must be one of ec-p256, rsa3072"),
    (('identity_oid = "2.5.4.97"', 'identity_oid = "organizationIdentifier"'), "`pki.identity_oid` must be a dotted OID"),
    (("[pki]\n", "pki = 3\n[pkix]\n"), "unknown section `pkix` in govarc.toml"),
    (("[workspace]\nschema = 1\nworkers = 2\n", "workspace = 1\n"), "`workspace` must be a table ([workspace])"),
    (("[[agency]]", "[agency]"), "`agency` must be an array of tables ([[agency]])"),
    (("[package]", "[package\n"), "not valid TOML"),
]


@pytest.mark.parametrize(("change", "expected"), BAD, ids=[b[0][1].split("\n")[0][:30] for b in BAD])
def test_config_mistakes_are_one_line_naming_the_key_and_the_file(home: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    config = home / "govarc.toml"
    config.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    before = sorted(p.name for p in home.iterdir())
    for args in (("status",), ("agency", "list"), ("nightly",)):
        r = run(home, *args)
        assert r.exit_code == 6, (args, r.output)
        (line,) = r.stderr.strip().splitlines()
        assert line.startswith(f"govarc: error: {config}: ") and expected in line, line
    js = run(home, "--json", "status")
    error = json.loads(js.stdout)["error"]
    assert js.exit_code == 6 and error["code"] == "config" and error["path"] == str(config) and expected in error["message"]
    assert sorted(p.name for p in home.iterdir()) == before  # nothing written, no catalog or lock touched


def test_a_config_file_that_is_not_utf8_is_one_line(home: Path) -> None:
    (home / "govarc.toml").write_bytes(GOOD.encode("gb18030"))
    r = run(home, "status")
    assert r.exit_code == 6 and "not valid TOML" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_the_known_values_agree_with_the_code() -> None:
    from govarc.sign.keys import KeyAlgorithm

    assert set(KEY_ALGORITHMS) == {a.value for a in KeyAlgorithm}
    assert set(SECTIONS) == {"workspace", "package", "pki"}


CITY_BAD = [
    ("[[agency]]\n", "[[agnecy]]\n", "unknown section `agnecy` in the city file (only [[agency]] tables) (did you mean `agency`?)"),
    ("[[agency]]\n", "[package]\nzip = true\n\n[[agency]]\n", "unknown section `package` in the city file"),
    ('drop = "drop/SZF"', 'dorp = "drop/SZF"', "unknown key `dorp` in [[agency]] SZF (did you mean `drop`?)"),
    ('unit = "BGS"', 'unit = "BGS"\naccepted_formats = ["image/jpg"]', "names 'image/jpg'"),
    ('unit = "BGS"', 'unit = "BGS"\nallow_classified = "false"', "allow_classified` must be true or false"),
]


@pytest.mark.parametrize(("old", "new", "expected"), CITY_BAD, ids=[c[1][:20] for c in CITY_BAD])
def test_city_file_mistakes_are_caught_by_init(tmp_path: Path, old: str, new: str, expected: str) -> None:
    city = make_city(tmp_path, n=0)
    text = city.read_text(encoding="utf-8")
    assert old in text
    city.write_text(text.replace(old, new, 1), encoding="utf-8")
    home = tmp_path / "home"
    r = run(home, "init", "--config", str(city))
    assert r.exit_code == 6
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"govarc: error: {city}: ") and expected in line, line
    assert not home.exists()  # nothing created


def test_agency_add_checks_its_drop_folder_and_formats(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-drop"
    r = run(home, "agency", "add", "CZJ", "--name", "柳州市财政局", "--fonds", "0035", "--drop", str(missing))
    assert r.exit_code == 6
    assert r.stderr == f"govarc: error: {missing}: `--drop` names no existing folder; create it first\n"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    r = run(home, "agency", "add", "CZJ", "--name", "柳州市财政局", "--fonds", "0035", "--drop", str(a_file))
    assert r.exit_code in (2, 6)  # click refuses a file for a folder option (usage), else ours
    r = run(home, "agency", "add", "CZJ", "--name", "柳州市财政局", "--fonds", "0035", "--accept", "application/pdff")
    assert r.exit_code == 6 and "'application/pdff'" in r.stderr and "did you mean 'application/pdf'" in r.stderr
    assert "CZJ" not in (home / "govarc.toml").read_text(encoding="utf-8")
    (tmp_path / "drop").mkdir()
    r = run(home, "--json", "agency", "add", "CZJ", "--name", "柳州市财政局", "--fonds", "0035", "--drop", str(tmp_path / "drop"),
            "--accept", "PDF/A", "--unsigned")
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)
    assert added["unsigned"] is True and added["accepted_formats"] == ["PDF/A"] and added["drop"] == str(tmp_path / "drop")


# -- --json errors from real commands ----------------------------------------------------------------

def test_json_errors_from_real_commands(tmp_path: Path, home: Path) -> None:
    nowhere = tmp_path / "nowhere"
    r = run(nowhere, "--json", "nightly")
    assert r.exit_code == 6 and len(r.stderr.strip().splitlines()) == 1
    assert json.loads(r.stdout) == {"error": {"code": "config", "message": "no workspace here (no govarc.toml); run `govarc init` first",
                                              "path": str(nowhere.resolve())}, "exit_code": 6}
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(b"%PDF-1.4\n%%EOF\n")
    r = run(home, "--json", "ingest", str(doc), "--agency", "NOPE")
    assert r.exit_code == 6 and json.loads(r.stdout) == {
        "error": {"code": "config", "message": "unknown agency 'NOPE'; known: none", "path": None}, "exit_code": 6}
    r = run(home, "--json", "package", "build", str(doc), "--metadata", str(tmp_path / "none.json"), "--out", str(tmp_path / "p"))
    assert r.exit_code == 3 and json.loads(r.stdout)["error"]["code"] == "invalid"
    r = run(home, "--json", "sign", str(doc), "--agency", "NOPE")
    assert r.exit_code == 6 and json.loads(r.stdout)["error"]["message"].startswith("unknown agency 'NOPE'")
    # verify reports findings: its JSON report is the one object, with exit code 3
    r = run(home, "--json", "verify", str(tmp_path / "missing"))
    assert r.exit_code == 3 and json.loads(r.stdout)["packages"][0]["findings"][0]["code"] == "PKG_NOT_FOUND"


def test_json_success_output_is_unchanged_and_usage_errors_stay_2(home: Path) -> None:
    assert json.loads(run(home, "--json", "agency", "list").stdout) == []
    assert json.loads(run(home, "--json", "status").stdout) == []
    assert json.loads(run(home, "--json", "init").stdout)["changed"] is False
    for args in (("agency", "add", "X"), ("sign", "--bogus"), ("verify", "--at"), ("nosuchcommand",)):
        r = run(home, "--json", *args)
        assert r.exit_code == 2 and r.stdout == "", args


def test_a_real_oserror_is_one_line_naming_the_file(tmp_path: Path) -> None:
    city = make_city(tmp_path, n=1)
    home = tmp_path / "home"
    assert run(home, "init", "--config", str(city)).exit_code == 0
    assert run(home, "ingest", str(tmp_path / "drop" / "SZF"), "--agency", "SZF").exit_code == 0
    store = home / "store" / "SZF"
    store.parent.mkdir(exist_ok=True)
    store.write_text("not a folder")  # where the agency's store should be
    r = run(home, "--json", "package")
    assert r.exit_code == 1
    (line,) = r.stderr.strip().splitlines()
    assert line == f"govarc: error: {store}: File exists"
    assert json.loads(r.stdout) == {"error": {"code": "unexpected", "message": "File exists", "path": str(store)}, "exit_code": 1}


def test_a_fifo_or_huge_city_file_is_refused_without_blocking(tmp_path: Path) -> None:
    """`init --config` on a FIFO must not hang, and an oversized file is refused, each with exit 6."""
    import os
    import subprocess
    import sys

    fifo = tmp_path / "city.toml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    for city, words in ((fifo, "not a regular file"), (huge, "larger than")):
        r = subprocess.run([sys.executable, "-m", "govarc", "--home", str(tmp_path / "home"), "init",
                            "--config", str(city)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 6, r.stderr
        assert words in r.stderr and str(city) in r.stderr and r.stderr.count("\n") == 1
