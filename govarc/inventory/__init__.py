"""Inventories (档案目录) of the catalog's records: CSV, XLSX, JSON or printable HTML, streamed.

:func:`write_inventory` reads the records a filter selects from the catalog in order and writes
them in one format, to a file (atomically: a temporary name beside it, then a rename; an
interrupted run leaves no half file) or to a text stream. See specs/inventory.md.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import IO

from govarc.catalog.db import Catalog
from govarc.catalog.inventory import InventoryFilter, InventoryRow, inventory_rows
from govarc.fsutil import atomic_write
from govarc.inventory.columns import COLUMNS, TOTAL_COLUMNS, Format, InventoryTotals, Total, neutralise
from govarc.inventory.writers import InventoryInfo, Progress, write_csv, write_html, write_json, write_xlsx

__all__ = [
    "COLUMNS", "TOTAL_COLUMNS", "Format", "InventoryFilter", "InventoryInfo", "InventoryRow", "InventoryTotals",
    "OutputExistsError", "Total", "neutralise", "write_inventory", "write_inventory_stream",
]

_TEXT_WRITERS = {Format.CSV: write_csv, Format.JSON: write_json, Format.HTML: write_html}


class OutputExistsError(FileExistsError):
    """The output file exists and ``force`` was not given (a usage error: exit 2)."""


def write_inventory_stream(catalog: Catalog, f: InventoryFilter, fmt: Format, out: IO[bytes],
                           info: InventoryInfo, progress: Progress | None = None) -> InventoryTotals:
    """Write the inventory to the binary stream ``out`` (UTF-8); XLSX only goes to a file."""
    if fmt is Format.XLSX:
        raise ValueError("an XLSX inventory is written to a file")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        totals = _TEXT_WRITERS[fmt](inventory_rows(catalog, f), text, info, progress)
        text.flush()
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # leave the caller's stream open
    return totals


def write_inventory(catalog: Catalog, f: InventoryFilter, fmt: Format, path: Path, info: InventoryInfo,
                    *, force: bool = False, progress: Progress | None = None) -> InventoryTotals:
    """Write the inventory to ``path`` atomically; an existing ``path`` is replaced only with ``force``
    (else :class:`OutputExistsError`, checked before any work and again at the rename). The file is
    the owner's only (0600): an inventory may list titles that are not for everyone."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    if not force and os.path.lexists(path):
        raise OutputExistsError(f"{path} exists (give --force to replace it)")
    try:
        with atomic_write(path, mode=0o600, replace=force) as out:
            if fmt is Format.XLSX:
                totals = write_xlsx(inventory_rows(catalog, f), out, info, progress, tmpdir=path.parent)
            else:
                totals = write_inventory_stream(catalog, f, fmt, out, info, progress)
    except FileExistsError:
        if force:
            raise
        raise OutputExistsError(f"{path} exists (give --force to replace it)") from None
    return totals
