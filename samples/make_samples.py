"""Regenerate the sample city in samples/: ``.venv/bin/python samples/make_samples.py [--out DIR]``.

A thin entry point kept for habit; the generator is the package ``samples/maker`` (its corpus in
``samples/maker/corpus.toml``), also run as ``python -m samples.maker`` from the repository root.
See samples/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from samples.maker.__main__ import main

    sys.exit(main())
