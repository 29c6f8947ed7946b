"""The `govarc` program (the console script) and `python -m govarc`."""

from __future__ import annotations

import gc


def run() -> None:
    """Run govarc on this process's command line.

    Start-up loads the modules of the command asked for (click, cryptography, lxml, govarc's own:
    some 100,000 objects that live as long as the process). The cyclic garbage collector would
    walk them again and again while they load, and again at exit, for nothing: about a sixth of
    `govarc verify`'s start-up. So collection is paused until the command is loaded, the loaded
    objects are then frozen out of the collector's sight (:func:`gc.freeze`), and the command runs
    with the collector on as usual (:meth:`govarc.cli._Group.resolve_command`). In-process callers
    (tests, CliRunner) call :data:`govarc.cli.main` and leave the collector alone.
    """
    gc.disable()
    from govarc.cli import main

    main.gc_paused = True
    try:
        main()
    finally:  # --help, --version or a usage error: no command was loaded
        main.resume_gc()


if __name__ == "__main__":
    run()
