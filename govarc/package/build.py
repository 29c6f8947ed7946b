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
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from govarc import PROFILE_IDENTIFIER, __version__
from govarc.errors import GovarcError, InvalidInputError, MetadataError
from govarc.formats import HEAD_SIZE, identify_head
from govarc.package import layout
from govarc.package.hashing import Algorithm, Digests, Progress, digest_stream, parallel_map
from govarc.package.manifest import BAGIT_TXT, format_bag_info, format_manifest, nfc, payload_oxum, unsafe_reason
from govarc.package.metadata import FileInfo, Record, record_to_xml

_TMP_MARK = ".govarc-tmp-"

Signer = Callable[[bytes], dict[str, bytes]]
"""Given the bytes of tagmanifest-sha256.txt, returns ``{file name: DER}`` to put in signatures/."""


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
        stack = [(source, "")]
        while stack:
            folder, prefix = stack.pop()
            with os.scandir(folder) as it:
                for entry in it:
                    rel = prefix + entry.name
                    est = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(est.st_mode):
                        stack.append((Path(entry.path), rel + "/"))
                    elif stat.S_ISREG(est.st_mode):
                        files.append(SourceFile(Path(entry.path), nfc(rel), est.st_size))
                    else:
                        raise InvalidInputError("links and special files cannot be packaged", entry.path)
    else:
        raise InvalidInputError("source is neither a file nor a folder", str(source))
    if not files:
        raise InvalidInputError("source holds no files", str(source))
    seen: dict[str, Path] = {}
    for f in files:
        reason = unsafe_reason(f.name)
        if reason is None and any(c in f.name for c in "%\r\n"):
            # RFC 8493 wants these percent-encoded, but the LoC validator does not decode %25:
            # refusing them keeps every package valid for both (specs/package-profile.md §names).
            reason = "names with %, CR or LF are not allowed"
        if reason:
            raise InvalidInputError(f"file name cannot be packaged: {reason}", str(f.path))
        key = f.name.casefold()
        if key in seen:
            raise InvalidInputError(f"file name collides with {seen[key]} (same name after Unicode/case folding)", str(f.path))
        seen[key] = f.path
    files.sort(key=lambda f: f.name)
    return files


def _roles(files: Sequence[SourceFile], record: Record) -> dict[str, str]:
    main = files[0].name
    if record.main_file:
        wanted = nfc(record.main_file)
        if wanted not in {f.name for f in files}:
            raise MetadataError(f"main file {record.main_file!r} is not among the source files")
        main = wanted
    return {f.name: ("main" if f.name == main else "attachment") for f in files}


def _remove_stale_temps(parent: Path, name: str) -> None:
    """Remove temporary builds of ``name`` left by a crashed process (its pid no longer runs)."""
    pattern = re.compile(rf"^\.{re.escape(name)}{re.escape(_TMP_MARK)}(\d+)-[0-9a-f]+$")
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry.name)
        if not m:
            continue
        pid = int(m.group(1))
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    record: Record, files: Sequence[SourceFile], digests: Sequence[Digests], algorithms: Sequence[Algorithm],
    roles: dict[str, str], bagging_date: dt.date,
) -> tuple[Record, dict[str, bytes], dict[str, bytes]]:
    """The tag files (bagit.txt, bag-info, manifests, record.xml) and the tag manifests."""
    infos = []
    for f, d in zip(files, digests):
        fmt = identify_head(d.head)
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
    return record, tags, tagmanifests


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
) -> PackageInfo:
    """Build the package of ``record`` from ``source`` at ``out`` (a folder, or a .zip if ``zip``).

    Raises :class:`InvalidInputError` when ``out`` exists or the source cannot be packaged, and
    :class:`MetadataError` when the record does not fit the source. ``durable`` fsyncs every file
    before the final rename, so a power loss cannot leave a renamed but empty package.
    ``signer`` signs the tag manifest before the rename, so a signed package never exists unsigned.
    """
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
        raise GovarcError(f"not enough free space: {needed} bytes needed, {free} free", str(out.parent))
    _remove_stale_temps(out.parent, out.name)
    tmp = out.parent / f".{out.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        if zip:
            record = _build_zip(files, record, roles, tmp, out, algorithms, progress, bagging_date, durable, signer)
            os.link(tmp, out)  # fails if out appeared meanwhile: never replace a package
            os.unlink(tmp)
        else:
            record = _build_dir(files, record, roles, tmp, algorithms, progress, workers, bagging_date, durable, signer)
            os.rename(tmp, out)
        if durable:
            _fsync_dir(out.parent)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return _info(out, record, files, zip)


