"""What an inventory shows: its columns (Chinese and English), totals per agency/year, 数据量 and the
rule that keeps spreadsheet cells from being run as formulas (specs/inventory.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from govarc.catalog.inventory import InventoryRow
from govarc.catalog.summary import STATE_LABELS, InventoryState


class Format(str, Enum):
    """The formats an inventory is written in."""

    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    HTML = "html"


@dataclass(frozen=True)
class Column:
    """A column: its key (JSON), its Chinese and English headers, and whether it holds a number."""

    key: str
    zh: str
    en: str
    number: bool = False

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


COLUMNS: tuple[Column, ...] = (
    Column("agency", "机构", "Agency"),
    Column("year", "年度", "Year", number=True),
    Column("archival_code", "档号", "Archival code"),
    Column("title", "题名", "Title"),
    Column("document_number", "文件编号", "Document number"),
    Column("issuer", "责任者", "Issuer"),
    Column("date", "日期", "Date"),
    Column("classification", "密级", "Classification"),
    Column("retention", "保管期限", "Retention"),
    Column("files", "文件数", "Files", number=True),
    Column("pages", "页数", "Pages", number=True),
    Column("bytes", "字节数", "Bytes", number=True),
    Column("state", "状态", "State"),
    Column("package_digest", "包摘要", "Package digest"),
)
"""The columns of the records table, in order."""

TOTAL_COLUMNS: tuple[Column, ...] = (
    Column("agency", "机构", "Agency"),
    Column("year", "年度", "Year", number=True),
    Column("items", "件数", "Items", number=True),
    Column("files", "文件数", "Files", number=True),
    Column("pages", "页数", "Pages", number=True),
    Column("bytes", "字节数", "Bytes", number=True),
    Column("data_gb", "数据量(GB)", "Data (GB)"),
)
"""The columns of the totals table (one row per agency and year, then the grand total)."""

GRAND_TOTAL_LABEL = "总计 Total"

BYTES_PER_GB = 1024**3
"""数据量 in GB of 2^30 bytes, three decimals, rounded half up: as the transfer list reports it."""

FORMULA_TRIGGERS = "=+-@\t\r＝＋－＠"
"""A text cell starting with one of these (after leading blanks) would be run by a spreadsheet."""

_BLANKS = " \t\r\n\u00a0\u3000"


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would take it as a formula (specs/inventory.md)."""
    if not text:
        return text
    stripped = text.lstrip(_BLANKS)
    if text[0] in "\t\r\n" or (stripped and stripped[0] in FORMULA_TRIGGERS):
        return "'" + text
    return text


def data_gb(n_bytes: int) -> str:
    """数据量: ``n_bytes`` in GB (2^30 bytes), three decimals, rounded half up (``0.125``)."""
    return str((Decimal(n_bytes) / BYTES_PER_GB).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def state_text(state: InventoryState) -> str:
    """A state as people read it: ``已接收 accepted``."""
    return f"{STATE_LABELS[state]} {state.value}"


def row_values(row: InventoryRow) -> list[str | int | None]:
    """The row's cells in :data:`COLUMNS` order (text as people read it; numbers as numbers)."""
    return [row.agency, row.year, row.archival_code, row.title, row.document_number, row.issuer, row.date,
            row.classification, row.retention, row.files, row.pages, row.bytes, state_text(row.state),
            row.package_digest]


def row_dict(row: InventoryRow) -> dict[str, object]:
    """The row for JSON: :data:`COLUMNS` keys, the state as its value, plus ``state_label``."""
    return {"agency": row.agency, "year": row.year, "archival_code": row.archival_code, "title": row.title,
            "document_number": row.document_number, "issuer": row.issuer, "date": row.date,
            "classification": row.classification, "retention": row.retention, "files": row.files,
            "pages": row.pages, "bytes": row.bytes, "state": row.state.value,
            "state_label": STATE_LABELS[row.state], "package_digest": row.package_digest}


@dataclass(frozen=True)
class Total:
    """Items, files, pages and bytes of one agency/year (or of everything: both ``None``)."""

    agency: str | None
    year: int | None
    items: int
    files: int
    pages: int
    bytes: int

    @property
    def data_gb(self) -> str:
        return data_gb(self.bytes)

    def values(self) -> list[str | int]:
        """The cells in :data:`TOTAL_COLUMNS` order; the grand total is labelled in the agency column."""
        agency = GRAND_TOTAL_LABEL if self.agency is None else self.agency
        year: str | int = "" if self.year is None else self.year
        return [agency, year, self.items, self.files, self.pages, self.bytes, self.data_gb]

    def as_dict(self) -> dict[str, object]:
        return {"agency": self.agency, "year": self.year, "items": self.items, "files": self.files,
                "pages": self.pages, "bytes": self.bytes, "data_gb": self.data_gb}


@dataclass(frozen=True)
class InventoryTotals:
    """The totals of an inventory: per agency/year in the rows' order, and the grand total."""

    groups: tuple[Total, ...]
    grand: Total


class TotalsCounter:
    """Totals kept as rows stream by (the number of agency/years is small; the rows are not kept)."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, int], list[int]] = {}

    def add(self, row: InventoryRow) -> None:
        c = self._groups.setdefault((row.agency, row.year), [0, 0, 0, 0])
        c[0] += 1
        c[1] += row.files
        c[2] += row.pages or 0
        c[3] += row.bytes

    def totals(self) -> InventoryTotals:
        groups = tuple(Total(a, y, *c) for (a, y), c in sorted(self._groups.items()))
        grand = Total(None, None, *(sum(g[i] for g in self._groups.values()) for i in range(4)))
        return InventoryTotals(groups, grand)
