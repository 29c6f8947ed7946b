"""Every command and group of the CLI has --help that exits 0 and shows an example."""

from __future__ import annotations

import click
import pytest

from govarc.cli import main


def walk(cmd: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):  # through get_command: the top level loads lazily
            sub = cmd.get_command(ctx, name)
            assert sub is not None, name
            found += walk(sub, (*path, name))
    return found


COMMANDS = walk(main)


def test_the_walk_finds_the_known_commands() -> None:
    assert ("package", "build") in COMMANDS and ("verify",) in COMMANDS and () in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "govarc" for p in COMMANDS])
def test_help(runner, path: tuple[str, ...]) -> None:
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert "Example" in result.stdout, f"`govarc {' '.join(path)} --help` shows no example"
