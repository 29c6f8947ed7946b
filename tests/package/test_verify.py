"""verify_package: one tampering per integrity finding code, each reported with the right file.

Every case starts from a freshly built package and changes one thing. ``TAMPERS`` is keyed by the
finding code the tampering must produce; a test checks that every integrity code in
``govarc.findings.CODES`` has at least one case, so a new code cannot arrive without a fixture.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from govarc.findings import CODES, Kind, Level
from govarc.package.verify import verify_package

# --- helpers that tamper with a package ---------------------------------------------------------


def tag_files(pkg: Path) -> list[str]:
    """Names the tag manifest must list: everything outside data/, signatures/ and tagmanifests."""
    names = []
    for p in pkg.rglob("*"):
        rel = p.relative_to(pkg).as_posix()
        if p.is_file() and not p.is_symlink() and not rel.startswith(("data/", "signatures/", "tagmanifest-")):
            names.append(rel)
    return sorted(names)


def retag(pkg: Path) -> None:
    """Recompute every tag manifest after a tag file changed (what a careful forger would do)."""
    for tm in pkg.glob("tagmanifest-*.txt"):
        alg = tm.name[len("tagmanifest-") : -len(".txt")]
        lines = [f"{hashlib.new(alg, (pkg / n).read_bytes()).hexdigest()}  {n}\n" for n in tag_files(pkg)]
        tm.write_text("".join(lines), encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def drop_line(path: Path, containing: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if containing not in line]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept), encoding="utf-8")


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def zip_dir(pkg: Path, zpath: Path, top: str | None = None, extra: Sequence[tuple[zipfile.ZipInfo | str, bytes]] = ()) -> Path:
    """Zip a package folder by hand (one top folder ``top``), adding raw ``extra`` entries."""
    top = top or pkg.name
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(pkg.rglob("*")):
            if p.is_file():
                info = zipfile.ZipInfo(f"{top}/{p.relative_to(pkg).as_posix()}")
                info.external_attr = 0o100644 << 16
                zf.writestr(info, p.read_bytes())
        for name, data in extra:
            zf.writestr(name, data)
    return zpath


def zip_entry_offset(zpath: Path, name: str) -> int:
    """Offset of the first data byte of a stored entry."""
    with zipfile.ZipFile(zpath) as zf:
        info = zf.getinfo(name)
    raw = zpath.read_bytes()
    h = info.header_offset
    n, m = int.from_bytes(raw[h + 26 : h + 28], "little"), int.from_bytes(raw[h + 28 : h + 30], "little")
    return h + 30 + n + m


def symlink_entry(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


# --- the cases -------------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a tampering gets: a factory for fresh packages and a scratch folder."""

    tmp: Path
    build: Callable[..., Path]

    def dir(self, sm3: bool = False) -> Path:
        return self.build("pkg", sm3=sm3)


@dataclass(frozen=True)
class Case:
    path: Path  # what to verify
    where: str  # the path the finding must name
    also: frozenset[str] | None = field(default=frozenset())  # other codes allowed; None: not checked


def case(where: str, also: Set[str] | None = frozenset()) -> Callable[[Path], Case]:
    return lambda path: Case(path, where, None if also is None else frozenset(also))


TAMPERS: dict[str, dict[str, Callable[[Ctx], Case]]] = {}


def tamper(code: str, name: str):
    def register(fn: Callable[[Ctx], Case]) -> Callable[[Ctx], Case]:
        TAMPERS.setdefault(code, {})[name] = fn
        return fn

    return register


@tamper("PKG_NOT_FOUND", "nonexistent path")
def make_PKG_NOT_FOUND(c: Ctx) -> Case:
    p = c.tmp / "no-such-package"
    return case(str(p))(p)


@tamper("PKG_NOT_FOUND", "the path is a symbolic link to a package")
def make_PKG_NOT_FOUND_link(c: Ctx) -> Case:
    link = c.tmp / "link-to-pkg"
    link.symlink_to(c.dir())
    return case(str(link))(link)


