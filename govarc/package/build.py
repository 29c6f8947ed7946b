"""Build one package (profile v1) from a folder or file plus a record, atomically.

The package is written under a temporary name beside ``out`` and renamed at the end, so a crash
leaves either nothing or a whole package at ``out``. The caller's input is only read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import shutil
import stat
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from govarc import PROFILE_IDENTIFIER, __version__, limits
from govarc.errors import DiskFullError, InvalidInputError, MetadataError
from govarc.fsutil import FilesystemSync, fsync_path, remove_orphans, walk_tree
from govarc.package import layout
from govarc.package.hashing import Algorithm, Digests, Progress, copy_file, digest_stream, parallel_map
from govarc.package.manifest import (
    BAGIT_TXT,
    TagLimitError,
    encode_path,
    format_bag_info,
    format_manifest,
    nfc,
    parse_bag_info,
    payload_oxum,
    unsafe_reason,
)
from govarc.package.metadata import FileInfo, Record, record_to_xml
from govarc.sign.signer import Signer

if TYPE_CHECKING:
    from govarc.formats import FormatInfo

_TMP_MARK = ".govarc-tmp-"

@dataclass(frozen=True)
class SourceFile:
    path: Path
    name: str  # path below data/, NFC, "/"-separated
    size: int


@dataclass(frozen=True)
class PackageInfo:
    """What a build produced: where, for which record, and the digests that pin it."""

    path: Path
    record: Record
    payload_bytes: int
    payload_files: int
    tagmanifest_sha256: str
    size: int
    zipped: bool

    @property
    def archival_code(self) -> str:
        return str(self.record.archival_code)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "archival_code": self.archival_code,
            "agency_code": self.record.agency_code,
            "payload_bytes": self.payload_bytes,
            "payload_files": self.payload_files,
            "size": self.size,
            "tagmanifest_sha256": self.tagmanifest_sha256,
            "zip": self.zipped,
        }


def name_problem(name: str) -> str | None:
    """Why ``name`` (a path below data/) cannot be packaged, or None when it can."""
    reason = unsafe_reason(name)
    if reason is None and any(c in name for c in "%\r\n"):
        # RFC 8493 wants these percent-encoded, but the LoC validator does not decode %25:
        # refusing them keeps every package valid for both (specs/package-profile.md §names).
        reason = "names with %, CR or LF are not allowed"
    elif reason is None and any(part != part.strip() for part in name.split("/")):
        # Manifest readers (bagit-python too) strip the ends of a line, and 计算机文件名 in
        # record.xml may not start or end with a space: such a name could not round-trip.
        reason = "names that start or end with whitespace are not allowed"
    elif reason is None and _manifest_line_bytes(name) > limits.MAX_LINE_BYTES:
        # verify refuses a manifest line over MAX_LINE_BYTES: such a package would never verify.
        reason = (f"the name is {len(name.encode('utf-8'))} bytes; its manifest line would be over "
                  f"{limits.MAX_LINE_BYTES} bytes (MAX_LINE_BYTES)")
    return reason


def _manifest_line_bytes(name: str) -> int:
    """Bytes of the longest manifest line that lists ``data/<name>`` (a 128-hex-digit SHA-512 one)."""
    return 128 + 2 + len(encode_path(f"{layout.DATA_DIR}/{name}").encode("utf-8", "surrogatepass")) + 1


def collect_source(source: Path) -> list[SourceFile]:
    """The files of ``source`` (a file or a folder) with their names below ``data/``.

    Refuses links, special files, empty input, names that are unsafe in a package and names that
    collide once normalised to NFC.
    """
    try:
        st = source.lstat()
    except OSError:
        raise InvalidInputError("source does not exist", str(source)) from None
    files: list[SourceFile] = []
    if stat.S_ISREG(st.st_mode):
        files.append(SourceFile(source, nfc(source.name), st.st_size))
    elif stat.S_ISDIR(st.st_mode):
        try:
            for rel, entry, est in walk_tree(source):
                if not stat.S_ISREG(est.st_mode):
                    raise InvalidInputError("links and special files cannot be packaged", entry.path)
                files.append(SourceFile(Path(entry.path), nfc(rel), est.st_size))
        except OSError as e:  # an unreadable sub-folder: name it, as for any bad input
            raise InvalidInputError(f"cannot read folder: {e.strerror}", e.filename or str(source)) from None
    else:
        raise InvalidInputError("source is neither a file nor a folder", str(source))
    if not files:
        raise InvalidInputError("source holds no files", str(source))
    if len(files) > limits.MAX_PACKAGE_FILES:
        raise InvalidInputError(
            f"source holds {len(files)} files; a package holds at most {limits.MAX_PACKAGE_FILES} (MAX_PACKAGE_FILES)",
            str(source))
    seen: dict[str, Path] = {}
    for f in files:
        reason = name_problem(f.name)
        if reason:
            raise InvalidInputError(f"file name cannot be packaged: {reason}", str(f.path))
        key = f.name.casefold()
        if key in seen:
            raise InvalidInputError(f"file name collides with {seen[key]} (same name after Unicode/case folding)", str(f.path))
        seen[key] = f.path
    files.sort(key=lambda f: f.name)
    return files


def identify(path: str | Path, head: bytes) -> FormatInfo:
    """The format of a payload file as ingest identifies it (:mod:`govarc.formats`).

    The first bytes decide, as for 格式信息 so far; a ZIP container (OFD, OOXML, ODF) or a PDF
    (its version, a PDF/A claim in its XMP) is then opened and refined, so record.xml says
    ``application/ofd``/OFD and PDF/A 1b where the catalog does. Raises OSError only when the file
    cannot be read.
    """
    from govarc import formats

    info = formats.identify_head(head)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or info.mime == "application/pdf":
        return formats.refine_file(path, head, info)
    return formats.refine_head(head, info)


def _roles(files: Sequence[SourceFile], record: Record) -> dict[str, str]:
    main = files[0].name
    if record.main_file:
        wanted = nfc(record.main_file)
        if wanted not in {f.name for f in files}:
            raise MetadataError(f"main file {record.main_file!r} is not among the source files")
        main = wanted
    return {f.name: ("main" if f.name == main else "attachment") for f in files}


def remove_stale_temps(parent: Path, name: str | None = None) -> None:
    """Remove temporary builds (of ``name``, or of any package) left in ``parent`` by a dead process."""
    remove_orphans(parent, re.compile(rf"^\.{re.escape(name) if name else '.+'}{re.escape(_TMP_MARK)}(\d+)-[0-9a-f]+$"))


_SERIAL_FILES = 4
"""Packages of at most this many files are built without a thread pool."""


class _Durability:
    """Makes a package folder durable before its rename, in one of two ways.

    Durability means every file's data and every directory entry is on disk before the rename
    that publishes the package, so a power loss cannot leave a renamed but empty or partial one.

    Measured on a 2-core VM with ext4 (6,000 files of 4-200 KB plus 2 of 32 MB, 670 MB): an fsync
    per file straight after writing it cost 5.6 s, six times the hashing itself, because each one
    forces its own journal commit while the workers wait. Linux's syncfs(2) on the package's
    filesystem once at the end cost about 0.4 s; fsyncing every file and directory afterwards
    from 8 threads, so the kernel batches the commits, about 0.9 s. Starting each file's
    write-back as soon as it was written (sync_file_range) took the final syncfs to 0.01 s but
    made the whole build slower on the busy 2-core machine (the kernel's write-back competes
    with the workers for the cores), so it is not done.

    A build calls :meth:`sync` twice: for the payload, on a background thread while the workers
    identify the copies (CPU work that would otherwise wait for the disk, or the disk for it),
    then for the tag files written after. With syncfs the second call has little left to write.

    The trade-off of syncfs: it writes back every dirty page of that filesystem, other programs'
    too, so on a filesystem where something else is writing gigabytes the build waits for them
    as well. It reports write-back errors that happened after our descriptor was opened only on
    Linux 5.8 and later, so the descriptor is opened before the first file is written and older
    kernels (and other systems) take the parallel-fsync path, which waits for our files alone.
    """

    _FSYNC_THREADS = 8  # fsync blocks on the disk, not the CPU: more threads than cores help

    def __init__(self, root: Path, enabled: bool) -> None:
        self.enabled = enabled
        self.fs = FilesystemSync(root) if enabled else None

    def sync(self, files: Sequence[str], dirs: Sequence[str]) -> None:
        """Make ``files`` and ``dirs`` (absolute paths) durable; raises OSError if writing back failed."""
        if not self.enabled:
            return
        if self.fs is not None and self.fs.available:
            self.fs.sync()
            return
        for _ in parallel_map(fsync_path, files, self._FSYNC_THREADS):
            pass
        for d in dirs:  # children before parents does not matter: all are done before the rename
            fsync_path(d)

    def close(self) -> None:
        if self.fs is not None:
            self.fs.close()


def _bag_info(record: Record, oxum: str, bagging_date: dt.date, total: int) -> str:
    fields = [
        ("Source-Organization", record.creator_name),
        ("Source-Organization-Identifier", record.agency_code),
        ("External-Identifier", str(record.archival_code)),
        ("External-Description", record.title),
        ("Bagging-Date", bagging_date.isoformat()),
        ("Payload-Oxum", oxum),
        ("Bag-Size", _human(total)),
        ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
        ("Bag-Software-Agent", f"govarc {__version__}"),
    ]
    return format_bag_info(fields)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"


def _tag_files(
    record: Record, files: Sequence[SourceFile], digests: Sequence[Digests], formats: Sequence[FormatInfo],
    algorithms: Sequence[Algorithm], roles: dict[str, str], bagging_date: dt.date,
) -> tuple[Record, dict[str, bytes], dict[str, bytes]]:
    """The tag files (bagit.txt, bag-info, manifests, record.xml) and the tag manifests."""
    infos = []
    for f, d, fmt in zip(files, digests, formats):
        infos.append(
            FileInfo(
                name=f.name, size=d.size, mime=fmt.mime, format_name=fmt.name, format_version=fmt.version,
                digests=tuple((a.value, d.hexdigests[a]) for a in algorithms), role=roles[f.name],
            )
        )
    record = record.with_files(tuple(infos))
    total = sum(d.size for d in digests)
    tags: dict[str, bytes] = {
        layout.BAGIT_TXT: BAGIT_TXT.encode(),
        layout.BAG_INFO: _bag_info(record, payload_oxum(total, len(files)), bagging_date, total).encode("utf-8"),
        layout.RECORD_XML: record_to_xml(record),
    }
    for alg in algorithms:
        entries = {f"{layout.DATA_DIR}/{f.name}": d.hexdigests[alg] for f, d in zip(files, digests)}
        tags[f"manifest-{alg.value}.txt"] = format_manifest(entries).encode("utf-8")
    tagmanifests = {}
    for alg in algorithms:
        entries = {name: hashlib.new(alg.value, data).hexdigest() for name, data in tags.items()}
        tagmanifests[f"tagmanifest-{alg.value}.txt"] = format_manifest(entries).encode("utf-8")
    for name, content in {**tags, **tagmanifests}.items():
        _check_tag_limits(name, content)
    return record, tags, tagmanifests


def _check_tag_limits(name: str, content: bytes) -> None:
    """Refuse a tag file that verify would refuse under specs/limits.md (LIMIT_EXCEEDED).

    The manifests are written here, one LF-ended line per file, so their limits are their line
    count and their longest line (what :func:`~govarc.package.manifest.iter_lines` measures);
    parsing them back would cost as much as writing them.
    """
    if len(content) > limits.MAX_TAG_FILE_BYTES:
        raise InvalidInputError(
            f"the package's {name} would be {len(content)} bytes, over the limit of {limits.MAX_TAG_FILE_BYTES} "
            "(MAX_TAG_FILE_BYTES); shorten the metadata or split the record")
    try:
        if name == layout.BAG_INFO:
            parse_bag_info(content.decode("utf-8"))
        elif layout.is_manifest(name) or layout.is_tagmanifest(name):
            lines = content.split(b"\n")
            if len(lines) - 1 > limits.MAX_PACKAGE_FILES:
                raise TagLimitError(limits.MAX_PACKAGE_FILES + 1, f"more than {limits.MAX_PACKAGE_FILES} lines (MAX_PACKAGE_FILES)")
            if max(map(len, lines)) > limits.MAX_LINE_BYTES:
                lineno = next(i for i, line in enumerate(lines, 1) if len(line) > limits.MAX_LINE_BYTES)
                raise TagLimitError(lineno, f"longer than {limits.MAX_LINE_BYTES} bytes (MAX_LINE_BYTES)")
    except TagLimitError as e:
        raise InvalidInputError(f"the package's {name} would break a limit at {e}; shorten the metadata") from None


def build_package(
    source: Path,
    record: Record,
    out: Path,
    *,
    zip: bool = False,
    sm3: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    bagging_date: dt.date | None = None,
    durable: bool = True,
    signer: Signer | None = None,
    clean_stale: bool = True,
    known_formats: Mapping[str, tuple[str, FormatInfo]] | None = None,
) -> PackageInfo:
    """Build the package of ``record`` from ``source`` at ``out`` (a folder, or a .zip if ``zip``).

    Raises :class:`InvalidInputError` when ``out`` exists or the source cannot be packaged, and
    :class:`MetadataError` when the record does not fit the source. ``durable`` fsyncs every file
    before the final rename, so a power loss cannot leave a renamed but empty package.
    ``signer`` signs the tag manifest before the rename, so a signed package never exists unsigned.
    ``clean_stale`` first removes this package's temporaries left by a dead process; a caller that
    builds many packages into one folder cleans it once with :func:`remove_stale_temps` instead
    (listing a folder of thousands of packages per build would make a run quadratic).
    ``known_formats`` maps a name below data/ to ``(sha256, FormatInfo)`` as ingest identified it
    (the catalog): a file whose copy has that SHA-256 is not identified again.
    """
    from govarc.formats import HEAD_SIZE  # imported here: pulls in libmagic, which only a build needs

    source = Path(source)
    out = Path(out)
    if os.path.lexists(out):
        raise InvalidInputError("destination already exists; choose another path", str(out))
    algorithms = [Algorithm.SHA256] + ([Algorithm.SM3] if sm3 else [])
    if sm3 and not Algorithm.SM3.available:
        raise InvalidInputError("SM3 is not available in this Python's OpenSSL; cannot write --sm3 manifests")
    files = collect_source(source)
    roles = _roles(files, record)
    bagging_date = bagging_date or dt.date.today()
    out.parent.mkdir(parents=True, exist_ok=True)
    needed = sum(f.size for f in files) + (1 << 20)
    free = shutil.disk_usage(out.parent).free
    if free < needed:
        raise DiskFullError(f"not enough free space: {needed} bytes needed, {free} free", str(out.parent))
    if clean_stale:
        remove_stale_temps(out.parent, out.name)
    tmp = out.parent / f".{out.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        if zip:
            built = _build_zip(files, record, roles, tmp, out, algorithms, progress, bagging_date, durable, signer, HEAD_SIZE,
                               known_formats)
            os.link(tmp, out)  # fails if out appeared meanwhile: never replace a package
            os.unlink(tmp)
            built = _Built(built.record, built.tagmanifest, out.stat().st_size)
        else:
            built = _build_dir(files, record, roles, tmp, algorithms, progress, workers, bagging_date, durable, signer,
                               known_formats)
            os.rename(tmp, out)
        if durable:
            fsync_path(out.parent)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return PackageInfo(
        path=out, record=built.record, payload_bytes=sum(f.size for f in built.record.files),
        payload_files=len(built.record.files), tagmanifest_sha256=hashlib.sha256(built.tagmanifest).hexdigest(),
        size=built.size, zipped=zip,
    )


@dataclass(frozen=True)
class _Built:
    record: Record
    tagmanifest: bytes  # tagmanifest-sha256.txt as written
    size: int  # bytes of every file in the package (the .zip's size when zipped)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as f:
        f.write(data)


def _build_dir(
    files: Sequence[SourceFile], record: Record, roles: dict[str, str], tmp: Path, algorithms: Sequence[Algorithm],
    progress: Progress | None, workers: int | None, bagging_date: dt.date, durable: bool, signer: Signer | None,
    known_formats: Mapping[str, tuple[str, FormatInfo]] | None,
) -> _Built:
    """Copy and hash, then identify and build the tag files while the payload is written back.

    Identification (libmagic) is CPU work on the 8 KiB head of each copy, and writing the payload
    back to the disk is the disk's work: done one after the other they add up, so the payload is
    made durable on a background thread while the workers identify the copies (read back from the
    page cache). The tag files, written last, are made durable in a second, small step; the
    package is renamed only after both.
    """
    from govarc.formats import HEAD_SIZE

    tmp.mkdir()
    root = str(tmp)
    data = os.path.join(root, layout.DATA_DIR)
    os.mkdir(data)
    dirs = [root, data]
    folders: set[str] = set()
    for f in files:
        folder = f.name.rpartition("/")[0]
        while folder and folder not in folders:  # every level, so each one is made durable
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    for d in sorted(folders):  # parents sort before their children
        path = os.path.join(data, d)
        os.mkdir(path)
        dirs.append(path)
    sync = _Durability(tmp, durable)
    background: _Background | None = None
    try:

        def copy(f: SourceFile) -> Digests:
            try:
                return copy_file(f.path, os.path.join(data, f.name), algorithms, 0, progress)
            except OSError as e:
                raise InvalidInputError(f"cannot copy: {e.strerror}", str(f.path)) from None

        # A package of a few files (a one-page record and its attachment) is copied and identified
        # on this thread: starting threads cost more than they saved.
        workers = 1 if len(files) <= _SERIAL_FILES else workers
        digests = list(parallel_map(copy, files, workers))
        copies = [os.path.join(data, f.name) for f in files]
        if durable:
            payload_dirs = sorted(dirs, key=len, reverse=True)
            background = _Background(lambda: sync.sync(copies, payload_dirs))

        def identify_copy(i: int) -> FormatInfo:
            # The package's own copy, not the source: nothing can swap it between hashing and here.
            f = files[i]
            known = known_formats.get(f.name) if known_formats else None
            if known is not None and known[0] == digests[i].hexdigests[Algorithm.SHA256]:
                return known[1]  # identified from these very bytes before (the catalog's answer)
            try:
                with open(copies[i], "rb", buffering=0) as fh:
                    head = fh.read(HEAD_SIZE)
                return identify(copies[i], head)
            except OSError as e:
                raise InvalidInputError(f"cannot read the copy: {e.strerror}", str(f.path)) from None

        formats = list(parallel_map(identify_copy, range(len(files)), workers))
        record, tags, tagmanifests = _tag_files(record, files, digests, formats, algorithms, roles, bagging_date)
        written = {**tags, **tagmanifests}
        for name, content in written.items():
            _write_file(tmp / name, content)
        (tmp / layout.SIGNATURES_DIR).mkdir()
        if signer is not None:
            for name, der in signer(tagmanifests[layout.REQUIRED_TAGMANIFEST]).items():
                written[f"{layout.SIGNATURES_DIR}/{name}"] = der
                _write_file(tmp / layout.SIGNATURES_DIR / name, der)
        if background is not None:
            background.join()  # raises what making the payload durable raised
            background = None
        if durable:
            tag_dirs = {os.path.join(root, n).rpartition("/")[0] for n in written} | {root, os.path.join(root, layout.SIGNATURES_DIR)}
            sync.sync([os.path.join(root, n) for n in written], sorted(tag_dirs, key=len, reverse=True))
    finally:
        if background is not None:
            background.join(reraise=False)  # never remove the folder under a running sync
        sync.close()
    size = sum(d.size for d in digests) + sum(len(c) for c in written.values())
    return _Built(record, tagmanifests[layout.REQUIRED_TAGMANIFEST], size)


class _Background:
    """Runs ``work`` on a thread; :meth:`join` waits for it and raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                work()
            except BaseException as e:  # re-raised by join, in the caller's thread
                self._error = e

        self._thread = threading.Thread(target=run, name="govarc-sync", daemon=True)
        self._thread.start()

    def join(self, reraise: bool = True) -> None:
        self._thread.join()
        if reraise and self._error is not None:
            raise self._error


