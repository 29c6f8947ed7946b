"""``python -m samples.maker [--out DIR]``: write the sample city (drop/, bad/, city.toml).

Without ``--out`` it rewrites the committed samples beside this package (samples/). It replaces
only ``drop/``, ``bad/`` and ``city.toml`` in the output folder. Exit 0 when done, 1 with one line
on standard error when it cannot (no CJK font, the samples extra missing, a bad corpus).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import MakerError
from .corpus import CORPUS, City, load_city

SAMPLES = Path(__file__).resolve().parent.parent


def generate(city: City, out: Path, ttf: Path) -> None:
    """Write the whole sample city under ``out`` with ``ttf`` as the CJK TrueType font."""
    from .bad import build_bad
    from .city import build_city
    from .fonts import register_fonts
    from .metadata import city_toml

    register_fonts(ttf)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("drop", "bad", "city.toml"):
        old = out / name
        # never follow a link out of the output folder, nor replace what the generator did not make
        if old.is_symlink() or (old.exists() and old.is_dir() != (name != "city.toml")):
            raise MakerError(f"{old}: not the generator's output (a link or another kind of file); remove it first")
    for sub in ("drop", "bad"):
        shutil.rmtree(out / sub, ignore_errors=True)
    build_city(city, out, str(ttf))
    build_bad(city, out, str(ttf))
    (out / "city.toml").write_text(city_toml(city), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.maker", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SAMPLES,
                        help="the folder to write drop/, bad/ and city.toml into (default: samples/)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the corpus file (default: %(default)s)")
    parser.add_argument("--font", type=Path, default=None,
                        help="a CJK TrueType font (default: Debian's fonts-wqy-microhei, "
                             "else the first fontconfig finds)")
    args = parser.parse_args(argv)
    try:
        from .fonts import find_cjk_font

        city = load_city(args.corpus)
        ttf = find_cjk_font(args.font)
        generate(city, args.out, ttf)
    except MakerError as e:
        print(f"make_samples: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"make_samples: {e}; install the samples extra: .venv/bin/pip install -e '.[samples]'", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"make_samples: {e.filename or args.out}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {len(city.docs)} documents for {len(city.agencies)} agencies under {args.out / 'drop'}, "
          f"{len(city.bad)} bad inputs under {args.out / 'bad'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
