#!/usr/bin/env python3
"""Where the wall time of one `package build` goes: each phase's seconds, and the CPU seconds.

Wraps the build's own steps (scan, copy and hash, identify, the two syncs, tag files, rename) with
timestamps and builds one package from SRC with the library, as `govarc package build` does.
The py-spy profile (bench/README.md) says what the CPU does; this says what the clock does,
including the time the disk takes to write the package back, which a CPU profile does not see.

    .venv/bin/python bench/build_phases.py bench/out/corpus --metadata bench/out/record.json
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govarc.package import build as b
from govarc.package.metadata import load_metadata

spans: list[tuple[str, float, float]] = []


def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spans.append((name, t0, time.perf_counter()))
    return wrapper


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path)
    p.add_argument("--metadata", type=Path, required=True)
    p.add_argument("--out", type=Path, help="package path (default: a temporary folder beside SOURCE, removed)")
    args = p.parse_args()
    out = args.out or Path(tempfile.mkdtemp(dir=args.source.parent)) / "pkg"
    record = load_metadata(args.metadata)

    b.collect_source = timed("scan the source (walk, names)", b.collect_source)
    real_map = b.parallel_map
    phases = iter(["copy and hash every file (threads)", "identify the copies (threads)"])

    def parallel_map(func: Callable[..., Any], items: Any, workers: int | None = None) -> Any:
        return timed(next(phases, "fsync on threads"), lambda: list(real_map(func, items, workers)))()

    b.parallel_map = parallel_map  # type: ignore[assignment]
    syncs = iter(["make the payload durable (background thread)", "make the tag files durable"])
    real_sync = b._Durability.sync
    b._Durability.sync = lambda self, files, dirs: timed(next(syncs, "sync"), real_sync)(self, files, dirs)  # type: ignore[method-assign]
    b._tag_files = timed("tag files, record.xml", b._tag_files)
    os.sync()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    b.build_package(args.source, record, out)
    total = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    if not args.out:
        shutil.rmtree(out.parent)
    print(f"{'phase':<48} {'start s':>8} {'seconds':>8}")
    for name, start, end in sorted(spans, key=lambda s: s[1]):
        print(f"{name:<48} {start - t0:>8.2f} {end - start:>8.2f}")
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    print(f"{'whole build (wall)':<48} {0:>8.2f} {total:>8.2f}")
    print(f"CPU seconds (user + system, all threads): {cpu:.2f}; load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
