"""`govarc --help` and `govarc verify` start without loading what they do not use.

No timing here (bench/package_bench.py measures it): these tests pin which modules a fresh
interpreter has loaded after each command, which is what the start-up time follows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from govarc.cli import _COMMANDS, _SUMMARIES, main

# Run `govarc ARGS` in a fresh interpreter, then report the exit code, stdout and loaded modules.
PROBE = r"""
import io, sys
from contextlib import redirect_stdout
import click
from govarc.cli import main
args = sys.argv[1:]
if args[:1] == ["--load-every-command"]:  # as if each command were asked for its own help line
    args = args[1:]
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        main.get_command(ctx, name)
buf = io.StringIO()
try:
    with redirect_stdout(buf):
        main(args, prog_name="govarc", standalone_mode=True)
    code = 0
except SystemExit as e:
    code = e.code or 0
modules = sorted(sys.modules)
import json  # after the list is taken
print(json.dumps({"code": code, "out": buf.getvalue(), "modules": modules}))
"""

# Heavy modules a listing of the commands never needs.
HEAVY_FOR_HELP = ("logging", "traceback", "pypdf", "cryptography", "asn1crypto", "lxml", "boto3", "botocore",
                  "paramiko", "magic", "rich", "sqlite3", "json", "zipfile", "tomllib", "govarc.catalog",
                  "govarc.package", "govarc.sign", "govarc.transport", "govarc.workspace")
# Modules `govarc verify` of a package never needs (it does need cryptography for signatures).
HEAVY_FOR_VERIFY = ("logging", "traceback", "difflib", "pypdf", "boto3", "botocore", "paramiko", "magic", "rich",
                    "sqlite3", "tomli_w", "govarc.catalog", "govarc.transport", "govarc.ingest", "govarc.formats",
                    "govarc.archiving", "govarc.exchange", "govarc.store", "govarc.sign.pki", "govarc.package.metadata")
# ...and of a package folder with text output: zipfile is for zips, json for --json.
HEAVY_FOR_VERIFY_FOLDER_TEXT = (*HEAVY_FOR_VERIFY, "zipfile", "json")


def probe(*args: str, cwd: Path | None = None) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"}, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def loaded(modules: object, heavy: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return sorted(m for m in modules for h in heavy if m == h or m.startswith(h + "."))


def test_every_command_has_a_summary_that_matches_its_docstring() -> None:
    ctx = click.Context(main)
    assert set(_SUMMARIES) == set(_COMMANDS), "add the command's first docstring sentence to _SUMMARIES"
    for name in _COMMANDS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None
        stand_in = click.Command(name, help=_SUMMARIES[name])
        for limit in (30, 45, 60, 74, 10_000):
            assert stand_in.get_short_help_str(limit) == cmd.get_short_help_str(limit), (name, limit)


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_help_loads_no_command(args: list[str]) -> None:
    found = probe(*args)
    assert found["code"] == 0
    assert loaded(found["modules"], HEAVY_FOR_HELP) == []
    assert loaded(found["modules"], tuple(m for m, _ in _COMMANDS.values())) == []
    # The same listing as when every command is loaded and asked for its own help line.
    full = probe("--load-every-command", *args)
    assert full["code"] == 0
    assert "govarc.cli.verify" in full["modules"]  # type: ignore[operator]
    assert found["out"] == full["out"]
    for name in _COMMANDS:
        assert f"\n  {name} " in str(found["out"])


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_verify_loads_only_what_verifying_needs(build_sample: Callable[..., Path], tmp_path: Path, zipped: bool) -> None:
    pkg = build_sample("pkg.zip" if zipped else "pkg", zip=zipped)
    found = probe("--json", "verify", "--allow-unsigned", str(pkg), cwd=tmp_path)
    assert found["code"] == 0, found["out"]
    assert json.loads(str(found["out"]))["packages"][0]["valid"] is True
    assert loaded(found["modules"], HEAVY_FOR_VERIFY) == []
    assert ("zipfile" in found["modules"]) is zipped  # type: ignore[operator]
    text = probe("verify", "--allow-unsigned", str(pkg), cwd=tmp_path)
    assert text["code"] == 0 and str(text["out"]).startswith("有效 VALID"), text["out"]
    assert loaded(text["modules"], HEAVY_FOR_VERIFY_FOLDER_TEXT if not zipped else HEAVY_FOR_VERIFY) == []


def test_verify_of_a_signed_package_in_its_workspace_loads_only_what_verifying_needs(
    build_sample: Callable[..., Path], tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    home = tmp_path / "home"
    env = {"GOVARC_KEY_PASSPHRASE": "startup-test-passphrase"}
    pkg = build_sample("pkg")
    for args in (["init"], ["agency", "add", "LZ0012", "--name", "机构LZ0012", "--fonds", "0012"], ["pki", "init-ca"],
                 ["pki", "issue", "LZ0012"], ["sign", str(pkg), "--agency", "LZ0012"]):
        done = CliRunner().invoke(main, ["--home", str(home), *args], env=env)
        assert done.exit_code == 0, done.output
    found = probe("--json", "verify", str(pkg), cwd=home)
    assert found["code"] == 0, found["out"]
    report = json.loads(str(found["out"]))["packages"][0]
    assert report["valid"] is True and report["signers"][0]["agency_code"] == "LZ0012"
    assert loaded(found["modules"], HEAVY_FOR_VERIFY) == []
    text = probe("verify", str(pkg), cwd=home)
    assert text["code"] == 0 and "agency LZ0012" in str(text["out"]), text["out"]
    assert loaded(text["modules"], HEAVY_FOR_VERIFY_FOLDER_TEXT) == []
    # The signature govarc wrote is read by the DER walk of govarc.sign.cmsder; asn1crypto is
    # loaded only for a signature of another shape.
    assert "govarc.sign.cmsder" in found["modules"]  # type: ignore[operator]
    assert loaded(found["modules"], ("asn1crypto",)) == []


# The program's entry (the console script, `python -m govarc`) with a record of the collector:
# whether it was on when the command's module loaded and whether it ran before that.
RUN_PROBE = r"""
import gc, json, sys
watched = sys.argv.pop(1)
sys.argv[0] = "govarc"  # as the console script's
seen = {"collections_before_command": 0, "enabled_at_command_import": None}
def count(phase, info):
    if phase == "start" and seen["enabled_at_command_import"] is None:
        seen["collections_before_command"] += 1
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == watched and seen["enabled_at_command_import"] is None:
            seen["enabled_at_command_import"] = gc.isenabled()
        return None
