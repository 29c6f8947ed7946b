"""A small zip is read into memory whole; every verdict must be the one reading it on disk gives.

Each damaged zip (random bytes changed in headers, names, data, the central directory; stored and
deflated) is verified twice, once from memory and once in place (the memory limit set to 0), and
the findings must be identical, message for message.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from govarc.package import reader
from govarc.package.verify import verify_package


def _both(pkg: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    in_memory = verify_package(pkg)
    with monkeypatch.context() as m:
        m.setattr(reader, "SMALL_ZIP_BYTES", 0)
        on_disk = verify_package(pkg)
    return in_memory, on_disk


def test_small_zip_is_read_from_memory(build_sample: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    z = build_sample("pkg", zip=True)
    with reader.open_package(z) as r:
        assert isinstance(r, reader.ZipReader) and r._data is not None
        names = [n for n in r.entries if r.has_file(n)]
        assert all(r._stored_bytes(r._names[n]) is not None for n in names)
    with monkeypatch.context() as m:
        m.setattr(reader, "SMALL_ZIP_BYTES", 0)
        with reader.open_package(z) as r:
            assert r._data is None  # type: ignore[attr-defined]
    a, b = _both(z, monkeypatch)
    assert a == b and a.valid  # type: ignore[attr-defined]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damaged_zip_same_findings_from_memory_and_disk(build_sample: Callable[..., Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, compression: int, seed: int) -> None:
    pkg = build_sample("pkg")
    z = tmp_path / "pkg.zip"
    with zipfile.ZipFile(z, "w", compression=compression) as zf:
        for p in sorted(pkg.rglob("*")):
            if p.is_file():
                zf.write(p, f"pkg/{p.relative_to(pkg).as_posix()}")
    raw = z.read_bytes()
    rng = random.Random(seed * 1000 + compression)
    damaged = tmp_path / "damaged.zip"
    invalid = 0
    for _ in range(60):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        damaged.write_bytes(bytes(data))
        a, b = _both(damaged, monkeypatch)
        assert a == b
        invalid += not a.valid  # type: ignore[attr-defined]
    assert invalid > 30


@pytest.mark.parametrize("cut", [0, 10, 22, 100, -1, -22, -30])
def test_truncated_zip_same_findings_from_memory_and_disk(build_sample: Callable[..., Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, cut: int) -> None:
    raw = build_sample("pkg", zip=True).read_bytes()
    bad = tmp_path / "cut.zip"
    bad.write_bytes(raw[:cut])
    a, b = _both(bad, monkeypatch)
    assert a == b and not a.valid  # type: ignore[attr-defined]
