#!/usr/bin/env python3
"""Summarise py-spy's collapsed stacks (``--format raw``, as nightly_bench.py --profile writes them).

Without --under: the functions with the most samples below them (inclusive), as a share of all
samples of every process and thread. With --under FUNC (``name file.py``, as printed): what FUNC's
samples were spent in, one level down.

    .venv/bin/python bench/profile_summary.py bench/out/nightly.spy-1000
    .venv/bin/python bench/profile_summary.py bench/out/nightly.spy-1000 --under "build_package build.py"
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"(\S+) \((.*?):\d+\)")


def frames(stack: str) -> list[str]:
    out = []
    for f in stack.split(";"):
        m = _FRAME.match(f)
        out.append(f"{m.group(1)} {m.group(2).rsplit('/', 1)[-1]}" if m else f[:60])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("file", type=Path)
    p.add_argument("--under", metavar="FUNC", help="break down this function's samples by callee")
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args()
    inclusive: Counter[str] = Counter()
    below: Counter[str] = Counter()
    total = under = 0
    with open(args.file, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            keys = frames(stack)
            for k in set(keys):
                inclusive[k] += n
            if args.under and args.under in keys:
                under += n
                i = keys.index(args.under)
                below[keys[i + 1] if i + 1 < len(keys) else "(itself)"] += n
    if args.under:
        print(f"{args.under}: {under} samples, {under / max(1, total):.1%} of all")
        for k, n in below.most_common(args.top):
            print(f"{n / max(1, under):7.1%}  {k}")
        return
    print(f"{total} samples")
    for k, n in inclusive.most_common(args.top):
        print(f"{n / max(1, total):7.1%}  {k}")


if __name__ == "__main__":
    main()
