"""Find the records in a drop folder: documents, their sidecars, registers and attachments.

Follows specs/ingest.md. Discovery only reads; a problem with an item's metadata becomes a finding
on that item, so one bad sidecar never stops the batch.

Everything comes from inside the folder being ingested, following nothing: a path a sidecar or a
register names is relative, has no ``..``, and reaches a regular file through no link; a link, a
FIFO, a socket or a device in the drop folder is refused as such, never opened (a FIFO would
block the run). Every input is bounded by :mod:`govarc.limits` before it is read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lxml import etree

from govarc.findings import Finding, Level
from govarc.fsutil import (
    InputKind, UnsafeInputError, check_beneath, mode_name, open_input, printable, read_input, relative_parts,
)
from govarc.limits import (
    MAX_COMPRESSION_RATIO, MAX_LIST_ITEMS, MAX_REGISTER_BYTES, MAX_REGISTER_ROWS, MAX_SIDECAR_BYTES, MAX_XML_DEPTH,
    MAX_ZIP_ENTRIES, MIB,
)
from govarc.package.metadata import KEY_ALIASES, NS, LimitExceededError, check_limits, json_object, normalise_keys
from govarc.xmlsafe import XMLTooDeepError, parse_bytes

REGISTER_NAMES = ("register.csv", "register.xlsx", "登记表.csv", "登记表.xlsx")
SIDECAR_SUFFIXES = (".json", ".xml")
_IGNORED_SUFFIXES = ("~", ".tmp", ".part")

MAX_REGISTER_COLUMNS = 256
"""Columns read from an XLSX register; a real one has a few dozen (a sheet may declare 16,384)."""

# Register and sidecar keys beyond the record keys of govarc.package.metadata.
_EXTRA_ALIASES = {"文件名": "file", "计算机文件名": "file", "附件": "attachments"}

REFUSAL_CODES = {
    InputKind.UNSAFE_PATH: "INGEST_UNSAFE_PATH", InputKind.LINK: "INGEST_LINK",
    InputKind.NOT_REGULAR: "INGEST_NOT_REGULAR", InputKind.TOO_LARGE: "INGEST_TOO_LARGE",
}
"""The finding code of each reason an input file is refused."""


@dataclass(frozen=True)
class Item:
    """One record to ingest: a main document, its attachments and its metadata fields.

    An item refused at discovery may stand for a register (``document`` False) or name a
    main document that is a link or a special file; its files are then never opened.
    ``root`` is the folder being ingested: every file of the item lies below it and is opened
    from it following no link (see :func:`govarc.fsutil.open_input`).
    """

    main: Path
    attachments: tuple[Path, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict, hash=False)
    origin: str = ""  # where the metadata came from, for messages
    findings: tuple[Finding, ...] = ()
    root: Path | None = None
    document: bool = True  # False when ``main`` is a register that stands for its refused rows

    @property
    def refused(self) -> bool:
        """Whether discovery already refused the item (its files are then never opened)."""
        return any(f.level is Level.ERROR for f in self.findings)


INPUT_REFUSALS = frozenset(REFUSAL_CODES.values())
"""Codes of inputs refused as hostile: the item's files are not opened, inspected or stored."""


def refusal(e: UnsafeInputError, what: str = "") -> Finding:
    """The finding for an input refused by :mod:`govarc.fsutil`; ``what`` says who named it."""
    return Finding(REFUSAL_CODES[e.kind], e.path, f"{what} {e.message}".strip())


def _metadata_problem(path: Path, e: Exception, what: str = "") -> Finding:
    """The finding for a sidecar or register that could not be read, by the reason it could not."""
    if isinstance(e, UnsafeInputError):
        return refusal(e, what)
    if isinstance(e, (LimitExceededError, XMLTooDeepError)):
        return Finding("INGEST_TOO_LARGE", str(path), str(e))
    if isinstance(e, OSError):
        return Finding("INGEST_METADATA_UNREADABLE", str(path), f"cannot read: {e.strerror or e}")
    return Finding("INGEST_METADATA_UNREADABLE", str(path), str(e))


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


