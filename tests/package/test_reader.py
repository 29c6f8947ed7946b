"""The package reader: the same listing for a folder and a .zip, links seen and never followed."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from govarc.package.reader import DirReader, ZipReader, open_package

EXPECTED = {
    "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "metadata/record.xml",
    "data/正文.pdf", "data/附件/附件1 植树任务分解表.txt", "data/附件/说明.txt",
}


def test_dir_and_zip_list_the_same_entries(build_sample) -> None:
    pkg = build_sample("pkg")
    z = build_sample("pkg.zip", zip=True)
    with open_package(pkg) as d, open_package(z) as zr:
        assert isinstance(d, DirReader) and not d.is_zip
        assert isinstance(zr, ZipReader) and zr.is_zip
        assert set(d.entries) == set(zr.entries) == EXPECTED
        assert d.problems == [] and zr.problems == []
        for name in EXPECTED:
            assert d.entries[name].kind == zr.entries[name].kind == "file"
            assert d.entries[name].size == zr.entries[name].size == (pkg / name).stat().st_size
            assert d.read(name) == zr.read(name) == (pkg / name).read_bytes()
            assert d.has_file(name) and zr.has_file(name)
        assert not d.has_file("data") and not zr.has_file("nope.txt")
        with pytest.raises(FileNotFoundError):
            d.open("nope.txt")
        with pytest.raises(FileNotFoundError):
            zr.open("nope.txt")


def test_zip_streams_support_readinto(build_sample) -> None:
    z = build_sample("pkg.zip", zip=True)
    with open_package(z) as r, r.open("data/正文.pdf") as f:
        buf = bytearray(4)
        assert f.readinto(buf) == 4
        assert bytes(buf) == b"%PDF"


def test_dir_reader_sees_links_without_following(build_sample, tmp_path: Path) -> None:
    pkg = build_sample("pkg")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, pkg / "data" / "dirlink")
    os.symlink(outside / "secret.txt", pkg / "data" / "filelink")
    with open_package(pkg) as r:
        assert r.entries["data/dirlink"].kind == "link"
        assert r.entries["data/filelink"].kind == "link"
        assert not any(n.startswith("data/dirlink/") for n in r.entries)  # never descended into
        assert {(f.code, f.path) for f in r.problems} == {
            ("LINK_IN_PACKAGE", "data/dirlink"), ("LINK_IN_PACKAGE", "data/filelink"),
        }
        with pytest.raises(FileNotFoundError):
            r.open("data/filelink")


def test_dir_reader_refuses_a_file_swapped_for_a_link_after_listing(build_sample, tmp_path: Path) -> None:
    pkg = build_sample("pkg")
    (tmp_path / "secret.txt").write_text("secret")
    with open_package(pkg) as r:
        target = pkg / "data" / "正文.pdf"
        target.unlink()
        os.symlink(tmp_path / "secret.txt", target)
        with pytest.raises(OSError):
            r.read("data/正文.pdf")


def test_zip_reader_strips_the_top_folder_and_flags_unsafe_entries(tmp_path: Path) -> None:
    z = tmp_path / "x.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("bag/bagit.txt", "BagIt-Version: 1.0\n")
        zf.writestr("bag/data/", b"")  # a folder entry is not a file
        zf.writestr("bag/data/a.txt", b"a")
        zf.writestr("../evil", b"x")
        link = zipfile.ZipInfo("bag/data/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        fifo = zipfile.ZipInfo("bag/data/fifo")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, b"")
    with open_package(z) as r:
        assert r.top == "bag"
        assert set(r.entries) == {"bagit.txt", "data/a.txt", "data/fifo"}
        assert r.entries["data/fifo"].kind == "special"
        assert {(f.code, f.path) for f in r.problems} == {
            ("ZIP_UNSAFE_ENTRY", "../evil"), ("ZIP_UNSAFE_ENTRY", "bag/data/link"), ("ZIP_UNSAFE_ENTRY", "data/fifo"),
        }
        assert r.read("data/a.txt") == b"a"


def test_zip_reader_reports_a_bad_layout(tmp_path: Path) -> None:
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a/bagit.txt", "x")
        zf.writestr("b/bagit.txt", "x")
    with open_package(z) as r:
        assert [(f.code, f.path) for f in r.problems] == [("ZIP_LAYOUT", "two.zip")]
        assert r.entries == {}


def test_zip_crc_error_is_an_oserror(build_sample) -> None:
    z = build_sample("pkg.zip", zip=True)
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("pkg/data/正文.pdf")
    raw = bytearray(z.read_bytes())
    h = info.header_offset
    start = h + 30 + int.from_bytes(raw[h + 26 : h + 28], "little") + int.from_bytes(raw[h + 28 : h + 30], "little")
    raw[start] ^= 0xFF
    z.write_bytes(bytes(raw))
    with open_package(z) as r, pytest.raises(OSError, match="CRC"):
        r.read("data/正文.pdf")


def test_open_package_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        with open_package(tmp_path / "missing"):
            pass
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(zipfile.BadZipFile):
        with open_package(tmp_path / "text.zip"):
            pass