def _info(out: Path, record: Record, files: Sequence[SourceFile], zipped: bool) -> PackageInfo:
    if zipped:
        with zipfile.ZipFile(out) as zf:
            tm = zf.read(f"{out.stem}/{layout.REQUIRED_TAGMANIFEST}")
        size = out.stat().st_size
    else:
        tm = (out / layout.REQUIRED_TAGMANIFEST).read_bytes()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return PackageInfo(
        path=out, record=record, payload_bytes=sum(f.size for f in record.files),
        payload_files=len(record.files), tagmanifest_sha256=hashlib.sha256(tm).hexdigest(), size=size, zipped=zipped,
    )


def _write_file(path: Path, data: bytes, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())


def _build_dir(
    files: Sequence[SourceFile], record: Record, roles: dict[str, str], tmp: Path, algorithms: Sequence[Algorithm],
    progress: Progress | None, workers: int | None, bagging_date: dt.date, durable: bool, signer: Signer | None,
) -> Record:
    tmp.mkdir()
    data = tmp / layout.DATA_DIR
    data.mkdir()
    for d in sorted({str(Path(f.name).parent) for f in files} - {"."}):
        (data / d).mkdir(parents=True, exist_ok=True)

    def copy(f: SourceFile) -> Digests:
        try:
            with open(f.path, "rb", buffering=0) as src, open(data / f.name, "xb", buffering=0) as dst:
                d = digest_stream(src, algorithms, sink=dst, head_size=HEAD_SIZE, progress=progress)
                if durable:
                    os.fsync(dst.fileno())
        except OSError as e:
            raise InvalidInputError(f"cannot copy: {e.strerror}", str(f.path)) from None
        return d

    digests = list(parallel_map(copy, files, workers))
    record, tags, tagmanifests = _tag_files(record, files, digests, algorithms, roles, bagging_date)
    for name, content in {**tags, **tagmanifests}.items():
        _write_file(tmp / name, content, durable)
    (tmp / layout.SIGNATURES_DIR).mkdir()
    if signer is not None:
        for name, der in signer(tagmanifests[layout.REQUIRED_TAGMANIFEST]).items():
            _write_file(tmp / layout.SIGNATURES_DIR / name, der, durable)
    if durable:
        for d in {tmp, tmp / "metadata", *(p for p in data.rglob("*") if p.is_dir()), data}:
            _fsync_dir(d)
    return record


def _build_zip(
    files: Sequence[SourceFile], record: Record, roles: dict[str, str], tmp: Path, out: Path,
    algorithms: Sequence[Algorithm], progress: Progress | None, bagging_date: dt.date, durable: bool,
    signer: Signer | None,
) -> Record:
    top = out.stem
    now = dt.datetime.now().timetuple()[:6]
    with open(tmp, "xb") as raw, zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        digests = []
        for f in files:
            info = zipfile.ZipInfo(f"{top}/{layout.DATA_DIR}/{f.name}", date_time=now)
            info.external_attr = 0o100644 << 16
            try:
                with open(f.path, "rb", buffering=0) as src, zf.open(info, "w", force_zip64=f.size > 0x7FFFFFFF) as dst:
                    digests.append(digest_stream(src, algorithms, sink=dst, head_size=HEAD_SIZE, progress=progress))  # type: ignore[arg-type]
            except OSError as e:
                raise InvalidInputError(f"cannot read: {e.strerror}", str(f.path)) from None
        record, tags, tagmanifests = _tag_files(record, files, digests, algorithms, roles, bagging_date)
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
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    return record