@dataclass(frozen=True)
class _Entry:
    path: Path
    mode: int  # from lstat: a link is a link, not what it points to

    @property
    def regular(self) -> bool:
        return stat.S_ISREG(self.mode)


def _not_regular(path: Path, mode: int, what: str = "") -> Finding | None:
    """The finding for a drop-folder entry that is a link or a special file; None for a regular file."""
    return None if stat.S_ISREG(mode) else _mode_refusal(path, mode, what)


def _mode_refusal(path: Path, mode: int, what: str = "") -> Finding:
    if stat.S_ISLNK(mode):
        return Finding("INGEST_LINK", str(path), f"{what} is a symbolic link; links are never followed".strip())
    return Finding("INGEST_NOT_REGULAR", str(path), f"{what} is {mode_name(mode)}, not a regular file".strip())


def _walk(folder: Path) -> tuple[list[_Entry], list[Item]]:
    """Every entry below ``folder`` but folders, sorted, with its lstat mode; and unreadable folders.

    Links to folders are entries (never descended into); hidden and temporary names are skipped.
    """
    entries: list[_Entry] = []
    problems: list[Item] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                found = sorted(((e.name, e.stat(follow_symlinks=False).st_mode) for e in it), reverse=True)
        except OSError as e:
            problems.append(Item(current, findings=(
                Finding("INGEST_UNREADABLE", str(current), f"cannot read the folder: {e.strerror}"),), root=folder))
            continue
        for name, mode in found:
            if _ignored(name):
                continue
            if stat.S_ISDIR(mode):
                stack.append(current / name)
            else:
                entries.append(_Entry(current / name, mode))
    entries.sort(key=lambda e: str(e.path))
    return entries, problems


def _keys(row: dict[Any, Any]) -> dict[str, Any]:
    renamed = {_EXTRA_ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in row.items() if k is not None}
    return normalise_keys(renamed)


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).replace("；", ";").split(";") if p.strip()]


def read_sidecar(path: Path, root: Path | None = None) -> dict[str, Any]:
    """Fields of a JSON or XML sidecar (a UTF-8 BOM allowed), their keys normalised.

    Raises :class:`~govarc.fsutil.UnsafeInputError` for a link, a special file or one over
    :data:`~govarc.limits.MAX_SIDECAR_BYTES`; :class:`~govarc.package.metadata.LimitExceededError`
    or :class:`~govarc.xmlsafe.XMLTooDeepError` for nesting, a field or a list over its limit;
    ValueError with a short reason when it does not parse.
    """
    data = read_input(path, root, max_bytes=MAX_SIDECAR_BYTES)
    if path.suffix.lower() == ".json":
        fields = _keys(json_object(data))
    else:
        try:
            root_el = parse_bytes(data, max_depth=MAX_XML_DEPTH).getroot()
        except etree.XMLSyntaxError as e:
            raise ValueError(f"not well-formed XML: {e}") from None
        if root_el.tag != f"{{{NS}}}record":
            raise ValueError(f"XML sidecar root must be {{{NS}}}record")
        fields = _keys(_xml_fields(root_el))
    check_limits(fields)
    return fields


def _xml_fields(root: etree._Element) -> dict[str, Any]:
    ns = {"r": NS}

    def text(path: str) -> str | None:
        return root.findtext(path, namespaces=ns)

    out: dict[str, Any] = {
        "title": text("r:title"), "document_number": text("r:documentNumber"), "date": text("r:date"),
        "classification": text("r:classification"), "retention": text("r:retention"),
        "page_count": text("r:pageCount"), "note": text("r:note"),
        "issuer": [e.text for e in root.iterfind("r:issuer", ns) if e.text],
        "keywords": [e.text for e in root.iterfind("r:keywords/r:keyword", ns) if e.text],
        "unit": text("r:archivalCode/r:unit"), "category": text("r:archivalCode/r:category"),
    }
    attachments = [e.findtext("r:name", namespaces=ns) for e in root.iterfind("r:files/r:file[@role='attachment']", ns)]
    if attachments:
        out["attachments"] = [a for a in attachments if a]
    return {k: v for k, v in out.items() if v not in (None, [], "")}


