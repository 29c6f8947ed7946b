"""Bounded package reading: every hostile size, count, line or depth is LIMIT_EXCEEDED, never memory.

Each case builds the hostile package for real (zip bombs, lying zip headers, huge and countless
lines, too many entries, deep record.xml, oversized tag files in a folder, FIFOs), verifies it,
and asserts the exact finding code at the exact file, and that verify changed nothing. One test
runs ``govarc verify`` in a subprocess on the worst of them and bounds its peak memory.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from govarc import limits
from govarc.package.reader import MAX_ZIP_DIRECTORY_BYTES, LimitExceeded, open_package
from govarc.package.verify import verify_package

MIB = 1 << 20


# --- helpers ---------------------------------------------------------------------------------------


def files_of(pkg: Path) -> dict[str, bytes]:
    return {p.relative_to(pkg).as_posix(): p.read_bytes() for p in sorted(pkg.rglob("*")) if p.is_file()}


def write_zip(zpath: Path, top: str, files: dict[str, bytes], deflate: set[str] = frozenset(),
              level: int = 1) -> Path:
    """A zip of ``files`` below ``top/``; names in ``deflate`` are compressed, the rest stored."""
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{top}/{name}")
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            zf.writestr(info, data, compresslevel=level if name in deflate else None)
    return zpath


def snapshot(path: Path) -> object:
    """What verify must leave as it was: every name with its size and modification time."""
    if path.is_file():
        st = path.stat()
        return (st.st_size, st.st_mtime_ns)
    return sorted((p.relative_to(path).as_posix(), p.lstat().st_size, p.lstat().st_mtime_ns) for p in path.rglob("*"))


@contextmanager
def no_hang(seconds: int = 30) -> Iterator[None]:
    """Fail instead of hanging forever if something blocks (a FIFO opened for reading)."""

    def fail(*_: object) -> None:
        raise AssertionError("verify blocked")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def verify_unchanged(path: Path):  # noqa: ANN201 - a VerifyResult
    before = snapshot(path)
    with no_hang():
        result = verify_package(path)
    assert snapshot(path) == before, "verify changed the package"
    assert not result.valid
    for f in result.findings:
        assert f.message and "\n" not in f.message
    return result


def pairs(result) -> set[tuple[str, str]]:  # noqa: ANN001
    return {(f.code, f.path) for f in result.findings}


def patch_central_sizes(zpath: Path, name: str, *, file_size: int | None = None,
                        local_file_size: int | None = None) -> None:
    """Rewrite the uncompressed size an entry declares in the central directory and/or local header."""
    with zipfile.ZipFile(zpath) as zf:
        info = zf.getinfo(name)
    raw = bytearray(zpath.read_bytes())
    if local_file_size is not None:
        h = info.header_offset
        assert raw[h:h + 4] == b"PK\x03\x04"
        struct.pack_into("<I", raw, h + 22, local_file_size)
    if file_size is not None:
        encoded = name.encode("utf-8")
        at = raw.find(b"PK\x01\x02" , len(raw) - 200_000 if len(raw) > 200_000 else 0)
        while at >= 0:
            n = struct.unpack_from("<H", raw, at + 28)[0]
            if raw[at + 46:at + 46 + n] == encoded:
                struct.pack_into("<I", raw, at + 24, file_size)
                break
            at = raw.find(b"PK\x01\x02", at + 4)
        else:
            raise AssertionError(f"{name} not in the central directory")
    zpath.write_bytes(bytes(raw))


# --- zip bombs -------------------------------------------------------------------------------------

TAG_FILES = ["metadata/record.xml", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "bagit.txt"]


@pytest.mark.parametrize("entry", TAG_FILES)
@pytest.mark.parametrize("size", [4 * MIB, 12 * MIB], ids=["ratio", "declared-size"])
def test_zip_bomb_of_a_tag_file_is_limit_exceeded(build_sample, tmp_path: Path, entry: str, size: int) -> None:
    """4 MiB of blanks deflate ~1000:1 (over MAX_COMPRESSION_RATIO); 12 MiB is over MAX_TAG_FILE_BYTES too."""
    files = files_of(build_sample("pkg"))
    files[entry] = files[entry] + b" " * size
    z = write_zip(tmp_path / "bomb.zip", "pkg", files, deflate={entry})
    result = verify_unchanged(z)
    assert ("LIMIT_EXCEEDED", entry) in pairs(result), result.findings
    message = next(f.message for f in result.findings if f.code == "LIMIT_EXCEEDED")
    assert ("MAX_COMPRESSION_RATIO" if size < limits.MAX_TAG_FILE_BYTES else "MAX_TAG_FILE_BYTES") in message
    # The over-limit file is not digested either: no second finding about it.
    assert ("TAG_DIGEST_MISMATCH", entry) not in pairs(result)


def test_a_tag_file_deflated_within_the_ratio_is_valid(build_sample, tmp_path: Path) -> None:
    """Ordinary deflate (as zip tools write it) of every entry stays well inside the ratio."""
    pkg = build_sample("pkg")
    files = files_of(pkg)
    z = write_zip(tmp_path / "deflated.zip", "pkg", files, deflate=set(files), level=9)
    assert verify_package(z).findings == ()


def test_signature_bomb_is_limit_exceeded(build_sample, tmp_path: Path) -> None:
    files = files_of(build_sample("pkg"))
    files["signatures/LZ0012.p7s"] = b"\x30" * (16 * MIB)
    z = write_zip(tmp_path / "sig.zip", "pkg", files, deflate={"signatures/LZ0012.p7s"})
    result = verify_unchanged(z)
    assert ("LIMIT_EXCEEDED", "signatures/LZ0012.p7s") in pairs(result), result.findings


# --- lying zip headers ------------------------------------------------------------------------------


def test_central_directory_declaring_a_small_size_never_inflates_more(build_sample, tmp_path: Path) -> None:
    """record.xml deflates to 64 MiB but the central directory says 1 KiB: at most 1 KiB is inflated,
    counted, and the CRC over it fails: the entry is unreadable (ZIP_INVALID), memory stays small."""
    files = files_of(build_sample("pkg"))
    files["metadata/record.xml"] = files["metadata/record.xml"] + b" " * (64 * MIB)
    z = write_zip(tmp_path / "liar.zip", "pkg", files, deflate={"metadata/record.xml"})
    patch_central_sizes(z, "pkg/metadata/record.xml", file_size=1024)
    result = verify_unchanged(z)
    assert ("ZIP_INVALID", "metadata/record.xml") in pairs(result), result.findings
    with open_package(z) as r:
        assert r.entries["metadata/record.xml"].size == 1024
        with pytest.raises(OSError):
            r.read("metadata/record.xml")


def test_local_header_declaring_a_small_size_does_not_matter(build_sample, tmp_path: Path) -> None:
    """The central directory is what counts: a local header claiming 100 bytes is no way past the cap."""
    files = files_of(build_sample("pkg"))
    files["bag-info.txt"] = files["bag-info.txt"] + b"\n" * (12 * MIB)
    z = write_zip(tmp_path / "liar.zip", "pkg", files, deflate={"bag-info.txt"})
    patch_central_sizes(z, "pkg/bag-info.txt", local_file_size=100)
    result = verify_unchanged(z)
    assert ("LIMIT_EXCEEDED", "bag-info.txt") in pairs(result), result.findings


def test_central_directory_declaring_a_huge_size_is_refused_before_reading(build_sample, tmp_path: Path) -> None:
    files = files_of(build_sample("pkg"))
    z = write_zip(tmp_path / "liar.zip", "pkg", files)
    patch_central_sizes(z, "pkg/manifest-sha256.txt", file_size=0xFFFF_FFF0)
    result = verify_unchanged(z)
    assert ("LIMIT_EXCEEDED", "manifest-sha256.txt") in pairs(result), result.findings


def test_a_folder_tag_file_that_grows_after_listing_is_cut_off(build_sample) -> None:
    """Bytes are counted while reading: more than the listing declared is LimitExceeded."""
    pkg = build_sample("pkg")
    with open_package(pkg) as r:
        with open(pkg / "bag-info.txt", "ab") as f:
            f.write(b"X-Grown: " + b"y" * 100_000 + b"\n")
        with pytest.raises(LimitExceeded, match="lying size"):
            r.read("bag-info.txt")


# --- lines --------------------------------------------------------------------------------------------

LINE_CASES: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "manifest-huge-line": ("manifest-sha256.txt", lambda b: b + b"0" * 64 + b"  data/" + b"x" * limits.MAX_LINE_BYTES + b"\n"),
    "manifest-million-blank-lines": ("manifest-sha256.txt", lambda b: b + b"\n" * 1_000_000),
    "manifest-million-cr-lines": ("manifest-sha256.txt", lambda b: b"\r" * 1_000_000 + b),
    "manifest-crlf-lines": ("manifest-sha256.txt", lambda b: b + b"\r\n" * (limits.MAX_PACKAGE_FILES + 1)),
    "tagmanifest-blank-lines": ("tagmanifest-sha256.txt", lambda b: b + b"\n" * 1_000_000),
    "bag-info-huge-line": ("bag-info.txt", lambda b: b + b"X-Note: " + "档".encode() * limits.MAX_LINE_BYTES + b"\n"),
    "bag-info-continuations": ("bag-info.txt", lambda b: b + b" more\n" * 200_000),
    "bag-info-blank-lines": ("bag-info.txt", lambda b: b + b"\n" * 1_000_000),
    "bagit-txt-blank-lines": ("bagit.txt", lambda b: b + b"\n" * 1_000_000),
}


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
@pytest.mark.parametrize("case", sorted(LINE_CASES))
def test_too_many_or_too_long_lines_are_limit_exceeded(build_sample, tmp_path: Path, case: str, zipped: bool) -> None:
    entry, change = LINE_CASES[case]
    pkg = build_sample("pkg")
    (pkg / entry).write_bytes(change((pkg / entry).read_bytes()))
    # Stored, not deflated: a run of blanks deflates past MAX_COMPRESSION_RATIO, which the bomb
    # tests cover; here the lines themselves must be counted and measured.
    target = write_zip(tmp_path / "pkg.zip", "pkg", files_of(pkg)) if zipped else pkg
    result = verify_unchanged(target)
    assert ("LIMIT_EXCEEDED", entry) in pairs(result), result.findings
    message = next(f.message for f in result.findings if f.code == "LIMIT_EXCEEDED")
    assert ("MAX_LINE_BYTES" in message) if "huge" in case else ("MAX_PACKAGE_FILES" in message), message


def test_a_manifest_of_exactly_the_file_limit_is_read() -> None:
    """The cap counts lines: MAX_PACKAGE_FILES of them are fine, one more is not."""
    from govarc.package.hashing import Algorithm
    from govarc.package.manifest import TagLimitError, parse_manifest

    line = "0" * 64 + "  data/a.txt\n"
    lines, problems = parse_manifest(line * limits.MAX_PACKAGE_FILES, Algorithm.SHA256)
    assert len(lines) == limits.MAX_PACKAGE_FILES and problems == []
    with pytest.raises(TagLimitError, match=f"line {limits.MAX_PACKAGE_FILES + 1}"):
        parse_manifest(line * limits.MAX_PACKAGE_FILES + "\n", Algorithm.SHA256)


# --- entries --------------------------------------------------------------------------------------------


def test_zip_with_too_many_entries_is_limit_exceeded(build_sample, tmp_path: Path) -> None:
    files = files_of(build_sample("pkg"))
    for i in range(limits.MAX_ZIP_ENTRIES):
        files[f"data/many/{i}.txt"] = b""
    z = write_zip(tmp_path / "many.zip", "pkg", files)
    result = verify_unchanged(z)
    assert pairs(result) == {("LIMIT_EXCEEDED", "many.zip")}
    assert "MAX_ZIP_ENTRIES" in result.findings[0].message


def test_zip_end_record_understating_its_entries_is_still_counted(build_sample, tmp_path: Path) -> None:
    """The end record says 9 entries; the central directory holds more than the limit."""
    files = files_of(build_sample("pkg"))
    for i in range(limits.MAX_ZIP_ENTRIES):
        files[f"data/many/{i}.txt"] = b""
    z = write_zip(tmp_path / "understated.zip", "pkg", files)
    raw = bytearray(z.read_bytes())
    eocd = raw.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", raw, eocd + 8, 9, 9)
    z.write_bytes(bytes(raw))
    result = verify_unchanged(z)
    assert pairs(result) == {("LIMIT_EXCEEDED", "understated.zip")}


@pytest.mark.parametrize("field", ["entries", "directory-size"])
def test_zip_end_record_claiming_a_huge_directory_is_refused_unread(build_sample, tmp_path: Path, field: str) -> None:
    z = write_zip(tmp_path / "claims.zip", "pkg", files_of(build_sample("pkg")))
    raw = bytearray(z.read_bytes())
    eocd = raw.rfind(b"PK\x05\x06")
    if field == "entries":
        struct.pack_into("<HH", raw, eocd + 8, 0xFFFE, 0xFFFE)
    else:
        struct.pack_into("<I", raw, eocd + 12, MAX_ZIP_DIRECTORY_BYTES + 1)
    z.write_bytes(bytes(raw))
    result = verify_unchanged(z)
    assert pairs(result) == {("LIMIT_EXCEEDED", "claims.zip")}


def test_folder_package_with_too_many_entries_is_limit_exceeded(build_sample) -> None:
    pkg = build_sample("pkg")
    many = pkg / "data" / "many"
    many.mkdir()
    (many / "0.txt").touch()
    for i in range(1, limits.MAX_ZIP_ENTRIES):  # names are entries: hard links are the cheapest
        os.link(many / "0.txt", many / f"{i}.txt")
    result = verify_unchanged(pkg)
    assert pairs(result) == {("LIMIT_EXCEEDED", "pkg")}


# --- record.xml nesting --------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [limits.MAX_XML_DEPTH, 300, 100_000])
@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_deeply_nested_record_xml_is_limit_exceeded(build_sample, tmp_path: Path, depth: int, zipped: bool) -> None:
    """Nested ``depth`` levels inside <note> (itself at depth 2): all over MAX_XML_DEPTH."""
    pkg = build_sample("pkg")
    r = pkg / "metadata" / "record.xml"
    text = r.read_text(encoding="utf-8")
    nest = "<x>" * depth + "deep" + "</x>" * depth
    r.write_text(text.replace("</record>", f"<note>{nest}</note></record>", 1), encoding="utf-8")
    target = write_zip(tmp_path / "deep.zip", "pkg", files_of(pkg)) if zipped else pkg
    result = verify_unchanged(target)
    assert ("LIMIT_EXCEEDED", "metadata/record.xml") in pairs(result), result.findings
    assert "MAX_XML_DEPTH" in next(f.message for f in result.findings if f.code == "LIMIT_EXCEEDED")
    assert "METADATA_INVALID" not in {f.code for f in result.findings}  # not parsed on


def test_record_xml_at_the_depth_limit_is_only_schema_invalid(build_sample) -> None:
    pkg = build_sample("pkg")
    r = pkg / "metadata" / "record.xml"
    nest = "<x>" * (limits.MAX_XML_DEPTH - 2) + "</x>" * (limits.MAX_XML_DEPTH - 2)
    r.write_text(r.read_text(encoding="utf-8").replace("</record>", f"<note>{nest}</note></record>", 1), encoding="utf-8")
    codes = {f.code for f in verify_package(pkg).findings}
    assert "LIMIT_EXCEEDED" not in codes and "METADATA_INVALID" in codes


# --- folder packages: sizes and special files ----------------------------------------------------------


@pytest.mark.parametrize("entry", TAG_FILES + ["signatures/LZ0012.p7s"])
def test_folder_tag_file_over_the_size_limit_is_never_read(build_sample, entry: str) -> None:
    """A sparse 2 GiB tag file: judged by its size alone (reading it would take gigabytes)."""
    pkg = build_sample("pkg")
    (pkg / entry).parent.mkdir(exist_ok=True)
    with open(pkg / entry, "ab") as f:
        f.truncate(2 << 30)
    result = verify_unchanged(pkg)
    assert ("LIMIT_EXCEEDED", entry) in pairs(result), result.findings
    assert "MAX_TAG_FILE_BYTES" in next(f.message for f in result.findings if f.code == "LIMIT_EXCEEDED")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


@pytest.mark.parametrize("make", [_fifo, _socket], ids=["fifo", "socket"])
@pytest.mark.parametrize("entry", ["data/pipe", "metadata/record.xml", "bag-info.txt", "manifest-sha256.txt",
                                   "signatures/LZ0012.p7s"])
def test_special_file_in_a_folder_package_never_blocks(build_sample, tmp_path: Path, make, entry: str) -> None:  # noqa: ANN001
    pkg = build_sample("pkg")
    target = pkg / entry
    if target.exists():
        target.unlink()
    target.parent.mkdir(exist_ok=True)
    if make is _socket:  # AF_UNIX paths must be short: bind in a short folder, then move it in
        short = Path(tempfile.mkdtemp(prefix="s"))
        try:
            make(short / "s")
            os.rename(short / "s", target)
        finally:
            os.rmdir(short)
    else:
        make(target)
    result = verify_unchanged(pkg)
    assert ("LINK_IN_PACKAGE", entry) in pairs(result), result.findings


def test_a_tag_file_swapped_for_a_fifo_after_listing_is_refused_without_blocking(build_sample) -> None:
    pkg = build_sample("pkg")
    with open_package(pkg) as r:
        (pkg / "bag-info.txt").unlink()
        os.mkfifo(pkg / "bag-info.txt")
        with no_hang(), pytest.raises(OSError, match="not a regular file"):
            r.read("bag-info.txt")


# --- the signature layer on top ---------------------------------------------------------------------------


def test_signature_check_on_an_over_limit_package_is_findings_only(build_sample, tmp_path: Path) -> None:
    """`govarc verify` also runs the signature layer, which reads the tag manifest and .p7s files."""
    from govarc.sign.validate import SignaturePolicy, make_signature_check

    files = files_of(build_sample("pkg"))
    files["tagmanifest-sha256.txt"] += b"\n" * (12 * MIB)
    files["signatures/LZ0012.p7s"] = b"\x30" * (12 * MIB)
    z = write_zip(tmp_path / "both.zip", "pkg", files, deflate={"tagmanifest-sha256.txt", "signatures/LZ0012.p7s"})
    result = verify_package(z, extra=make_signature_check(SignaturePolicy()))
    got = pairs(result)
    assert ("LIMIT_EXCEEDED", "tagmanifest-sha256.txt") in got and ("LIMIT_EXCEEDED", "signatures/LZ0012.p7s") in got
    assert ("SIGNATURE_MALFORMED", "signatures/LZ0012.p7s") in got


# --- peak memory of `govarc verify` on the worst ---------------------------------------------------------

_MEASURE = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
print(proc.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stdout.write(proc.stdout)
sys.stderr.write(proc.stderr)
"""


