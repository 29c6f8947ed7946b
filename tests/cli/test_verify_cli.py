"""`govarc verify`: exit codes, the file named in the output, --json, several packages at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govarc.cli import main as _main


@pytest.fixture
def verify(runner, tmp_path: Path):
    """Run ``govarc [global flags] verify --allow-unsigned ARGS`` in an empty home.

    These tests are about integrity; signatures have their own tests, so unsigned packages are
    allowed here.
    """
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, flags: tuple[str, ...] = ()):
        return runner.invoke(_main, ["--home", str(home), *flags, "verify", "--allow-unsigned", *args])

    return run


def corrupt(pkg: Path) -> None:
    p = pkg / "data" / "正文.pdf"
    data = bytearray(p.read_bytes())
    data[3] ^= 1
    p.write_bytes(bytes(data))


def test_valid_package_exits_0(verify, build_sample) -> None:
    pkg = build_sample()
    result = verify(str(pkg))
    assert result.exit_code == 0, result.output
    assert "VALID" in result.stdout and str(pkg) in result.stdout
    assert result.stderr == ""


def test_invalid_package_exits_3_and_names_the_file(verify, build_sample) -> None:
    pkg = build_sample()
    corrupt(pkg)
    result = verify(str(pkg))
    assert result.exit_code == 3
    assert "INVALID" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "PAYLOAD_DIGEST_MISMATCH" in line)
    assert "data/正文.pdf" in line and "error" in line


def test_json_output_for_several_packages(verify, build_sample) -> None:
    good = build_sample("good.zip", zip=True)
    bad = build_sample("bad")
    corrupt(bad)
    result = verify(str(good), str(bad), flags=("--json",))
    assert result.exit_code == 3
    doc = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert doc["valid"] is False
    assert [p["path"] for p in doc["packages"]] == [str(good), str(bad)]
    assert [p["valid"] for p in doc["packages"]] == [True, False]
    assert doc["packages"][0]["findings"] == []
    assert doc["packages"][0]["archival_code"] == "0012-WS·2007-Y-BGS-0012"
    assert doc["packages"][1]["findings"][0] == {
        "code": "PAYLOAD_DIGEST_MISMATCH", "level": "error", "path": "data/正文.pdf",
        "message": doc["packages"][1]["findings"][0]["message"],
    }


def test_json_output_when_all_are_valid(verify, build_sample) -> None:
    a, b = build_sample("a"), build_sample("b.zip", zip=True)
    result = verify(str(a), str(b), flags=("--json",))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] is True and all(p["valid"] for p in doc["packages"])


def test_nonexistent_path(verify, tmp_path: Path, build_sample) -> None:
    good = build_sample()
    missing = tmp_path / "不存在"
    result = verify(str(good), str(missing), "--json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["packages"][1]["findings"][0]["code"] == "PKG_NOT_FOUND"
    assert doc["packages"][1]["findings"][0]["path"] == str(missing)
    text = verify(str(missing))
    assert text.exit_code == 3 and "PKG_NOT_FOUND" in text.stdout


def test_warnings_do_not_fail(verify, build_sample) -> None:
    import hashlib

    pkg = build_sample()
    lines = [
        f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(pkg).as_posix()}\n"
        for p in sorted((pkg / "data").rglob("*")) if p.is_file()
    ]
    (pkg / "manifest-md5.txt").write_text("".join(lines), encoding="utf-8")
    tag = pkg / "tagmanifest-sha256.txt"
    digest = hashlib.sha256((pkg / "manifest-md5.txt").read_bytes()).hexdigest()
    tag.write_text(tag.read_text(encoding="utf-8") + f"{digest}  manifest-md5.txt\n", encoding="utf-8")
    result = verify(str(pkg))
    assert result.exit_code == 0, result.output
    assert "ALGORITHM_WEAK" in result.stdout and "manifest-md5.txt" in result.stdout


def test_quiet_prints_only_invalid_packages(verify, build_sample) -> None:
    good, bad = build_sample("good"), build_sample("bad")
    corrupt(bad)
    result = verify(str(good), str(bad), flags=("--quiet",))
    assert result.exit_code == 3
    assert str(bad) in result.stdout and str(good) not in result.stdout


def test_verify_needs_a_path(runner) -> None:
    result = runner.invoke(_main, ["verify"])
    assert result.exit_code == 2  # usage errors stay click's


def test_integrity_errors_exit_3_even_when_signatures_also_fail(runner, tmp_path: Path, build_sample) -> None:
    pkg = build_sample()
    corrupt(pkg)
    home = tmp_path / "home"
    home.mkdir()
    result = runner.invoke(_main, ["--home", str(home), "verify", str(pkg)])  # unsigned, not allowed
    assert result.exit_code == 3
    assert "PAYLOAD_DIGEST_MISMATCH" in result.stdout
