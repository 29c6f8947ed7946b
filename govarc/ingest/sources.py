"""Find the records in a drop folder: documents, their sidecars, registers and attachments.

Follows specs/ingest.md. Discovery only reads; a problem with an item's metadata becomes a finding
on that item, so one bad sidecar never stops the batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from govarc.findings import Finding
from govarc.package.metadata import NS, json_object, normalise_keys
from govarc.xmlsafe import parse_bytes

REGISTER_NAMES = ("register.csv", "register.xlsx", "登记表.csv", "登记表.xlsx")
SIDECAR_SUFFIXES = (".json", ".xml")
_IGNORED_SUFFIXES = ("~", ".tmp", ".part")

# Register and sidecar keys beyond the record keys of govarc.package.metadata.
_EXTRA_ALIASES = {"文件名": "file", "计算机文件名": "file", "附件": "attachments"}


@dataclass(frozen=True)
class Item:
    """One record to ingest: a main document, its attachments and its metadata fields."""

    main: Path
    attachments: tuple[Path, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict, hash=False)
    origin: str = ""  # where the metadata came from, for messages
    findings: tuple[Finding, ...] = ()


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


def _walk(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if not _ignored(name) and not p.is_symlink():
                out.append(p)
    return out


def _keys(row: dict[Any, Any]) -> dict[str, Any]:
    renamed = {_EXTRA_ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in row.items() if k is not None}
    return normalise_keys(renamed)


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).replace("；", ";").split(";") if p.strip()]


def read_sidecar(path: Path) -> dict[str, Any]:
    """Fields of a JSON or XML sidecar; raises ValueError with a short reason when unreadable."""
    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        return _keys(json_object(data))
    try:
        root = parse_bytes(data).getroot()
    except etree.XMLSyntaxError as e:
        raise ValueError(f"not well-formed XML: {e}") from None
    if root.tag != f"{{{NS}}}record":
        raise ValueError(f"XML sidecar root must be {{{NS}}}record")
    return _keys(_xml_fields(root))


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


def read_register(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8 or GB18030) or XLSX register, keyed by normalised column names."""
    if path.suffix.lower() == ".xlsx":
        try:
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for a broken file
            raise ValueError(f"not a readable XLSX workbook: {e}") from None
        try:
            rows = list(wb.worksheets[0].iter_rows(values_only=True))
        finally:
            wb.close()
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        table: list[dict[Any, Any]] = [
            dict(zip(header, r)) for r in rows[1:] if any(c not in (None, "") for c in r)
        ]
    else:
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("CSV is neither UTF-8 nor GB18030")
        try:
            table = [
                r for r in csv.DictReader(io.StringIO(text))
                if any(isinstance(v, str) and v.strip() for v in r.values())
            ]
        except csv.Error as e:
            raise ValueError(f"not valid CSV: {e}") from None
    return [_keys({k: _cell(v) for k, v in row.items()}) for row in table]


def _cell(value: Any) -> Any:
    """A register cell as text: spreadsheet dates become ISO dates, whole numbers lose their `.0`."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _item(main: Path, fields: dict[str, Any], base: Path, origin: str) -> Item:
    findings = []
    attachments = []
    for rel in _split(fields.pop("attachments", [])):
        p = base / rel
        if not p.is_file():
            findings.append(Finding("INGEST_ATTACHMENT_MISSING", str(p), f"附件 named by {origin} is not there"))
        else:
            attachments.append(p)
    return Item(main, tuple(attachments), fields, origin, tuple(findings))


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
    """Every record in ``paths`` (files or folders), in a stable order, each main document once."""
    items: list[Item] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            items.extend(_discover_folder(path))
        elif path.is_file():
            items.extend(_discover_file(path))
        else:
            items.append(Item(path, findings=(Finding("INGEST_UNREADABLE", str(path), "no such file or folder"),)))
    seen: set[Path] = set()
    unique = []
    real = RealPaths()
    for it in items:
        key = real(it.main)
        if key not in seen:
            seen.add(key)
            unique.append(it)
    return unique


def _register_items(register: Path, claimed: set[Path]) -> list[Item]:
    base = register.parent
    try:
        rows = read_register(register)
    except (ValueError, OSError) as e:
        return [Item(register, findings=(Finding("INGEST_METADATA_UNREADABLE", str(register), str(e)),))]
    items = []
    for n, row in enumerate(rows, 2):
        origin = f"{register.name} row {n}"
        name = row.pop("file", None)
        if not name:
            items.append(Item(register, findings=(
                Finding("INGEST_FIELD_MISSING", f"{register}:{n}", "row names no file (文件名)"),)))
            continue
        main = base / str(name).strip()
        claimed.add(main)
        if not main.is_file():
            items.append(Item(main, findings=(
                Finding("INGEST_UNREADABLE", str(main), f"{origin} names a file that is not there"),)))
            continue
        item = _item(main, row, base, origin)
        claimed.update(item.attachments)
        items.append(item)
    return items


def _discover_folder(folder: Path) -> list[Item]:
    files = _walk(folder)
    claimed: set[Path] = set()
    items: list[Item] = []
    for register in (p for p in files if p.name in REGISTER_NAMES):
        claimed.add(register)
        items.extend(_register_items(register, claimed))
    by_stem: dict[tuple[Path, str], list[Path]] = {}
    for p in files:
        if p.suffix.lower() not in SIDECAR_SUFFIXES and p not in claimed:
            by_stem.setdefault((p.parent, p.stem), []).append(p)
    sidecars = []
    for p in files:
        if p in claimed or p.suffix.lower() not in SIDECAR_SUFFIXES:
            continue
        docs = by_stem.get((p.parent, p.stem), [])
        if docs:
            sidecars.append((p, docs))
            claimed.add(p)
    for sidecar, docs in sidecars:
        claimed.update(docs)
        if len(docs) > 1:
            names = ", ".join(x.name for x in docs)
            items.extend(
                Item(d, findings=(Finding("INGEST_METADATA_UNREADABLE", str(sidecar), f"sidecar matches several documents: {names}"),))
                for d in docs
            )
            continue
        try:
            fields = read_sidecar(sidecar)
        except (ValueError, OSError) as e:
            items.append(Item(docs[0], findings=(Finding("INGEST_METADATA_UNREADABLE", str(sidecar), str(e)),)))
            continue
        item = _item(docs[0], fields, sidecar.parent, sidecar.name)
        claimed.update(item.attachments)
        items.append(item)
    for p in files:  # an attachment claimed by a record is not a document of its own
        if p not in claimed:
            items.append(Item(p, findings=(Finding("INGEST_METADATA_MISSING", str(p), "no sidecar (.json/.xml) and no register row"),)))
    items.sort(key=lambda it: str(it.main))
    return items


def _discover_file(path: Path) -> list[Item]:
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_suffix(suffix)
        if sidecar.is_file() and sidecar != path:
            try:
                fields = read_sidecar(sidecar)
            except (ValueError, OSError) as e:
                return [Item(path, findings=(Finding("INGEST_METADATA_UNREADABLE", str(sidecar), str(e)),))]
            return [_item(path, fields, sidecar.parent, sidecar.name)]
    for name in REGISTER_NAMES:
        register = path.parent / name
        if register.is_file():
            rows = [it for it in _register_items(register, set()) if it.main.resolve() == path.resolve()]
            if rows:
                return rows[:1]
    return [Item(path, findings=(Finding("INGEST_METADATA_MISSING", str(path), "no sidecar (.json/.xml) and no register row"),))]
