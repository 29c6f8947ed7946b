"""Read registers (登记表): a CSV or XLSX sheet with one row per record and a column naming its file.

Bounded before and while reading by :mod:`govarc.limits`; an XLSX is checked for decompression
bombs before openpyxl opens it. Only the columns ingest uses are kept. See specs/ingest.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from govarc.fsutil import open_input, printable
from govarc.ingest.sidecars import normalised_keys
from govarc.limits import MAX_COMPRESSION_RATIO, MAX_REGISTER_BYTES, MAX_REGISTER_ROWS, MAX_ZIP_ENTRIES, MIB
from govarc.package.metadata import KEY_ALIASES, LimitExceededError

REGISTER_NAMES = ("register.csv", "register.xlsx", "登记表.csv", "登记表.xlsx")

MAX_REGISTER_COLUMNS = 256
"""Columns read from an XLSX register; a real one has a few dozen (a sheet may declare 16,384)."""


def iter_register(path: Path, root: Path | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-empty row of a register as (its row number, its fields); only the columns ingest uses.

    Bounded before and while reading: the file by :data:`~govarc.limits.MAX_REGISTER_BYTES`, an
    XLSX's entries by their declared sizes and compression ratio (a decompression bomb is refused
    before openpyxl reads it), the rows by :data:`~govarc.limits.MAX_REGISTER_ROWS` (a CSV's before
    its first row is yielded), an XLSX's columns by :data:`MAX_REGISTER_COLUMNS`. Raises (while
    iterating) as :func:`govarc.ingest.sidecars.read_sidecar` does; a row's fields over a limit are left to the caller
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
        key = next(iter(normalised_keys({name: "x"})), None)  # the key this column name normalises to
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
