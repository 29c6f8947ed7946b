"""The sample generator (samples/maker): run into a temporary folder, it reproduces the committed
samples byte for byte, and it refuses a corpus or font it cannot use with one line and exit 1.

It never writes into the repository: every run goes to ``tmp_path`` with ``--out`` and ``-B``
(no bytecode), and the reproduction test checks that samples/ is untouched. It needs the
``samples`` extra at the versions pinned in pyproject.toml and Debian's fonts-wqy-microhei, both
of which ``make test`` installs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CORPUS = SAMPLES / "maker" / "corpus.toml"
OUTPUTS = ("drop", "bad", "city.toml")


def run_maker(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-B", "-m", "samples.maker", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def files_under(root: Path) -> dict[str, Path]:
    """Every file under ``root``'s committed outputs (drop/, bad/, city.toml), by relative path."""
    found: dict[str, Path] = {}
    for name in OUTPUTS:
        top = root / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file() or p.is_symlink())
        for path in paths:
            found[path.relative_to(root).as_posix()] = path
    return found


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every entry under ``root``: shows any write, even of identical bytes."""
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def test_generator_reproduces_the_committed_samples_byte_for_byte(tmp_path: Path) -> None:
    committed = files_under(SAMPLES)
    # as many as `git ls-files samples/drop samples/bad samples/city.toml` lists
    assert len(committed) == 99 and "city.toml" in committed
    before = snapshot(SAMPLES)
    out = tmp_path / "out"

    result = run_maker("--out", out)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote 32 documents for 3 agencies")
    assert snapshot(SAMPLES) == before, "the generator wrote into samples/"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS), "extra files at the top of --out"
    made = files_under(out)
    assert sorted(made) == sorted(committed), "missing or extra files"
    # a link is compared as a link (its target text), never through what it points to
    links = {name for name, path in committed.items() if path.is_symlink()}
    assert links == {name for name, path in made.items() if path.is_symlink()}, "a link is a file, or a file a link"
    assert links, "bad/INGEST_LINK holds a link"
    for name in links:
        target = os.readlink(made[name])
        assert target == os.readlink(committed[name]), name
        assert not os.path.isabs(target)
        assert made[name].resolve(strict=True).is_relative_to(out.resolve()), f"{name} -> {target} leaves --out"
    differ = [name for name in sorted(set(committed) - links) if made[name].read_bytes() != committed[name].read_bytes()]
    assert not differ, (
        f"{len(differ)} file(s) differ from the committed samples, e.g. {differ[:5]}: either the corpus or "
        "generator changed (remake and commit the samples), or the library versions or font differ from the "
        "pinned ones (pyproject.toml's samples extra, fonts-wqy-microhei)"
    )


def test_a_second_run_replaces_the_output_exactly(tmp_path: Path) -> None:
    """drop/ and bad/ are replaced, not merged: a stray file there is gone after a run."""
    out = tmp_path / "out"
    (out / "drop" / "SZF").mkdir(parents=True)
    (out / "drop" / "SZF" / "stray.pdf").write_bytes(b"%PDF-1.4 stray")
    (out / "keep.txt").write_text("not the generator's")

    result = run_maker("--out", out)

    assert result.returncode == 0, result.stderr
    assert not (out / "drop" / "SZF" / "stray.pdf").exists()
    assert (out / "keep.txt").read_text() == "not the generator's"  # only drop/, bad/, city.toml are touched
    assert sorted(files_under(out)) == sorted(files_under(SAMPLES))


# (what is replaced in the real corpus, by what, what the one-line message must say)
HOSTILE_CORPORA = [
    pytest.param('path = "柳政发〔2007〕12号.jpg"', 'path = "../../escape.jpg"', "must stay inside", id="doc-path-dotdot"),
    pytest.param('path = "柳政发〔2007〕12号.jpg"', 'path = "/tmp/escape.jpg"', "must stay inside", id="doc-path-absolute"),
    pytest.param('path = "柳政发〔2024〕5号_附件.pdf"', 'path = "附件/../../../escape.pdf"', "must stay inside",
                 id="attachment-path-dotdot"),
    pytest.param('drop = "drop/SZF"', 'drop = "../outside"', "must stay inside", id="agency-drop-dotdot"),
    pytest.param('fmt = "jpeg"', 'fmt = "exe"', "fmt 'exe'", id="unknown-format"),
    pytest.param('key = "S01"', 'key = "S01"\nscript = "rm -rf /"', "unknown field(s) script", id="unknown-field"),
    pytest.param('file = "empty"', 'file = "shell"', "file must be one of", id="unknown-bad-file"),
    pytest.param('retention = "Y"', 'retention = "Y99"', "unknown retention 'Y99'", id="unknown-retention"),
    pytest.param("[city]", "[city", "not a TOML file", id="not-toml"),
    pytest.param('link_to = "S04"', 'link_to = "../../../etc/passwd"', "is not a document's key", id="link-to-a-path"),
    pytest.param('link_to = "S04"', 'link_to = "S99"', "link_to 'S99' is not a document's key", id="link-to-unknown-doc"),
    pytest.param('file = "none"', 'file = "none"\nregister = "../../escape.csv"', "is not one of",
                 id="register-name-escapes"),
    pytest.param('sidecar_items = { "主题词" = 201 }', 'sidecar_items = { "主题词" = 100000000 }', "not a count",
                 id="list-too-long-to-write"),
    pytest.param('sidecar_nest = { "附注" = 2000 }', 'sidecar_nest = { "附注" = -1 }', "not a count", id="negative-nest"),
    pytest.param('metadata = "xml"', 'metadata = "xml"\nsidecar_items = { "主题词" = 3 }', "need metadata",
                 id="growth-without-json"),
]


@pytest.mark.parametrize(("old", "new", "message"), HOSTILE_CORPORA)
def test_a_hostile_corpus_is_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = CORPUS.read_text(encoding="utf-8")
    assert old in text
    corpus = tmp_path / "corpus.toml"
    corpus.write_text(text.replace(old, new, 1), encoding="utf-8")
    out = tmp_path / "out"

    result = run_maker("--out", out, "--corpus", corpus)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("make_samples: ") and message in lines[0], result.stderr
    assert "corpus.toml" in lines[0]
    assert not out.exists()
    assert not (tmp_path / "escape.jpg").exists() and not (tmp_path.parent / "escape.jpg").exists()


@pytest.mark.parametrize("font", ["missing.ttc", "not-a-font.ttc"])
def test_an_unusable_font_is_refused_in_one_line(tmp_path: Path, font: str) -> None:
    if font == "not-a-font.ttc":
        (tmp_path / font).write_bytes(b"this is not a TrueType collection\n" * 10)
    out = tmp_path / "out"

    result = run_maker("--out", out, "--font", tmp_path / font)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"make_samples: {tmp_path / font}: "), result.stderr
    assert not (out / "drop").exists() and not (out / "bad").exists()


@pytest.mark.parametrize("name", ["drop", "bad", "city.toml"])
@pytest.mark.parametrize("kind", ["symlink", "wrong-kind"])
def test_an_output_that_is_a_link_or_the_wrong_kind_is_refused(tmp_path: Path, name: str, kind: str) -> None:
    """--out/drop as a link elsewhere must not be followed (nor emptied); nothing is written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    if kind == "symlink":
        (out / name).symlink_to(outside / "precious.txt" if name == "city.toml" else outside)
    elif name == "city.toml":
        (out / name).mkdir()
    else:
        (out / name).write_text("a file, not a folder")

    result = run_maker("--out", out)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"make_samples: {out / name}: not the generator's output")
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert (outside / "precious.txt").read_text() == "keep"
    assert sorted(p.name for p in out.iterdir()) == [name]