sys.meta_path.insert(0, Watch())
from govarc.__main__ import run
# Counted from here: importing the govarc package itself (above) may meet a collection, before run().
gc.callbacks.append(count)
try:
    run()
except SystemExit as e:
    seen["code"] = e.code or 0
seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), watched=watched)
print(json.dumps(seen), file=sys.stderr)
"""


def run_probe(watched: str, *args: str, cwd: Path | None = None) -> tuple[dict[str, object], str]:
    done = subprocess.run([sys.executable, "-c", RUN_PROBE, watched, *args], capture_output=True, text=True, cwd=cwd,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"}, check=True)
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout  # type: ignore[no-any-return]


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_the_program_loads_the_command_with_the_collector_paused_then_resumes_it(
    build_sample: Callable[..., Path], tmp_path: Path, zipped: bool,
) -> None:
    pkg = build_sample("pkg.zip" if zipped else "pkg", zip=zipped)
    seen, out = run_probe("govarc.cli.verify", "verify", "--allow-unsigned", str(pkg), cwd=tmp_path)
    assert seen["code"] == 0 and out.startswith("有效 VALID"), (seen, out)
    assert seen["enabled_at_command_import"] is False
    assert seen["collections_before_command"] == 0
    # resumed before the command ran, with what start-up loaded frozen out of the collector's sight
    assert seen["enabled"] is True and isinstance(seen["frozen"], int) and seen["frozen"] > 10_000
    # the same verdict and exit codes as before: a damaged package is still exit 3
    if zipped:
        pkg.write_bytes(b"PK\x03\x04 not a zip")
    else:
        (pkg / "data" / "extra.txt").write_text("x")
    seen, out = run_probe("govarc.cli.verify", "verify", "--allow-unsigned", str(pkg), cwd=tmp_path)
    assert seen["code"] == 3 and out.startswith("无效 INVALID"), (seen, out)
    assert seen["enabled"] is True


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["no-such-command"], ["verify"]])
def test_the_program_resumes_the_collector_on_help_version_and_usage_errors(args: list[str]) -> None:
    seen, out = run_probe("govarc.cli.nothing", *args)
    assert seen["code"] == (2 if args[0] in ("no-such-command", "verify") else 0), (seen, out)
    assert seen["enabled"] is True and isinstance(seen["frozen"], int) and seen["frozen"] > 0
    if args == ["--help"]:
        assert out == probe("--help")["out"]


def test_in_process_callers_leave_the_collector_alone() -> None:
    import gc

    from click.testing import CliRunner

    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    for args in (["--help"], ["--version"], ["verify"], ["no-such-command"]):
        CliRunner().invoke(main, args)
        assert gc.isenabled() and gc.get_freeze_count() == frozen, args


def test_the_console_script_and_python_m_govarc_are_the_program() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="govarc")
    assert script.value == "govarc.__main__:run"
    done = subprocess.run([sys.executable, "-m", "govarc", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("govarc, version ")