def read_register(path: Path, root: Path | None = None) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8 or GB18030) or XLSX register, keyed by normalised column names.

    See :func:`iter_register`, which this collects (less the row numbers).
    """
    return [row for _, row in iter_register(path, root)]


def iter_register(path: Path, root: Path | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-empty row of a register as (its row number, its fields); only the columns ingest uses.

    Bounded before and while reading: the file by :data:`~govarc.limits.MAX_REGISTER_BYTES`, an
    XLSX's entries by their declared sizes and compression ratio (a decompression bomb is refused
    before openpyxl reads it), the rows by :data:`~govarc.limits.MAX_REGISTER_ROWS` (a CSV's before
    its first row is yielded), an XLSX's columns by :data:`MAX_REGISTER_COLUMNS`. Raises (while
    iterating) as :func:`read_sidecar` does; a row's fields over a limit are left to the caller
    (one bad row refuses one record, not the register).
    """
    with open_input(path, root, max_bytes=MAX_REGISTER_BYTES) as f:
        yield from _xlsx_rows(f) if path.suffix.lower() == ".xlsx" else _csv_rows(f)


_KNOWN_KEYS = frozenset(KEY_ALIASES) | {"file", "attachments"}


def _columns(header: Sequence[Any]) -> list[tuple[int, str]]:
    """(position, key) of each column of a register that ingest uses; a later column of a key wins."""
    out = []
    for i, name in enumerate(header):
        if name is None:
            continue
        key = next(iter(_keys({name: "x"})), None)  # the key this column name normalises to
        if key in _KNOWN_KEYS:
            out.append((i, key))
    return out


def _row(columns: list[tuple[int, str]], cells: Sequence[Any]) -> dict[str, Any]:
    # Only the columns ingest uses are kept: a register of many columns costs no more than one of few.
    row: dict[str, Any] = {}
    for i, key in columns:
        value = cells[i] if i < len(cells) else None
        if value is None or (isinstance(value, str) and not value.strip()):
            row.pop(key, None)
        else:
            row[key] = _cell(value)
    return row


def _too_many_rows() -> LimitExceededError:
    return LimitExceededError(f"register has more than {MAX_REGISTER_ROWS:,} rows")


def _csv_pass(f: IO[bytes], encoding: str, rows: bool) -> Iterator[tuple[int, dict[str, Any]]]:
    f.seek(0)
    text = io.TextIOWrapper(f, encoding=encoding, newline="")
    try:
        reader = csv.reader(text)
        columns = _columns(next(reader, []))
        for n, r in enumerate(reader):
            if n >= MAX_REGISTER_ROWS:
                raise _too_many_rows()
            if rows and any(v.strip() for v in r):
                yield reader.line_num, _row(columns, r)
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise LimitExceededError(f"register has a cell over {csv.field_size_limit():,} characters") from None
        raise ValueError(f"not valid CSV: {e}") from None
    finally:
        text.detach()


