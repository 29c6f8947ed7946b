"""Round trips: build a package (folder or .zip, with or without SM3) and check it three ways.

Our verifier must find nothing; the Library of Congress ``bagit`` validator must accept it; and
record.xml must be valid against specs/record.xsd loaded independently of govarc's loader.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from govarc.errors import InvalidInputError
from govarc.package.build import build_package
from govarc.package.metadata import NS, load_metadata
from govarc.package.verify import verify_package

SPECS = Path(__file__).resolve().parents[2] / "specs"


def bagit_validate(bag: Path) -> subprocess.CompletedProcess[str]:
    """Run the LoC validator (``bagit.py --validate``) as a separate process."""
    tool = shutil.which("bagit.py") or str(Path(sys.executable).parent / "bagit.py")
    return subprocess.run([sys.executable, tool, "--validate", str(bag)], capture_output=True, text=True, timeout=120)


def unzip(zpath: Path, dest: Path) -> Path:
    """Extract a zipped package and return its one top-level folder."""
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(dest)
    (top,) = list(dest.iterdir())
    return top


def xsd_errors(xml: bytes) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(SPECS / "record.xsd")))
    doc = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True)).getroottree()
    schema.validate(doc)
    return [str(e) for e in schema.error_log]


@pytest.mark.parametrize("sm3", [False, True], ids=["sha256", "sha256+sm3"])
def test_directory_package_round_trip(build_sample, sm3: bool) -> None:
    pkg = build_sample(sm3=sm3)
    result = verify_package(pkg)
    assert result.findings == ()
    assert result.valid
    names = sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file())
    assert "data/正文.pdf" in names
    assert "data/附件/附件1 植树任务分解表.txt" in names
    assert ("manifest-sm3.txt" in names) is sm3
    assert ("tagmanifest-sm3.txt" in names) is sm3
    proc = bagit_validate(pkg)
    assert proc.returncode == 0, proc.stderr
    assert "is valid" in proc.stderr
    assert xsd_errors((pkg / "metadata" / "record.xml").read_bytes()) == []


@pytest.mark.parametrize("sm3", [False, True], ids=["sha256", "sha256+sm3"])
def test_zip_package_round_trip(build_sample, tmp_path: Path, sm3: bool) -> None:
    zpath = build_sample("0012-WS·2007-Y-BGS-0012.zip", zip=True, sm3=sm3)
    assert zpath.is_file()
    result = verify_package(zpath)
    assert result.findings == ()
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
    assert {n.split("/", 1)[0] for n in names} == {"0012-WS·2007-Y-BGS-0012"}
    assert ("0012-WS·2007-Y-BGS-0012/manifest-sm3.txt" in names) is sm3
    top = unzip(zpath, tmp_path / "unzipped")
    proc = bagit_validate(top)
    assert proc.returncode == 0, proc.stderr
    assert xsd_errors((top / "metadata" / "record.xml").read_bytes()) == []
    # The extracted folder is a package in its own right.
    assert verify_package(top).findings == ()


@pytest.mark.parametrize("zipped", [False, True], ids=["dir", "zip"])
def test_single_file_package(tmp_path: Path, sample_metadata: Path, zipped: bool) -> None:
    src = tmp_path / "正文.pdf"
    src.write_bytes(b"%PDF-1.4\n%%EOF\n")
    out = tmp_path / ("single.zip" if zipped else "single")
    info = build_package(src, load_metadata(sample_metadata), out, zip=zipped, durable=False)
    assert info.payload_files == 1 and info.payload_bytes == src.stat().st_size
    assert verify_package(out).findings == ()
    bag = unzip(out, tmp_path / "x") if zipped else out
    assert (bag / "data" / "正文.pdf").read_bytes() == src.read_bytes()
    proc = bagit_validate(bag)
    assert proc.returncode == 0, proc.stderr


def test_record_xml_describes_every_payload_file(build_sample) -> None:
    pkg = build_sample(sm3=True)
    root = etree.parse(str(pkg / "metadata" / "record.xml")).getroot()
    ns = {"r": NS}
    files = {f.findtext("r:name", namespaces=ns): f for f in root.iterfind("r:files/r:file", ns)}
    assert set(files) == {"正文.pdf", "附件/附件1 植树任务分解表.txt", "附件/说明.txt"}
    assert files["正文.pdf"].get("role") == "main"
    assert files["附件/说明.txt"].get("role") == "attachment"
    assert files["附件/说明.txt"].findtext("r:size", namespaces=ns) == "0"
    assert {d.get("algorithm") for d in files["正文.pdf"].iterfind("r:digest", ns)} == {"sha256", "sm3"}
    assert root.findtext("r:title", namespaces=ns) == "柳州市人民政府关于做好2007年春季植树造林工作的通知"
    assert root.find("r:archivalCode", ns).get("value") == "0012-WS·2007-Y-BGS-0012"


def test_bag_info_carries_the_profile_fields(build_sample) -> None:
    from govarc.package.manifest import bag_info_get, parse_bag_info

    pkg = build_sample()
    fields, problems = parse_bag_info((pkg / "bag-info.txt").read_text(encoding="utf-8"))
    assert problems == []
    assert bag_info_get(fields, "External-Identifier") == "0012-WS·2007-Y-BGS-0012"
    assert bag_info_get(fields, "Source-Organization-Identifier") == "LZ0012"
    size = (pkg / "data" / "正文.pdf").stat().st_size + len("城中区 1200株\n鱼峰区 800株\n".encode())
    assert bag_info_get(fields, "Payload-Oxum") == f"{size}.3"
    assert bag_info_get(fields, "BagIt-Profile-Identifier") == "urn:govarc:package-profile:1"


def test_existing_destination_is_refused(build_sample, sample_source: Path, sample_metadata: Path) -> None:
    pkg = build_sample()
    before = sorted(p.relative_to(pkg) for p in pkg.rglob("*"))
    with pytest.raises(InvalidInputError) as e:
        build_package(sample_source, load_metadata(sample_metadata), pkg, durable=False)
    assert str(pkg) in str(e.value)
    assert sorted(p.relative_to(pkg) for p in pkg.rglob("*")) == before


@pytest.mark.parametrize("name", ["说明.txt ", " 说明.txt", "附件/说明.txt "])
def test_names_with_surrounding_whitespace_are_refused(tmp_path: Path, sample_metadata: Path, name: str) -> None:
    from govarc.package.metadata import load_metadata as load

    src = tmp_path / "ws"
    (src / name).parent.mkdir(parents=True, exist_ok=True)
    (src / name).write_bytes(b"x")
    (src / "正文.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    out = tmp_path / "pkg"
    with pytest.raises(InvalidInputError) as e:
        build_package(src, load(sample_metadata), out, durable=False)
    assert name.strip() in str(e.value) and "whitespace" in str(e.value)
    assert not out.exists()


def test_an_unreadable_sub_folder_is_a_clear_input_error(tmp_path: Path, sample_metadata: Path, monkeypatch) -> None:
    import os

    from govarc.package import build as build_module

    src = tmp_path / "src"
    (src / "附件").mkdir(parents=True)
    (src / "正文.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    if os.geteuid() == 0:  # root reads a mode-0 folder anyway: fail the walk where it would fail
        real = build_module.walk_tree

        def failing(root):
            yield from real(root)
            raise PermissionError(13, "Permission denied", str(src / "附件"))

        monkeypatch.setattr(build_module, "walk_tree", failing)
    else:
        (src / "附件").chmod(0)
    try:
        with pytest.raises(InvalidInputError) as e:
            build_package(src, load_metadata(sample_metadata), tmp_path / "pkg", durable=False)
    finally:
        (src / "附件").chmod(0o755)
    assert "附件" in str(e.value) and "cannot read folder" in str(e.value)
    assert not (tmp_path / "pkg").exists()


# --- what verify would refuse under specs/limits.md, the builder refuses first --------------------------


def test_more_files_than_a_package_holds_is_refused(runner, tmp_path: Path, sample_metadata: Path) -> None:
    import os

    from govarc import limits
    from govarc.cli import main

    src = tmp_path / "many"
    src.mkdir()
    (src / "正文.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (src / "0.txt").write_bytes(b"x")
    for i in range(1, limits.MAX_PACKAGE_FILES):  # hard links: as many files, one inode
        os.link(src / "0.txt", src / f"{i}.txt")
    out = tmp_path / "pkg"
    meta = tmp_path / "meta.json"
    meta.write_text(sample_metadata.read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(main, ["--home", str(tmp_path / "home"), "package", "build", str(src),
                                  "--metadata", str(meta), "--out", str(out)])
    assert result.exit_code == 3, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "MAX_PACKAGE_FILES" in lines[0] and str(src) in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not any(p.name.startswith(".pkg") for p in tmp_path.iterdir())


@pytest.mark.parametrize("name", ["a" * 8100, "档" * 2700, "/".join(["目录" * 40] * 40), "x" * 4000 + "/" + "案" * 1400])
def test_a_name_too_long_for_a_manifest_line_is_refused(name: str) -> None:
    from govarc.package.build import name_problem

    problem = name_problem(name)
    assert problem is not None and "MAX_LINE_BYTES" in problem


def test_the_longest_name_that_fits_a_manifest_line_is_packaged(tmp_path: Path) -> None:
    """A sha512 line (the longest the verifier reads) of a name at the limit verifies; one more byte does not."""
    from govarc import limits
    from govarc.package.build import name_problem
    from govarc.package.hashing import Algorithm
    from govarc.package.manifest import parse_manifest

    room = limits.MAX_LINE_BYTES - 128 - 2 - len("data/") - 1
    name = "a" * room
    assert name_problem(name) is None and name_problem(name + "a") is not None
    lines, problems = parse_manifest(f"{'0' * 128}  data/{name}\n", Algorithm.SHA512)
    assert lines[0].path == f"data/{name}" and problems == []


@pytest.mark.parametrize(("change", "tag"), [
    ({"title": "关于" * 4100}, "bag-info.txt"),  # one bag-info line over MAX_LINE_BYTES
    ({"keywords": tuple(f"{i:05d}" + "词" * 1990 for i in range(1500))}, "metadata/record.xml"),  # ~9 MB
], ids=["title-over-a-line", "record-xml-over-the-size"])
def test_metadata_that_would_break_a_tag_file_limit_is_refused(
    tmp_path: Path, sample_source: Path, sample_metadata: Path, change: dict, tag: str,
) -> None:
    import dataclasses

    record = dataclasses.replace(load_metadata(sample_metadata), **change)
    out = tmp_path / "pkg"
    with pytest.raises(InvalidInputError) as e:
        build_package(sample_source, record, out, durable=False)
    # The builder names the tag file; a metadata check (per-field limits) may refuse it even earlier.
    assert tag in str(e.value) or "MAX_" in str(e.value) or "too long" in str(e.value), str(e.value)
    assert not out.exists() and [p.name for p in out.parent.iterdir() if p.name.startswith(".pkg")] == []


@pytest.mark.parametrize(("content", "where"), [
    ("".join(f"{'0' * 64}  data/{i}\n" for i in range(10_001)).encode(), "line 10001: more than 10000 lines"),
    (f"{'0' * 64}  data/a\n{'0' * 64}  data/{'b' * 8200}\n".encode(), "line 2: longer than 8192 bytes"),
    (f"{'0' * 64}  data/{'档' * 2800}\n".encode(), "line 1: longer than 8192 bytes"),
], ids=["lines", "long-ascii-line", "long-utf8-line"])
@pytest.mark.parametrize("name", ["manifest-sha256.txt", "tagmanifest-sha256.txt"])
def test_a_manifest_over_a_verify_limit_is_refused_by_the_builder(content: bytes, where: str, name: str) -> None:
    """The builder measures its manifests as verify's reader does, without parsing them back."""
    from govarc.package.build import _check_tag_limits
    from govarc.package.manifest import TagLimitError, iter_lines

    with pytest.raises(InvalidInputError, match=where):
        _check_tag_limits(name, content)
    with pytest.raises(TagLimitError, match=where.split(":")[0]):  # the reader agrees on the line
        for _ in iter_lines(content.decode()):
            pass


def test_a_manifest_at_the_limits_is_accepted_by_the_builder() -> None:
    from govarc.package.build import _check_tag_limits

    lines = "".join(f"{'0' * 64}  data/{i}\n" for i in range(9_999)) + f"{'0' * 64}  data/{'b' * (8192 - 71)}\n"
    assert max(len(x.encode()) for x in lines.splitlines()) == 8192
    _check_tag_limits("manifest-sha256.txt", lines.encode())