@tamper("ZIP_INVALID", "CRC error in a payload entry")
def make_ZIP_INVALID(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip")
    off = zip_entry_offset(z, "pkg/data/正文.pdf")
    flip_byte(z, off + 3)
    return case("data/正文.pdf")(z)


@tamper("ZIP_INVALID", "CRC error in bag-info.txt")
def make_ZIP_INVALID_tag(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip")
    flip_byte(z, zip_entry_offset(z, "pkg/bag-info.txt") + 1)
    return case("bag-info.txt", also=None)(z)


@tamper("ZIP_INVALID", "truncated zip")
def make_ZIP_INVALID_truncated(c: Ctx) -> Case:
    z = c.build("pkg.zip", zip=True)
    data = z.read_bytes()
    z.write_bytes(data[: len(data) // 2])
    return case("pkg.zip")(z)


@tamper("ZIP_INVALID", "not a zip at all")
def make_ZIP_INVALID_text(c: Ctx) -> Case:
    z = c.tmp / "pkg.zip"
    z.write_text("this is not a zip\n")
    return case("pkg.zip")(z)


@tamper("ZIP_INVALID", "the same entry twice")
def make_ZIP_INVALID_twice(c: Ctx) -> Case:
    pkg = c.dir()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, which is the point
        z = zip_dir(pkg, c.tmp / "pkg.zip", extra=[("pkg/data/正文.pdf", b"other content")])
    return case("data/正文.pdf")(z)


@tamper("ZIP_LAYOUT", "two top-level folders")
def make_ZIP_LAYOUT(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip", extra=[("other/readme.txt", b"hello")])
    return case("pkg.zip", also=None)(z)


@tamper("ZIP_LAYOUT", "bag at the zip root, no folder")
def make_ZIP_LAYOUT_flat(c: Ctx) -> Case:
    pkg = c.dir()
    z = c.tmp / "flat.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(pkg.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(pkg).as_posix())
    return case("flat.zip", also=None)(z)


@tamper("ZIP_UNSAFE_ENTRY", "entry named ../evil")
def make_ZIP_UNSAFE_ENTRY(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip", extra=[("../evil", b"escape")])
    return case("../evil")(z)


@tamper("ZIP_UNSAFE_ENTRY", "entry that is a symbolic link")
def make_ZIP_UNSAFE_ENTRY_link(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip", extra=[(symlink_entry("pkg/data/passwd", "/etc/passwd"), b"/etc/passwd")])
    return case("pkg/data/passwd")(z)


@tamper("ZIP_UNSAFE_ENTRY", "absolute entry")
def make_ZIP_UNSAFE_ENTRY_abs(c: Ctx) -> Case:
    pkg = c.dir()
    z = zip_dir(pkg, c.tmp / "pkg.zip")
    with zipfile.ZipFile(z, "a") as zf:
        info = zipfile.ZipInfo("pkg/x")
        info.filename = "/srv/evil"  # ZipInfo() strips a leading slash; a hostile zip has one
        zf.writestr(info, b"x")
    return case("/srv/evil")(z)


@tamper("ZIP_UNSAFE_ENTRY", "entry with a backslash")
def make_ZIP_UNSAFE_ENTRY_backslash(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip")
    with zipfile.ZipFile(z, "a") as zf:
        info = zipfile.ZipInfo("pkg/x")
        info.filename = "pkg\\..\\..\\evil"
        zf.writestr(info, b"x")
    return case("pkg\\..\\..\\evil")(z)


@tamper("ZIP_UNSAFE_ENTRY", "entry with an empty name")
def make_ZIP_UNSAFE_ENTRY_empty(c: Ctx) -> Case:
    z = zip_dir(c.dir(), c.tmp / "pkg.zip")
    with zipfile.ZipFile(z, "a") as zf:
        info = zipfile.ZipInfo("pkg/x")
        info.filename = ""
        zf.writestr(info, b"x")
    return case("")(z)


@tamper("LINK_IN_PACKAGE", "symbolic link in data/")
def make_LINK_IN_PACKAGE(c: Ctx) -> Case:
    pkg = c.dir()
    os.symlink("/etc/passwd", pkg / "data" / "passwd")
    return case("data/passwd")(pkg)


@tamper("LINK_IN_PACKAGE", "symbolic link to a folder outside")
def make_LINK_IN_PACKAGE_dir(c: Ctx) -> Case:
    pkg = c.dir()
    (c.tmp / "outside").mkdir()
    (c.tmp / "outside" / "secret.txt").write_text("secret")
    os.symlink(c.tmp / "outside", pkg / "data" / "附件" / "outside")
    return case("data/附件/outside")(pkg)


@tamper("LINK_IN_PACKAGE", "hard link")
def make_LINK_IN_PACKAGE_hard(c: Ctx) -> Case:
    pkg = c.dir()
    os.link(pkg / "data" / "正文.pdf", c.tmp / "elsewhere.pdf")
    return case("data/正文.pdf", also=None)(pkg)


@tamper("LINK_IN_PACKAGE", "named pipe")
def make_LINK_IN_PACKAGE_fifo(c: Ctx) -> Case:
    pkg = c.dir()
    os.mkfifo(pkg / "data" / "pipe")
    return case("data/pipe")(pkg)


@tamper("UNSAFE_PATH", "manifest line with ../")
def make_UNSAFE_PATH(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "manifest-sha256.txt", f"{'0' * 64}  data/../../etc/passwd\n")
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("UNSAFE_PATH", "absolute manifest line")
def make_UNSAFE_PATH_abs(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "manifest-sha256.txt", f"{'0' * 64}  /etc/passwd\n")
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("UNSAFE_PATH", "payload manifest names a tag file")
def make_UNSAFE_PATH_outside_data(c: Ctx) -> Case:
    pkg = c.dir()
    digest = hashlib.sha256((pkg / "bagit.txt").read_bytes()).hexdigest()
    append(pkg / "manifest-sha256.txt", f"{digest}  bagit.txt\n")
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("UNSAFE_PATH", "tag manifest names a payload file")
def make_UNSAFE_PATH_tag(c: Ctx) -> Case:
    pkg = c.dir()
    digest = hashlib.sha256((pkg / "data" / "正文.pdf").read_bytes()).hexdigest()
    append(pkg / "tagmanifest-sha256.txt", f"{digest}  data/正文.pdf\n")
    return case("tagmanifest-sha256.txt")(pkg)


@tamper("BAGIT_TXT_MISSING", "bagit.txt deleted")
def make_BAGIT_TXT_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "bagit.txt").unlink()
    retag(pkg)
    return case("bagit.txt")(pkg)


@tamper("BAGIT_TXT_INVALID", "version 0.97")
def make_BAGIT_TXT_INVALID(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "bagit.txt", "1.0", "0.97")
    retag(pkg)
    return case("bagit.txt")(pkg)


@tamper("BAGIT_TXT_INVALID", "encoding not UTF-8")
def make_BAGIT_TXT_INVALID_encoding(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "bagit.txt", "UTF-8", "GB18030")
    retag(pkg)
    return case("bagit.txt")(pkg)


@tamper("DATA_DIR_MISSING", "data/ removed")
def make_DATA_DIR_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    shutil.rmtree(pkg / "data")
    return case("data/", also=None)(pkg)


@tamper("MANIFEST_MISSING", "manifest-sha256.txt deleted")
def make_MANIFEST_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "manifest-sha256.txt").unlink()
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("TAGMANIFEST_MISSING", "tagmanifest-sha256.txt deleted")
def make_TAGMANIFEST_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "tagmanifest-sha256.txt").unlink()
    return case("tagmanifest-sha256.txt")(pkg)


@tamper("MANIFEST_MALFORMED", "line without a digest")
def make_MANIFEST_MALFORMED(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "manifest-sha256.txt", "not-a-digest data/正文.pdf\n")
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("MANIFEST_MALFORMED", "digest of the wrong length")
def make_MANIFEST_MALFORMED_short(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "manifest-sha256.txt", "abcdef0123  data/other.pdf\n")
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("MANIFEST_MALFORMED", "manifest not UTF-8")
def make_MANIFEST_MALFORMED_encoding(c: Ctx) -> Case:
    pkg = c.dir()
    m = pkg / "manifest-sha256.txt"
    m.write_bytes(m.read_text(encoding="utf-8").encode("gb18030"))
    retag(pkg)
    return case("manifest-sha256.txt", also=None)(pkg)


@tamper("MANIFEST_DUPLICATE", "the same line twice")
def make_MANIFEST_DUPLICATE(c: Ctx) -> Case:
    pkg = c.dir()
    m = pkg / "manifest-sha256.txt"
    first = m.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    append(m, first)
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("MANIFEST_DUPLICATE", "the same path in NFD")
def make_MANIFEST_DUPLICATE_nfd(c: Ctx) -> Case:
    pkg = c.build("pkg", source=nfd_source(c.tmp))
    m = pkg / "manifest-sha256.txt"
    line = next(line for line in m.read_text(encoding="utf-8").splitlines(keepends=True) if "résumé" in line)
    append(m, unicodedata.normalize("NFD", line))
    retag(pkg)
    return case("manifest-sha256.txt")(pkg)


@tamper("MANIFEST_INCOMPLETE", "SM3 manifest misses a file")
def make_MANIFEST_INCOMPLETE(c: Ctx) -> Case:
    pkg = c.dir(sm3=True)
    drop_line(pkg / "manifest-sm3.txt", "说明.txt")
    retag(pkg)
    return case("manifest-sm3.txt")(pkg)


@tamper("PAYLOAD_DIGEST_MISMATCH", "a flipped byte")
def make_PAYLOAD_DIGEST_MISMATCH(c: Ctx) -> Case:
    pkg = c.dir()
    flip_byte(pkg / "data" / "正文.pdf", 10)
    return case("data/正文.pdf")(pkg)


@tamper("PAYLOAD_DIGEST_MISMATCH", "a flipped byte, SM3 manifest too")
def make_PAYLOAD_DIGEST_MISMATCH_sm3(c: Ctx) -> Case:
    pkg = c.dir(sm3=True)
    flip_byte(pkg / "data" / "附件" / "附件1 植树任务分解表.txt", 0)
    return case("data/附件/附件1 植树任务分解表.txt")(pkg)


@tamper("PAYLOAD_DIGEST_MISMATCH", "a flipped byte inside a zip (CRC recomputed)")
def make_PAYLOAD_DIGEST_MISMATCH_zip(c: Ctx) -> Case:
    pkg = c.dir()
    flip_byte(pkg / "data" / "正文.pdf", 10)
    return case("data/正文.pdf")(zip_dir(pkg, c.tmp / "pkg.zip"))


@tamper("PAYLOAD_FILE_MISSING", "a payload file deleted")
def make_PAYLOAD_FILE_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "data" / "附件" / "说明.txt").unlink()
    return case("data/附件/说明.txt", also={"OXUM_MISMATCH", "METADATA_MISMATCH"})(pkg)


@tamper("PAYLOAD_FILE_UNLISTED", "an extra payload file")
def make_PAYLOAD_FILE_UNLISTED(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "data" / "附件" / "多余.txt").write_text("extra")
    return case("data/附件/多余.txt", also={"OXUM_MISMATCH", "METADATA_MISMATCH"})(pkg)


@tamper("TAG_DIGEST_MISMATCH", "bag-info.txt changed")
def make_TAG_DIGEST_MISMATCH(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "bag-info.txt", "External-Description: 柳州", "External-Description: 南宁")
    return case("bag-info.txt")(pkg)


@tamper("TAG_DIGEST_MISMATCH", "record.xml changed")
def make_TAG_DIGEST_MISMATCH_record(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "metadata" / "record.xml", "植树造林", "植树种草")
    return case("metadata/record.xml")(pkg)


@tamper("TAG_DIGEST_MISMATCH", "manifest-sha256.txt changed")
def make_TAG_DIGEST_MISMATCH_manifest(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "manifest-sha256.txt", "\n")
    return case("manifest-sha256.txt")(pkg)


@tamper("TAG_FILE_MISSING", "tag manifest lists a file that is not there")
def make_TAG_FILE_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "tagmanifest-sha256.txt", f"{'0' * 64}  notes.txt\n")
    return case("notes.txt")(pkg)


@tamper("TAG_FILE_UNLISTED", "an extra tag file")
def make_TAG_FILE_UNLISTED(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "metadata" / "notes.txt").write_text("added later")
    return case("metadata/notes.txt")(pkg)


@tamper("TAGMANIFEST_INCOMPLETE", "tag manifest omits bag-info.txt")
def make_TAGMANIFEST_INCOMPLETE(c: Ctx) -> Case:
    pkg = c.dir()
    drop_line(pkg / "tagmanifest-sha256.txt", "bag-info.txt")
    return case("tagmanifest-sha256.txt")(pkg)


@tamper("TAGMANIFEST_INCOMPLETE", "tag manifest omits manifest-sha256.txt")
def make_TAGMANIFEST_INCOMPLETE_manifest(c: Ctx) -> Case:
    pkg = c.dir()
    drop_line(pkg / "tagmanifest-sha256.txt", "manifest-sha256.txt")
    return case("tagmanifest-sha256.txt")(pkg)


@tamper("BAG_INFO_MISSING", "bag-info.txt deleted")
def make_BAG_INFO_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "bag-info.txt").unlink()
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("BAG_INFO_MALFORMED", "a line without a label")
def make_BAG_INFO_MALFORMED(c: Ctx) -> Case:
    pkg = c.dir()
    append(pkg / "bag-info.txt", "this line has no label\n")
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("BAG_INFO_MALFORMED", "bag-info.txt not UTF-8")
def make_BAG_INFO_MALFORMED_encoding(c: Ctx) -> Case:
    pkg = c.dir()
    b = pkg / "bag-info.txt"
    b.write_bytes(b.read_text(encoding="utf-8").encode("gb18030"))
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("BAG_INFO_FIELD_MISSING", "Bagging-Date removed")
def make_BAG_INFO_FIELD_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    drop_line(pkg / "bag-info.txt", "Bagging-Date")
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("BAG_INFO_FIELD_MISSING", "Source-Organization empty")
def make_BAG_INFO_FIELD_MISSING_empty(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "bag-info.txt", "Source-Organization: 柳州市人民政府办公室", "Source-Organization: ")
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("PROFILE_UNSUPPORTED", "unknown profile identifier")
def make_PROFILE_UNSUPPORTED(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "bag-info.txt", "urn:govarc:package-profile:1", "urn:govarc:package-profile:99")
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("OXUM_MISMATCH", "wrong Payload-Oxum")
def make_OXUM_MISMATCH(c: Ctx) -> Case:
    pkg = c.dir()
    text = (pkg / "bag-info.txt").read_text(encoding="utf-8")
    oxum = next(line for line in text.splitlines() if line.startswith("Payload-Oxum:"))
    edit(pkg / "bag-info.txt", oxum, "Payload-Oxum: 1.1")
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("OXUM_MISMATCH", "malformed Payload-Oxum")
def make_OXUM_MISMATCH_malformed(c: Ctx) -> Case:
    pkg = c.dir()
    text = (pkg / "bag-info.txt").read_text(encoding="utf-8")
    oxum = next(line for line in text.splitlines() if line.startswith("Payload-Oxum:"))
    edit(pkg / "bag-info.txt", oxum, "Payload-Oxum: many.files")
    retag(pkg)
    return case("bag-info.txt")(pkg)


@tamper("ALGORITHM_UNAVAILABLE", "manifest with an unknown algorithm")
def make_ALGORITHM_UNAVAILABLE(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "manifest-whirlpool.txt").write_text(f"{'0' * 128}  data/正文.pdf\n")
    retag(pkg)
    return case("manifest-whirlpool.txt")(pkg)


@tamper("ALGORITHM_WEAK", "an MD5 manifest")
def make_ALGORITHM_WEAK(c: Ctx) -> Case:
    pkg = c.dir()
    lines = []
    for p in sorted((pkg / "data").rglob("*")):
        if p.is_file():
            lines.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(pkg).as_posix()}\n")
    (pkg / "manifest-md5.txt").write_text("".join(lines), encoding="utf-8")
    retag(pkg)
    return case("manifest-md5.txt")(pkg)


def nfd_source(tmp: Path) -> Path:
    src = tmp / "nfd-src"
    src.mkdir()
    (src / "正文.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (src / "résumé.txt").write_text("履历")
    return src


@tamper("NAME_NOT_NFC", "a payload file name in NFD")
def make_NAME_NOT_NFC(c: Ctx) -> Case:
    pkg = c.build("pkg", source=nfd_source(c.tmp))
    nfd = unicodedata.normalize("NFD", "résumé.txt")
    (pkg / "data" / "résumé.txt").rename(pkg / "data" / nfd)
    return case(f"data/{nfd}")(pkg)


@tamper("METADATA_MISSING", "record.xml deleted")
def make_METADATA_MISSING(c: Ctx) -> Case:
    pkg = c.dir()
    (pkg / "metadata" / "record.xml").unlink()
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_NOT_WELLFORMED", "truncated record.xml")
def make_METADATA_NOT_WELLFORMED(c: Ctx) -> Case:
    pkg = c.dir()
    r = pkg / "metadata" / "record.xml"
    r.write_bytes(r.read_bytes()[:200])
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_NOT_WELLFORMED", "record.xml with a DOCTYPE and an entity")
def make_METADATA_NOT_WELLFORMED_doctype(c: Ctx) -> Case:
    pkg = c.dir()
    r = pkg / "metadata" / "record.xml"
    text = r.read_text(encoding="utf-8")
    text = text.replace("<record ", '<!DOCTYPE record [<!ENTITY t "ENTITY-EXPANDED">]>\n<record ', 1)
    text = text.replace("柳州市人民政府关于", "&t;", 1)
    r.write_text(text, encoding="utf-8")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_INVALID", "classification outside the schema")
def make_METADATA_INVALID(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "metadata" / "record.xml", "<classification>公开<", "<classification>绝密<")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_INVALID", "required title removed")
def make_METADATA_INVALID_title(c: Ctx) -> Case:
    pkg = c.dir()
    r = pkg / "metadata" / "record.xml"
    text = r.read_text(encoding="utf-8")
    start, end = text.index("<title>"), text.index("</title>") + len("</title>")
    r.write_text(text[:start] + text[end:], encoding="utf-8")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_INVALID", "archival code string disagrees with its item number")
def make_METADATA_INVALID_code_parts(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "metadata" / "record.xml", "<itemNumber>12<", "<itemNumber>13<")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_INVALID", "retention disagrees with the archival code")
def make_METADATA_INVALID_retention(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "metadata" / "record.xml", "<retention>Y</retention>\n  <itemCount>", "<retention>D10</retention>\n  <itemCount>")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_INVALID", "no file has role main")
def make_METADATA_INVALID_no_main(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "metadata" / "record.xml", 'role="main"', 'role="attachment"')
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_MISMATCH", "agency code differs from bag-info")
def make_METADATA_MISMATCH(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "metadata" / "record.xml", "<agencyCode>LZ0012<", "<agencyCode>NN0001<")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_MISMATCH", "External-Identifier differs from record.xml")
def make_METADATA_MISMATCH_bag_info(c: Ctx) -> Case:
    pkg = c.dir()
    edit(pkg / "bag-info.txt", "External-Identifier: 0012-WS·2007-Y-BGS-0012", "External-Identifier: 0012-WS·2007-Y-BGS-0013")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_MISMATCH", "file size in record.xml wrong")
def make_METADATA_MISMATCH_size(c: Ctx) -> Case:
    pkg = c.dir()
    r = pkg / "metadata" / "record.xml"
    text = r.read_text(encoding="utf-8")
    i = text.index("<name>附件/说明.txt</name>")
    j = text.index("<size>0</size>", i)
    r.write_text(text[:j] + "<size>7</size>" + text[j + len("<size>0</size>") :], encoding="utf-8")
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("METADATA_MISMATCH", "a digest in record.xml wrong")
def make_METADATA_MISMATCH_digest(c: Ctx) -> Case:
    pkg = c.dir()
    real = hashlib.sha256((pkg / "data" / "正文.pdf").read_bytes()).hexdigest()
    edit(pkg / "metadata" / "record.xml", real, "0" * 64)
    retag(pkg)
    return case("metadata/record.xml")(pkg)


@tamper("LIMIT_EXCEEDED", "record.xml over MAX_TAG_FILE_BYTES")
def make_LIMIT_EXCEEDED(c: Ctx) -> Case:
    # More variants (zip bombs, lines, entries, depth, special files) are in test_limits.py.
    pkg = c.dir()
    with open(pkg / "metadata" / "record.xml", "ab") as f:
        f.truncate(64 << 20)  # sparse: never read
    return case("metadata/record.xml", also=set())(pkg)


CASES = [(code, name, fn) for code, named in TAMPERS.items() for name, fn in named.items()]

# Integrity codes that no package tampering produces: they come from other commands.


@pytest.fixture
def ctx(tmp_path: Path, build_sample) -> Ctx:
    return Ctx(tmp_path, build_sample)


@pytest.mark.parametrize(("code", "name", "make"), CASES, ids=[f"{c}-{n}" for c, n, _ in CASES])
def test_tampering_is_reported(ctx: Ctx, code: str, name: str, make: Callable[[Ctx], Case]) -> None:
    c = make(ctx)
    result = verify_package(c.path)
    found = {(f.code, f.path) for f in result.findings}
    assert code in {f.code for f in result.findings}, result.findings
    assert (code, c.where) in found, result.findings
    if c.also is not None:
        assert {f.code for f in result.findings} <= {code} | c.also, result.findings
    if CODES[code].level is Level.ERROR:
        assert not result.valid
    else:
        assert result.valid, result.errors
    for f in result.findings:
        assert f.message and "\n" not in f.message


def test_every_integrity_code_has_a_tampering() -> None:
    integrity = {c for c, info in CODES.items() if info.kind is Kind.INTEGRITY}
    assert integrity - set(TAMPERS) == set()
    assert set(TAMPERS) <= integrity  # no fixture for a code that does not exist


def test_untampered_packages_are_valid(ctx: Ctx) -> None:
    assert verify_package(ctx.dir()).findings == ()
    assert verify_package(ctx.build("z.zip", zip=True)).findings == ()
    assert verify_package(zip_dir(ctx.build("p2", sm3=True), ctx.tmp / "hand.zip")).findings == ()


def deflated_zip(pkg: Path, zpath: Path) -> Path:
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(pkg.rglob("*")):
            if p.is_file():
                zf.write(p, f"{pkg.name}/{p.relative_to(pkg).as_posix()}")
    return zpath


@pytest.mark.parametrize("entry", ["data/附件/附件1 植树任务分解表.txt", "metadata/record.xml", "bag-info.txt"])
def test_corrupt_deflated_entry_is_a_finding_not_a_crash(ctx: Ctx, entry: str) -> None:
    pkg = ctx.dir()
    z = deflated_zip(pkg, ctx.tmp / "pkg.zip")
    off = zip_entry_offset(z, f"pkg/{entry}")
    data = bytearray(z.read_bytes())
    for i in range(off, off + 8):  # garble the start of the deflate stream
        data[i] ^= 0xFF
    z.write_bytes(bytes(data))
    result = verify_package(z)
    assert not result.valid
    assert ("ZIP_INVALID", entry) in {(f.code, f.path) for f in result.findings}, result.findings


def test_a_second_file_with_the_same_nfc_name_is_not_hidden(ctx: Ctx) -> None:
    """data/résumé.txt (NFC, listed) plus an unlisted NFD twin: the twin must not slip through."""
    pkg = ctx.build("pkg", source=nfd_source(ctx.tmp))
    nfd = unicodedata.normalize("NFD", "résumé.txt")
    (pkg / "data" / nfd).write_text("smuggled in")
    result = verify_package(pkg)
    assert not result.valid
    assert ("PAYLOAD_FILE_UNLISTED", f"data/{nfd}") in {(f.code, f.path) for f in result.findings}, result.findings
    assert "PAYLOAD_DIGEST_MISMATCH" not in {f.code for f in result.findings}  # the listed file is intact


def test_hard_link_is_reported_for_every_name(ctx: Ctx) -> None:
    pkg = ctx.dir()
    os.link(pkg / "data" / "正文.pdf", pkg / "data" / "附件" / "copy.pdf")
    result = verify_package(pkg)
    links = {f.path for f in result.findings if f.code == "LINK_IN_PACKAGE"}
    assert links == {"data/正文.pdf", "data/附件/copy.pdf"}


def test_doctype_entities_are_never_expanded(ctx: Ctx) -> None:
    secret = ctx.tmp / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    pkg = ctx.dir()
    r = pkg / "metadata" / "record.xml"
    text = r.read_text(encoding="utf-8")
    doctype = (
        f'<!DOCTYPE record [<!ENTITY ext SYSTEM "file://{secret}">'
        '<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n'
    )
    text = text.replace("<record ", doctype + "<record ", 1).replace("柳州市人民政府关于", "&ext;&d;", 1)
    r.write_text(text, encoding="utf-8")
    retag(pkg)
    result = verify_package(pkg)
    assert ("METADATA_NOT_WELLFORMED", "metadata/record.xml") in {(f.code, f.path) for f in result.findings}
    assert "DOCTYPE" in " ".join(f.message for f in result.findings)
    dump = repr(result.as_dict())
    assert "TOP-SECRET-CONTENT" not in dump and "AAAAAAAAAA" not in dump


def test_every_tampering_at_once_is_reported(ctx: Ctx) -> None:
    """The verifier collects every finding; it never stops at the first."""
    pkg = ctx.dir(sm3=True)
    flip_byte(pkg / "data" / "正文.pdf", 5)  # PAYLOAD_DIGEST_MISMATCH (sha256 and sm3)
    (pkg / "data" / "附件" / "说明.txt").unlink()  # PAYLOAD_FILE_MISSING
    (pkg / "data" / "多余.txt").write_text("x")  # PAYLOAD_FILE_UNLISTED
    os.symlink("/etc/passwd", pkg / "data" / "link")  # LINK_IN_PACKAGE
    append(pkg / "manifest-sha256.txt", f"{'0' * 64}  data/../../x\n")  # UNSAFE_PATH, TAG_DIGEST_MISMATCH
    edit(pkg / "bag-info.txt", "urn:govarc:package-profile:1", "urn:other")  # PROFILE_UNSUPPORTED
    (pkg / "notes.txt").write_text("x")  # TAG_FILE_UNLISTED
    edit(pkg / "metadata" / "record.xml", "<classification>公开<", "<classification>绝密<")  # METADATA_INVALID
    result = verify_package(pkg)
    got = {(f.code, f.path) for f in result.findings}
    expected = {
        ("PAYLOAD_DIGEST_MISMATCH", "data/正文.pdf"),
        ("PAYLOAD_FILE_MISSING", "data/附件/说明.txt"),
        ("PAYLOAD_FILE_UNLISTED", "data/多余.txt"),
        ("LINK_IN_PACKAGE", "data/link"),
        ("UNSAFE_PATH", "manifest-sha256.txt"),
        ("TAG_DIGEST_MISMATCH", "manifest-sha256.txt"),
        ("TAG_DIGEST_MISMATCH", "bag-info.txt"),
        ("TAG_DIGEST_MISMATCH", "metadata/record.xml"),
        ("PROFILE_UNSUPPORTED", "bag-info.txt"),
        ("TAG_FILE_UNLISTED", "notes.txt"),
        ("METADATA_INVALID", "metadata/record.xml"),
        ("OXUM_MISMATCH", "bag-info.txt"),
    }
    assert expected <= got, expected - got
    # Both algorithms report the flipped byte.
    assert len([f for f in result.findings if f.code == "PAYLOAD_DIGEST_MISMATCH"]) == 2
    assert not result.valid


def test_weak_manifest_is_still_checked(ctx: Ctx) -> None:
    pkg = ctx.dir()
    lines = [f"{'0' * 32}  data/正文.pdf\n"]
    for p in sorted((pkg / "data").rglob("*")):
        if p.is_file() and p.name != "正文.pdf":
            lines.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(pkg).as_posix()}\n")
    (pkg / "manifest-md5.txt").write_text("".join(lines), encoding="utf-8")
    retag(pkg)
    result = verify_package(pkg)
    codes = {(f.code, f.path) for f in result.findings}
    assert ("ALGORITHM_WEAK", "manifest-md5.txt") in codes
    assert ("PAYLOAD_DIGEST_MISMATCH", "data/正文.pdf") in codes
    assert not result.valid


def test_findings_carry_level_and_json_shape(ctx: Ctx) -> None:
    pkg = ctx.dir()
    flip_byte(pkg / "data" / "正文.pdf")
    d = verify_package(pkg).as_dict()
    assert d["valid"] is False
    assert d["archival_code"] == "0012-WS·2007-Y-BGS-0012" and d["agency_code"] == "LZ0012"
    findings = d["findings"]
    assert isinstance(findings, list) and len(findings) == 1
    assert findings == [
        {"code": "PAYLOAD_DIGEST_MISMATCH", "level": "error", "path": "data/正文.pdf", "message": findings[0]["message"]}
    ]
    assert isinstance(findings[0]["message"], str) and findings[0]["message"]


def test_zip_is_read_in_place(ctx: Ctx) -> None:
    z = ctx.build("pkg.zip", zip=True)
    before = sorted(p.name for p in z.parent.iterdir())
    assert verify_package(z).valid
    assert sorted(p.name for p in z.parent.iterdir()) == before


def test_zip_with_permission_only_modes_is_valid(ctx: Ctx) -> None:
    """Python's ``writestr(name, data)`` stores mode 0o600 without file-type bits: a regular file."""
    pkg = ctx.dir()
    z = ctx.tmp / "plain.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(pkg.rglob("*")):
            if p.is_file():
                zf.writestr(f"pkg/{p.relative_to(pkg).as_posix()}", p.read_bytes())
    assert verify_package(z).findings == ()


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_damaged_zips_give_findings_never_exceptions(ctx: Ctx, compression: int) -> None:
    """Random byte damage anywhere in a zip (headers, names, data, central directory) is a verdict."""
    import random

    pkg = ctx.dir()
    z = ctx.tmp / "pkg.zip"
    with zipfile.ZipFile(z, "w", compression=compression) as zf:
        for p in sorted(pkg.rglob("*")):
            if p.is_file():
                zf.write(p, f"pkg/{p.relative_to(pkg).as_posix()}")
    raw = z.read_bytes()
    rng = random.Random(20070305 + compression)
    damaged = ctx.tmp / "damaged.zip"
    invalid = 0
    for _ in range(150):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        damaged.write_bytes(bytes(data))
        result = verify_package(damaged)  # must not raise
        invalid += not result.valid
        for f in result.findings:
            assert f.message
    assert invalid > 100  # nearly every damage is caught (a few land on ignored header fields)