def _csv_rows(f: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    # A first pass finds the encoding and counts the rows, keeping nothing; the second yields them.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            for _ in _csv_pass(f, encoding, rows=False):
                pass
        except UnicodeDecodeError:
            continue
        yield from _csv_pass(f, encoding, rows=True)
        return
    raise ValueError("CSV is neither UTF-8 nor GB18030")


def check_zip_bomb(zf: zipfile.ZipFile, max_total: int) -> None:
    """Raise :class:`LimitExceededError` when a ZIP declares too many entries or too many bytes.

    zipfile never inflates an entry beyond its declared size, so the declared sizes bound what
    a reader of the ZIP can be made to hold.
    """
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise LimitExceededError(f"workbook has {len(infos):,} entries, over the limit of {MAX_ZIP_ENTRIES:,}")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MIB and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise LimitExceededError(
                f"workbook entry {printable(info.filename)!r} inflates {info.file_size:,} bytes from "
                f"{info.compress_size:,}, over the compression ratio limit of {MAX_COMPRESSION_RATIO}")
    if total > max_total:
        raise LimitExceededError(f"workbook unpacks to {total:,} bytes, over the limit of {max_total:,}")


def _xlsx_rows(f: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with zipfile.ZipFile(f) as zf:
            check_zip_bomb(zf, MAX_REGISTER_BYTES)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
        if isinstance(e, LimitExceededError):
            raise
        raise ValueError(f"not a readable XLSX workbook: {e}") from None
    f.seek(0)
    try:
        import openpyxl

        wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for a broken file
        raise ValueError(f"not a readable XLSX workbook: {e}") from None
    columns: list[tuple[int, str]] | None = None
    try:
        sheet = wb.worksheets[0]
        for n, r in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_REGISTER_COLUMNS), 1):
            if columns is None:  # the first row holds the column names
                columns = _columns([str(h).strip() if h is not None else None for h in r])
                continue
            if n > MAX_REGISTER_ROWS + 1:
                raise _too_many_rows()
            if any(c not in (None, "") for c in r):
                yield n, _row(columns, r)
    except (LimitExceededError, GeneratorExit):
        raise
    except Exception as e:  # noqa: BLE001 - as above, while the sheet is read
        raise ValueError(f"not a readable XLSX workbook: {e}") from None
    finally:
        wb.close()


