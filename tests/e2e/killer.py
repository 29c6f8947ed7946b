"""Run the ``govarc`` CLI and SIGKILL it at an exact point: ``python -m tests.e2e.killer N TARGETS -- ARGS``.

``TARGETS`` is a comma-separated list of ``module:attribute`` or ``module:Class.method``; each is
wrapped to count its calls, and the process sends itself SIGKILL on entering the ``N``-th call
(counted over all targets together), as a crash or ``kill -9`` at that moment would: no
``finally``, no ``atexit``, no flushing. The target ``stream`` counts the blocks read from a
stream handed to a transport's ``put`` (the kill then falls in the middle of an upload).
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from typing import Any


class _Counter:
    def __init__(self, at: int) -> None:
        self.at, self.calls = at, 0

    def tick(self) -> None:
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


class _Stream:
    def __init__(self, stream: Any, counter: _Counter) -> None:
        self._stream, self._counter = stream, counter

    def read(self, n: int = -1) -> bytes:
        self._counter.tick()
        return bytes(self._stream.read(n))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _wrap(target: str, counter: _Counter) -> None:
    if target == "stream":
        from govarc.transport.s3 import S3Transport
        from govarc.transport.sftp import SFTPTransport

        for cls in (SFTPTransport, S3Transport):
            real_put = cls.put

            @functools.wraps(real_put)
            def put(self: Any, key: str, stream: Any, *args: Any, __real: Any = real_put, **kwargs: Any) -> Any:
                return __real(self, key, _Stream(stream, counter), *args, **kwargs)

            setattr(cls, "put", put)
        return
    module, _, path = target.partition(":")
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for p in parents:
        owner = getattr(owner, p)
    real = getattr(owner, name)

    @functools.wraps(real)
    def counted(*args: Any, **kwargs: Any) -> Any:
        counter.tick()
        return real(*args, **kwargs)

    setattr(owner, name, counted)


def main(argv: list[str]) -> None:
    at, targets, sep, *args = argv
    assert sep == "--" and int(at) > 0
    counter = _Counter(int(at))
    for target in targets.split(","):
        _wrap(target, counter)
    from govarc.cli import main as govarc

    govarc(args, prog_name="govarc")


if __name__ == "__main__":
    main(sys.argv[1:])