def _build_zip(
    files: Sequence[SourceFile], record: Record, roles: dict[str, str], tmp: Path, out: Path,
    algorithms: Sequence[Algorithm], progress: Progress | None, bagging_date: dt.date, durable: bool,
    signer: Signer | None, head_size: int, known_formats: Mapping[str, tuple[str, FormatInfo]] | None = None,
) -> _Built:
    top = out.stem
    now = dt.datetime.now().timetuple()[:6]
    with open(tmp, "xb") as raw, zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        digests = []
        formats = []
        for f in files:
            info = zipfile.ZipInfo(f"{top}/{layout.DATA_DIR}/{f.name}", date_time=now)
            info.external_attr = 0o100644 << 16
            try:
                with open(f.path, "rb", buffering=0) as src, zf.open(info, "w", force_zip64=f.size > 0x7FFFFFFF) as dst:
                    d = digest_stream(src, algorithms, sink=dst, head_size=head_size, progress=progress)  # type: ignore[arg-type]
                    # Identify the file just read, not whatever its name may point to by now.
                    now_st, read_st = os.lstat(f.path), os.fstat(src.fileno())
                    if (now_st.st_dev, now_st.st_ino) != (read_st.st_dev, read_st.st_ino) or not stat.S_ISREG(now_st.st_mode):
                        raise InvalidInputError("the file was replaced while it was being packaged", str(f.path))
                    known = known_formats.get(f.name) if known_formats else None
                    if known is not None and known[0] == d.hexdigests[Algorithm.SHA256]:
                        fmt = known[1]  # identified from these very bytes before (the catalog's answer)
                    else:
                        fmt = identify(f.path, d.head)
            except OSError as e:
                raise InvalidInputError(f"cannot read: {e.strerror}", str(f.path)) from None
            digests.append(Digests(d.size, d.hexdigests))
            formats.append(fmt)
        record, tags, tagmanifests = _tag_files(record, files, digests, formats, algorithms, roles, bagging_date)
        for name, content in {**tags, **tagmanifests}.items():
            info = zipfile.ZipInfo(f"{top}/{name}", date_time=now)
            info.external_attr = 0o100644 << 16
            zf.writestr(info, content)
        if signer is not None:
            for name, der in signer(tagmanifests[layout.REQUIRED_TAGMANIFEST]).items():
                info = zipfile.ZipInfo(f"{top}/{layout.SIGNATURES_DIR}/{name}", date_time=now)
                info.external_attr = 0o100644 << 16
                zf.writestr(info, der)
        if durable:
            zf.fp.flush()  # type: ignore[union-attr]
    if durable:
        fsync_path(str(tmp))
    return _Built(record, tagmanifests[layout.REQUIRED_TAGMANIFEST], 0)