def _big_bomb(pkg: Path, zpath: Path, entry: str, size: int) -> Path:
    """A zip whose ``entry`` inflates to its content plus ``size`` bytes of blanks (a multiple of 1 MiB).

    After a full flush deflate starts afresh, so one compressed 1 MiB block repeated is a valid
    stream: a 1 GiB bomb costs one block's compression. The CRC is left 0: nothing may read
    that far to find out.
    """
    files = files_of(pkg)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(files[entry]) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(b" " * MIB) + comp.flush(zlib.Z_FULL_FLUSH)
    deflated = head + block * (size // MIB) + comp.flush()
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in files.items():
            if name != entry:
                zf.writestr(f"pkg/{name}", data)
    # Add the bomb by hand: its local header and data where the directory was, then the directory.
    raw = zpath.read_bytes()
    eocd = raw.rfind(b"PK\x05\x06")
    n, cd_size, cd_offset = struct.unpack_from("<HII", raw, eocd + 10)
    name = f"pkg/{entry}".encode()
    usize = len(files[entry]) + size
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x800, 8, 0, 0x21, 0, len(deflated), usize, len(name), 0)
    body = raw[:cd_offset] + local + name + deflated
    central = raw[cd_offset:cd_offset + cd_size] + struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 0x314, 20, 0x800, 8, 0, 0x21, 0, len(deflated), usize, len(name),
        0, 0, 0, 0, 0o100644 << 16, cd_offset) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n + 1, n + 1, len(central), len(body), 0)
    zpath.write_bytes(body + central + end)
    with zipfile.ZipFile(zpath) as zf:  # a zip any reader opens, declaring what the bomb inflates to
        assert zf.getinfo(f"pkg/{entry}").file_size == usize
    return zpath


