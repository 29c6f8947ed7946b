"""The error tree: each class has its documented exit code, and the CLI boundary turns an error
into one line on stderr and that exit code (a traceback only with --verbose)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from govarc import errors
from govarc.cli import _Group, main
from govarc.cli.output import Output
from govarc.errors import (
    ConfigError,
    DiskFullError,
    GovarcError,
    InvalidInputError,
    InvalidPackageError,
    LockedError,
    MetadataError,
    SignatureError,
    TransferError,
)

README = Path(__file__).resolve().parents[1] / "README.md"

EXPECTED = {
    GovarcError: 1,
    InvalidInputError: 3,
    InvalidPackageError: 3,
    MetadataError: 3,
    SignatureError: 4,
    TransferError: 5,
    ConfigError: 6,
    LockedError: 7,
    DiskFullError: 8,
}


def documented_codes() -> dict[int, str]:
    """The exit-code table of the README."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|$", section, re.M)}


@pytest.mark.parametrize(("cls", "code"), EXPECTED.items(), ids=[c.__name__ for c in EXPECTED])
def test_exit_codes(cls: type[GovarcError], code: int) -> None:
    assert cls.exit_code == code
    assert issubclass(cls, GovarcError)


def test_every_error_class_is_covered() -> None:
    classes = {v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, GovarcError)}
    assert classes == set(EXPECTED)


def test_exit_codes_are_documented_in_the_readme() -> None:
    table = documented_codes()
    assert set(table) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 141}
    assert "reader of stdout" in table[141]
    assert "usage" in table[2] and "invalid" in table[3] and "signature" in table[4]
    assert "transfer" in table[5] and "configuration" in table[6] and "lock" in table[7]
    assert "disk full" in table[8]
    assert set(EXPECTED.values()) <= set(table)


def test_message_is_one_line_with_the_path() -> None:
    e = MetadataError("date '2007年2月30日' is not a real date", "doc/元数据.json")
    assert str(e) == "doc/元数据.json: date '2007年2月30日' is not a real date"
    assert e.path == "doc/元数据.json" and e.message.startswith("date")
    assert str(ConfigError("no workspace here")) == "no workspace here"


def boundary_app() -> click.Group:
    """A group with the real CLI boundary class, whose commands raise what they are told to."""

    @click.group(cls=_Group)
    @click.option("--verbose", is_flag=True)
    @click.pass_context
    def app(ctx: click.Context, verbose: bool) -> None:
        ctx.obj = Output(json=False, verbose=verbose, quiet=False, home=".", tty=False)

    @app.command()
    @click.argument("name")
    def fail(name: str) -> None:
        if name == "ValueError":
            raise ValueError("something broke")
        cls = {c.__name__: c for c in EXPECTED}[name]
        raise cls("the problem", "some/file.txt")

    return app


@pytest.mark.parametrize(("cls", "code"), EXPECTED.items(), ids=[c.__name__ for c in EXPECTED])
def test_boundary_turns_an_error_into_one_line_and_its_exit_code(runner, cls: type[GovarcError], code: int) -> None:
    result = runner.invoke(boundary_app(), ["fail", cls.__name__])
    assert result.exit_code == code
    assert result.stderr == "govarc: error: some/file.txt: the problem\n"
    assert result.stdout == ""


def test_boundary_shows_a_traceback_only_when_verbose(runner) -> None:
    quiet = runner.invoke(boundary_app(), ["fail", "ConfigError"])
    assert "Traceback" not in quiet.stderr
    loud = runner.invoke(boundary_app(), ["--verbose", "fail", "ConfigError"])
    assert loud.exit_code == 6
    assert "Traceback" in loud.stderr and loud.stderr.rstrip().endswith("govarc: error: some/file.txt: the problem")


def test_unexpected_exception_is_exit_1_and_one_line(runner) -> None:
    result = runner.invoke(boundary_app(), ["fail", "ValueError"])
    assert result.exit_code == 1
    assert result.stderr == "govarc: error: unexpected error: ValueError: something broke\n"


def test_real_command_error_is_one_line_unless_verbose(runner, tmp_path: Path, sample_source: Path) -> None:
    args = ["package", "build", str(sample_source), "--metadata", str(tmp_path / "none.json"), "--out", str(tmp_path / "p")]
    result = runner.invoke(main, args)
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    verbose = runner.invoke(main, ["--verbose", *args])
    assert verbose.exit_code == 3 and "Traceback" in verbose.stderr


