"""A big package has record.xml checked while its payload is hashed; the verdict must not change.

Every tampering of the verify battery (tests/package/test_verify.py) is verified twice: with the
metadata checked on its own thread beside the hashing (the threshold set to 0 bytes, two
workers) and in sequence as for a small package. The findings must be identical, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from govarc.package import verify as verify_mod
from govarc.package.verify import verify_package

from .test_verify import CASES, Case, Ctx


@pytest.fixture
def ctx(tmp_path: Path, build_sample: Callable[..., Path]) -> Ctx:
    return Ctx(tmp_path, build_sample)


@pytest.mark.parametrize(("code", "name", "make"), CASES, ids=[f"{c}-{n}" for c, n, _ in CASES])
def test_overlapped_metadata_check_gives_the_same_findings(ctx: Ctx, monkeypatch: pytest.MonkeyPatch, code: str,
                                                           name: str, make: Callable[[Ctx], Case]) -> None:
    c = make(ctx)
    monkeypatch.setattr(verify_mod, "OVERLAP_BYTES", 1 << 62)
    in_sequence = verify_package(c.path, workers=2)
    monkeypatch.setattr(verify_mod, "OVERLAP_BYTES", 0)
    overlapped = verify_package(c.path, workers=2)
    assert overlapped == in_sequence
    assert code in {f.code for f in overlapped.findings}


def test_overlap_is_used_for_big_packages_only(ctx: Ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = verify_mod.threading.Thread

    def spy(*args: object, **kw: object) -> object:
        if kw.get("name") == "govarc-digests":  # parallel_map names its hashing threads govarc-hash-N
            threads.append(str(kw.get("name")))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(verify_mod.threading, "Thread", spy)
    pkg = ctx.dir()
    assert verify_package(pkg, workers=2).valid
    assert threads == []
    monkeypatch.setattr(verify_mod, "OVERLAP_BYTES", 0)
    assert verify_package(pkg, workers=2).findings == ()
    assert threads == ["govarc-digests"]
    threads.clear()
    assert verify_package(pkg, workers=1).findings == ()  # one worker: nothing to overlap with
    assert threads == []