def test_peak_memory_of_govarc_verify_on_hostile_packages(build_sample, tmp_path: Path) -> None:
    pkg = build_sample("pkg")
    worst = tmp_path / "worst"
    worst.mkdir()
    targets = [
        _big_bomb(pkg, worst / "record-bomb.zip", "metadata/record.xml", 1 << 30),  # 1 GiB from ~1 MB
        _big_bomb(pkg, worst / "manifest-bomb.zip", "manifest-sha256.txt", 512 * MIB),
    ]
    liar = _big_bomb(pkg, worst / "liar.zip", "bag-info.txt", 512 * MIB)
    patch_central_sizes(liar, "pkg/bag-info.txt", file_size=4096)
    targets.append(liar)
    blank = worst / "blank-lines"
    files = files_of(pkg)
    for name, data in files.items():
        (blank / name).parent.mkdir(parents=True, exist_ok=True)
        (blank / name).write_bytes(data)
    with open(blank / "manifest-sha256.txt", "ab") as f:
        f.write(b"\n" * (limits.MAX_TAG_FILE_BYTES - 4096))  # 8 million blank lines, just under the size cap
    (blank / "bag-info.txt").write_bytes(files["bag-info.txt"] + b" x\n" * ((limits.MAX_TAG_FILE_BYTES - 4096) // 3))
    targets.append(blank)
    for t in targets:
        assert zipfile.is_zipfile(t) or t.is_dir()
    home = tmp_path / "no-workspace"
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "govarc", "--home", str(home), "verify",
         "--allow-unsigned", *map(str, targets)],
        capture_output=True, text=True, timeout=600,
    )
    lines = proc.stdout.splitlines()
    returncode, peak_kib = int(lines[0]), int(lines[1])
    output = "\n".join(lines[2:])
    assert returncode == 3, (output, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert output.count("无效 INVALID") == len(targets), output
    assert "LIMIT_EXCEEDED  metadata/record.xml" in output and "LIMIT_EXCEEDED  manifest-sha256.txt" in output
    assert "ZIP_INVALID  bag-info.txt" in output, output  # the liar: at most 4 KiB inflated, CRC fails
    print(f"peak RSS {peak_kib / 1024:.0f} MiB")
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