# -- --json on failure, and OSErrors at the boundary ----------------------------------------------

def json_app() -> click.Group:
    """The real boundary class, with --json, whose command raises what it is told to (fault injection)."""
    import errno
    import sqlite3

    @click.group(cls=_Group)
    @click.option("--json", "json_", is_flag=True)
    @click.pass_context
    def app(ctx: click.Context, json_: bool) -> None:
        ctx.obj = Output(json=json_, verbose=False, quiet=False, home=".", tty=False)

    @app.command()
    @click.argument("name")
    def fail(name: str) -> None:
        raises: dict[str, BaseException] = {
            "ENOSPC": OSError(errno.ENOSPC, "No space left on device", "store/SZF/pkg.zip"),
            "EDQUOT": OSError(errno.EDQUOT, "Disk quota exceeded", "objects/ab/cd"),
            "EACCES": PermissionError(errno.EACCES, "Permission denied", "store/SZF"),
            "ENOENT-nofile": OSError(errno.ENOENT, "No such file or directory"),
            "EPIPE-not-stdout": BrokenPipeError(errno.EPIPE, "Broken pipe"),  # an OA command's stdin, say
            "sqlite-full": sqlite3.OperationalError("database or disk is full"),
            "ValueError": ValueError("something broke"),
            "KeyboardInterrupt": KeyboardInterrupt(),
        }
        if name in raises:
            raise raises[name]
        raise {c.__name__: c for c in EXPECTED}[name]("the problem", "some/file.txt")

    return app


def one_json(stdout: str) -> dict:
    import json

    data = json.loads(stdout)  # exactly one JSON document, nothing else on stdout
    assert isinstance(data, dict) and set(data) == {"error", "exit_code"} and set(data["error"]) == {"code", "message", "path"}
    return data


@pytest.mark.parametrize(("cls", "code"), EXPECTED.items(), ids=[c.__name__ for c in EXPECTED])
def test_json_failure_is_one_object_on_stdout_and_one_line_on_stderr(runner, cls: type[GovarcError], code: int) -> None:
    from govarc.cli import EXIT_NAMES

    result = runner.invoke(json_app(), ["--json", "fail", cls.__name__])
    assert result.exit_code == code
    assert one_json(result.stdout) == {"error": {"code": EXIT_NAMES[code], "message": "the problem", "path": "some/file.txt"},
                                       "exit_code": code}
    assert result.stderr == "govarc: error: some/file.txt: the problem\n"


@pytest.mark.parametrize(("name", "code", "line", "path"), [
    ("ENOSPC", 8, "store/SZF/pkg.zip: No space left on device: free space and run again", "store/SZF/pkg.zip"),
    ("EDQUOT", 8, "objects/ab/cd: Disk quota exceeded: free space and run again", "objects/ab/cd"),
    ("sqlite-full", 8, "the catalog's disk is full: free space and run again", None),
    ("EACCES", 6, "store/SZF: Permission denied: check the owner and mode", "store/SZF"),
    ("ENOENT-nofile", 1, "No such file or directory", None),
    ("EPIPE-not-stdout", 1, "Broken pipe", None),
    ("ValueError", 1, "unexpected error: ValueError: something broke", None),
    ("KeyboardInterrupt", 130, "interrupted", None),
])
def test_oserrors_and_unexpected_errors_at_the_boundary(runner, name: str, code: int, line: str, path: str | None) -> None:
    plain = runner.invoke(json_app(), ["fail", name])
    assert plain.exit_code == code
    assert plain.stderr == f"govarc: error: {line}\n" and plain.stdout == ""
    js = runner.invoke(json_app(), ["--json", "fail", name])
    assert js.exit_code == code and js.stderr == plain.stderr
    data = one_json(js.stdout)
    assert data["exit_code"] == code and data["error"]["path"] == path
    assert data["error"]["code"] == {8: "disk_full", 6: "config", 1: "unexpected", 130: "interrupted"}[code]


def test_exit_code_names_cover_every_documented_code() -> None:
    from govarc.cli import EXIT_NAMES

    assert set(documented_codes()) - {0} <= set(EXIT_NAMES)
    assert len(set(EXIT_NAMES.values())) == len(EXIT_NAMES)