def _cell(value: Any) -> Any:
    """A register cell as text: spreadsheet dates become ISO dates, whole numbers lose their `.0`."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _named(base: Path, name: str, what: str) -> Path:
    """The regular file that metadata in ``base`` names as ``name``, reached following no link.

    Raises :class:`UnsafeInputError` (its path the offending one, its message saying ``what``
    named it) or :class:`FileNotFoundError`.
    """
    try:
        parts = relative_parts(name)
    except UnsafeInputError as e:
        shown = printable(name)
        where = shown if shown.startswith(("/", "\\")) else str(base / shown)
        raise UnsafeInputError(e.kind, where, f"{what} {e.message}; only a path inside {base} is allowed") from None
    try:
        return check_beneath(base, parts)
    except UnsafeInputError as e:
        raise UnsafeInputError(e.kind, e.path, f"{what} {e.message}") from None
    except NotADirectoryError as e:
        raise FileNotFoundError(str(e)) from None


def _item(main: Path, fields: dict[str, Any], root: Path, base: Path, origin: str, where: str) -> tuple[Item, list[Path]]:
    """The item of ``main`` and its attachments; also the paths it names that are refused (to claim them).

    ``origin`` names the metadata in messages (``a.json``, ``register.csv row 3``), ``where`` in paths.
    """
    findings: list[Finding] = []
    attachments: list[Path] = []
    refused: list[Path] = []
    names = _split(fields.pop("attachments", []))
    if len(names) > MAX_LIST_ITEMS:
        findings.append(Finding("INGEST_TOO_LARGE", where,
                                f"附件 (attachments) has {len(names):,} items, over the limit of {MAX_LIST_ITEMS:,}"))
        names = []
    for rel in names:
        try:
            attachments.append(_named(base, rel, f"附件 named by {origin}"))
        except UnsafeInputError as e:
            findings.append(refusal(e))
            refused.append(Path(e.path))
        except OSError:
            findings.append(Finding("INGEST_ATTACHMENT_MISSING", printable(str(base / rel)),
                                    f"附件 named by {origin} is not there"))
    return Item(main, tuple(attachments), fields, origin, tuple(findings), root), refused


class RealPaths:
    """``path.resolve()`` for many files of few folders: each folder is resolved once."""

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> Path:
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        return folder / path.name


def discover(paths: Sequence[Path]) -> list[Item]:
    """Every record in ``paths`` (files or folders), in a stable order, each main document once.

    A folder named here may be a link (it is the user's or the configuration's choice); below
    it, and for a file named here, no link is followed.
    """
    items: list[Item] = []
    for path in paths:
        path = Path(path)
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode) and stat.S_ISDIR(os.stat(path).st_mode):
                st = os.stat(path)
        except (OSError, ValueError):
            items.append(Item(path, findings=(Finding("INGEST_UNREADABLE", str(path), "no such file or folder"),)))
            continue
        if stat.S_ISDIR(st.st_mode):
            items.extend(_discover_folder(path))
        elif stat.S_ISREG(st.st_mode):
            items.extend(_discover_file(path))
        else:
            items.append(Item(path, findings=(_mode_refusal(path, st.st_mode),)))
    seen: set[Any] = set()
    unique = []
    real = RealPaths()
    for it in items:
        # A refusal is kept as found; a good item once, however many times its file was named.
        key = (str(it.main), tuple(f.code for f in it.findings)) if it.refused else real(it.main)
        if key not in seen:
            seen.add(key)
            unique.append(it)
    return unique


def _register_items(register: Path, root: Path, claimed: set[Path]) -> list[Item]:
    """The items of a register's rows, or the register's refusal; claims what the rows name.

    Rows are turned into items as they are read, so a refused row keeps none of its fields. A
    file named by several rows is the record of the first.
    """
    items: list[Item] = []
    mine: set[Path] = set()
    try:
        for n, row in iter_register(register, root):
            item, named = _row_item(register, root, n, row, mine)
            mine.update(named)
            if item is not None:
                items.append(item)
    except (ValueError, OSError) as e:
        return [Item(register, findings=(_metadata_problem(register, e),), root=root, document=False)]
    claimed.update(mine)
    return items


def _row_item(register: Path, root: Path, n: int, row: dict[str, Any], mine: set[Path]) -> tuple[Item | None, list[Path]]:
    """The item of register row ``n`` (None for a file an earlier row named), and the paths it claims."""
    base = register.parent
    origin = f"{register.name} row {n}"
    where = f"{register}:{n}"
    name = row.pop("file", None)
    if not name:
        return Item(register, findings=(Finding("INGEST_FIELD_MISSING", where, "row names no file (文件名)"),),
                    root=root, document=False), []
    name = str(name).strip()
    try:
        check_limits({"file": name})
        main = _named(base, name, f"the file named by {origin}")
    except LimitExceededError as e:
        return Item(register, findings=(Finding("INGEST_TOO_LARGE", where, str(e)),), root=root, document=False), []
    except UnsafeInputError as e:
        return Item(Path(e.path), findings=(refusal(e),), root=root), [Path(e.path)]
    except OSError:
        shown = base / printable(name)
        return Item(shown, findings=(
            Finding("INGEST_UNREADABLE", str(shown), f"{origin} names a file that is not there"),), root=root), []
    if main in mine:
        return None, []
    try:
        check_limits(row)
    except LimitExceededError as e:
        return Item(main, findings=(Finding("INGEST_TOO_LARGE", where, str(e)),), root=root), [main]
    item, refused = _item(main, row, root, base, origin, where)
    return item, [main, *item.attachments, *refused]


def _sidecar_item(doc: _Entry, sidecar: _Entry, root: Path) -> tuple[Item, list[Path]]:
    """The item of a document described by a sidecar (both found beside each other)."""
    problem = _not_regular(doc.path, doc.mode) or _not_regular(sidecar.path, sidecar.mode, "the sidecar")
    if problem:
        return Item(doc.path, findings=(problem,), root=root), []
    try:
        fields = read_sidecar(sidecar.path, root)
    except (ValueError, OSError) as e:
        return Item(doc.path, findings=(_metadata_problem(sidecar.path, e, "the sidecar"),), root=root), []
    return _item(doc.path, fields, root, sidecar.path.parent, sidecar.path.name, str(sidecar.path))


def _pair(entries: Iterable[_Entry], claimed: set[Path]) -> list[tuple[_Entry, list[_Entry]]]:
    """Each sidecar not claimed yet with the documents of its folder that share its stem."""
    entries = list(entries)
    by_stem: dict[tuple[Path, str], list[_Entry]] = {}
    for e in entries:
        if e.path.suffix.lower() not in SIDECAR_SUFFIXES and e.path not in claimed:
            by_stem.setdefault((e.path.parent, e.path.stem), []).append(e)
    pairs = []
    for e in entries:
        if e.path in claimed or e.path.suffix.lower() not in SIDECAR_SUFFIXES:
            continue
        docs = by_stem.get((e.path.parent, e.path.stem), [])
        if docs:
            pairs.append((e, docs))
    return pairs


def _described(pairs: list[tuple[_Entry, list[_Entry]]], root: Path, claimed: set[Path]) -> list[Item]:
    items: list[Item] = []
    for sidecar, docs in pairs:
        claimed.add(sidecar.path)
        claimed.update(d.path for d in docs)
    for sidecar, docs in pairs:
        if len(docs) > 1:
            names = ", ".join(x.path.name for x in docs)
            items.extend(
                Item(d.path, findings=(Finding("INGEST_METADATA_UNREADABLE", str(sidecar.path),
                                               f"sidecar matches several documents: {names}"),), root=root)
                for d in docs
            )
            continue
        item, refused = _sidecar_item(docs[0], sidecar, root)
        claimed.update(item.attachments, refused)
        items.append(item)
    return items


def _discover_folder(folder: Path) -> list[Item]:
    entries, items = _walk(folder)
    claimed: set[Path] = set()
    for register in (e for e in entries if e.path.name in REGISTER_NAMES):
        claimed.add(register.path)
        problem = _not_regular(register.path, register.mode, "the register")
        if problem:
            items.append(Item(register.path, findings=(problem,), root=folder, document=False))
        else:
            items.extend(_register_items(register.path, folder, claimed))
    items.extend(_described(_pair(entries, claimed), folder, claimed))
    for e in entries:  # an attachment claimed by a record is not a document of its own
        if e.path not in claimed:
            problem = _not_regular(e.path, e.mode)
            items.append(Item(e.path, findings=(problem or Finding(
                "INGEST_METADATA_MISSING", str(e.path), "no sidecar (.json/.xml) and no register row"),), root=folder))
    items.sort(key=lambda it: str(it.main))
    return items


def _siblings(path: Path) -> list[_Entry]:
    try:
        with os.scandir(path.parent) as it:
            return sorted((_Entry(path.parent / e.name, e.stat(follow_symlinks=False).st_mode)
                           for e in it if not _ignored(e.name)), key=lambda e: str(e.path))
    except OSError:
        return []


def _discover_file(path: Path) -> list[Item]:
    """The record of one regular file named on its own: a document, its sidecar, or a register.

    The folder being ingested is the file's folder. A sidecar named directly stands for the
    document it describes; a register named directly for all its rows.
    """
    root = path.parent
    if path.name in REGISTER_NAMES:
        return _register_items(path, root, set())
    siblings = _siblings(path)
    if path.suffix.lower() in SIDECAR_SUFFIXES:
        pairs = [(s, docs) for s, docs in _pair(siblings, set()) if s.path == path]
        if pairs:
            return _described(pairs, root, set())
    else:
        for suffix in SIDECAR_SUFFIXES:
            pairs = [(s, docs) for s, docs in _pair(siblings, set())
                     if s.path.name == path.stem + suffix and any(d.path == path for d in docs)]
            if pairs:
                return [it for it in _described(pairs, root, set()) if it.main == path]
        for name in REGISTER_NAMES:
            register = root / name
            if os.path.lexists(register):
                rows = [it for it in _register_items(register, root, set()) if it.main == path]
                if rows:
                    return rows[:1]
    return [Item(path, findings=(Finding("INGEST_METADATA_MISSING", str(path), "no sidecar (.json/.xml) and no register row"),),
                 root=root)]
