"""The domain types of govarc, defined once: agencies, 保管期限, 密级 and the 档号 (DA/T 22).

Pure values and functions, no I/O: the record metadata, the workspace settings, ingest, the
verifier and the catalog all take these names from here. Parsing from user input raises
:class:`~govarc.errors.MetadataError` with a message naming the accepted forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from govarc.errors import MetadataError

CODE_PART = r"[A-Za-z0-9]{1,16}"
"""A part of the 档号 that is a code: 全宗号, 门类代码, 机构(问题)代码 (1-16 ASCII letters or digits)."""

AGENCY_CODE = r"[A-Za-z0-9][A-Za-z0-9-]{0,31}"
"""An agency code: a 统一社会信用代码 (18 characters) or an ETSI-style identifier such as
NTRCN-91450200…, which is what CAs put in organizationIdentifier (1-32 letters, digits, hyphens)."""

ITEM_WIDTH = 4
"""件号 is written with at least this many digits (``0001``); more when it grows past 9999."""

ITEM_MAX_DIGITS = 9
"""The most digits a 件号 may have in a 档号 that is read."""

_CODE_PART = re.compile(CODE_PART)
_AGENCY_CODE = re.compile(AGENCY_CODE)


def is_code_part(value: object) -> bool:
    """Whether ``value`` can be a 全宗号, 门类代码 or 机构(问题)代码 (see :data:`CODE_PART`)."""
    return isinstance(value, str) and bool(_CODE_PART.fullmatch(value))


def is_agency_code(value: object) -> bool:
    """Whether ``value`` is a valid agency code (see :data:`AGENCY_CODE`)."""
    return isinstance(value, str) and bool(_AGENCY_CODE.fullmatch(value))


class Retention(str, Enum):
    """保管期限 codes (DA/T 22)."""

    PERMANENT = "Y"
    YEARS_30 = "D30"
    YEARS_10 = "D10"

    @classmethod
    def parse(cls, value: str) -> Retention:
        """From a code (``Y``, ``d30``) or its Chinese name (永久, 定期30年, 30年, …)."""
        text = str(value).strip()
        aliases = {"永久": "Y", "定期30年": "D30", "30年": "D30", "定期10年": "D10", "10年": "D10"}
        text = aliases.get(text, text.upper())
        try:
            return cls(text)
        except ValueError:
            raise MetadataError(f"retention {value!r} is not Y, D30 or D10 (永久/定期30年/定期10年)") from None


class Verdict(str, Enum):
    """The archives' verdict on one package of a transfer batch (接收结论): in receipts, and in the
    catalog's ``batch_items.verdict`` (NULL until the receipt)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Classification(str, Enum):
    """密级."""

    PUBLIC = "公开"
    INTERNAL = "内部"
    SECRET = "秘密"
    CONFIDENTIAL = "机密"

    @classmethod
    def parse(cls, value: str) -> Classification:
        """From the Chinese name or its English one (``public``, ``Secret``, …)."""
        text = str(value).strip()
        aliases = {"public": "公开", "internal": "内部", "secret": "秘密", "confidential": "机密"}
        text = aliases.get(text.lower(), text)
        try:
            return cls(text)
        except ValueError:
            raise MetadataError(f"classification {value!r} is not 公开, 内部, 秘密 or 机密") from None

    @property
    def classified(self) -> bool:
        """秘密 and 机密: material an agency accepts only with ``allow_classified``."""
        return self in (Classification.SECRET, Classification.CONFIDENTIAL)


_RETENTIONS = "|".join(r.value for r in Retention)
ARCHIVAL_CODE = (rf"({CODE_PART})-({CODE_PART})[·.]([0-9]{{4}})-({_RETENTIONS})-({CODE_PART})"
                 rf"-([0-9]{{1,{ITEM_MAX_DIGITS}}})")
"""A 档号 as it is written (unanchored; ``·`` or ``.`` before the year), its six parts as groups."""
_ARCHIVAL_CODE = re.compile(rf"^{ARCHIVAL_CODE}$")
_ARCHIVAL_CODE_IN_TEXT = re.compile(ARCHIVAL_CODE)

SequenceKey = tuple[str, str, int, str, str]
"""What a 件号 sequence counts in: (全宗号, 门类代码, 年度, 保管期限 code, 机构(问题)代码)."""


def archival_code_text(fonds: str, category: str, year: str, retention: str, unit: str, item: int) -> str:
    """The 档号 string from its parts as written: ``0012-WS·2007-Y-BGS-0001``.

    ``year`` is taken as written (the verifier compares against the text of record.xml);
    ``item`` is padded to :data:`ITEM_WIDTH` digits.
    """
    return f"{fonds}-{category}·{year}-{retention}-{unit}-{item:0{ITEM_WIDTH}d}"


@dataclass(frozen=True)
class ArchivalCode:
    """档号 (DA/T 22): 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号."""

    fonds: str
    category: str
    year: int
    retention: Retention
    unit: str
    item: int

    def format(self) -> str:
        """The 档号 string, e.g. ``0012-WS·2007-Y-BGS-0001`` (what ``str()`` gives too)."""
        return archival_code_text(self.fonds, self.category, f"{self.year:04d}", self.retention.value, self.unit,
                                  self.item)

    def __str__(self) -> str:
        return self.format()

    @property
    def sequence(self) -> SequenceKey:
        """The sequence this code's 件号 was counted in."""
        return (self.fonds, self.category, self.year, self.retention.value, self.unit)

    @classmethod
    def parse(cls, value: str) -> ArchivalCode:
        """Read a 档号 (``·`` or ``.`` before the year); MetadataError when it is not one."""
        m = _ARCHIVAL_CODE.match(str(value).strip())
        if not m or int(m.group(6)) < 1:
            raise MetadataError(
                f"archival code {value!r} is not 全宗号-门类代码·年度-保管期限-机构代码-件号 (e.g. 0012-WS·2007-Y-BGS-0001)"
            )
        return cls(m.group(1), m.group(2), int(m.group(3)), Retention(m.group(4)), m.group(5), int(m.group(6)))

    @classmethod
    def find_all(cls, text: str | None) -> Iterator[ArchivalCode]:
        """Every 档号 written in ``text`` (a file name, a bag-info value), skipping look-alikes."""
        for m in _ARCHIVAL_CODE_IN_TEXT.finditer(text or ""):
            try:
                yield cls.parse(m.group(0))
            except MetadataError:
                continue


def sequence_text(key: SequenceKey) -> str:
    """A sequence as people read it: ``0012-WS·2007-Y-BGS`` (a 档号 without its 件号)."""
    fonds, category, year, retention, unit = key
    return f"{fonds}-{category}·{year:04d}-{retention}-{unit}"


NAME_SEPARATORS = ";；"
"""Between the file names of a list (附件): ``;`` and the full-width ``；``. Not ``、`` nor a space,
which Chinese file names hold (``附件1、2.pdf``)."""
LIST_SEPARATORS = NAME_SEPARATORS + "、"
"""Between the items of a list of names (责任者): as for file names, and the enumeration comma ``、``."""
KEYWORD_SEPARATORS = LIST_SEPARATORS + " \t\u3000"
"""Between keywords (主题词), which are single words: as for names, and spaces (ASCII or full-width)."""
METADATA_SEPARATORS = LIST_SEPARATORS + ",，"
"""Between the items of 责任者 and 主题词 in a metadata file (JSON or a record dict): as for names, and
the comma ``,`` / ``，``; no spaces, which names hold."""


def split_list(value: Any, separators: str = LIST_SEPARATORS) -> list[str]:
    """A list field as its items: a list is taken item by item, text is split at ``separators``.

    The one list splitter: ingest (sidecars, registers, record fields) and the metadata files of
    ``govarc package build`` split with it, each field at its own separators (above).

    Items are stripped and empty ones dropped, so ``"a；b、 c;"`` is ``["a", "b", "c"]``.
    """
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = re.split(f"[{re.escape(separators)}]", str(value))
    return [i.strip() for i in items if i.strip()]


DEFAULT_ACCEPTED = (
    "application/pdf",
    "application/ofd",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "image/tiff",
    "image/jpeg",
    "image/png",
)
"""The formats an agency accepts when its configuration names none."""


@dataclass(frozen=True)
class Agency:
    """A records-creating body (立档单位) served by this installation."""

    code: str
    name: str
    fonds: str
    fonds_name: str
    unit: str = "BGS"
    category: str = "WS"
    drop: Path | None = None
    accepted_formats: tuple[str, ...] = DEFAULT_ACCEPTED
    allow_classified: bool = False
    unsigned: bool = False  # packages may go unsigned while the agency has no key
    # The exchange (公文交换), receiving side: where a received message goes (its OA), and whether
    # it is signed for (签收) automatically once handed over.
    oa_command: tuple[str, ...] | None = None  # run with the package and metadata paths as its last two args
    oa_drop: Path | None = None  # or: package and metadata JSON are written into this folder
    oa_timeout: int = 60  # seconds the OA command may run
    auto_sign_for: bool = False

    def as_toml(self) -> dict[str, Any]:
        """The agency as a ``[[agency]]`` table of govarc.toml."""
        d: dict[str, Any] = {
            "code": self.code, "name": self.name, "fonds": self.fonds, "fonds_name": self.fonds_name,
            "unit": self.unit, "category": self.category,
            "accepted_formats": list(self.accepted_formats), "allow_classified": self.allow_classified,
        }
        if self.drop is not None:
            d["drop"] = str(self.drop)
        if self.unsigned:
            d["unsigned"] = True
        if self.oa_command is not None:
            d["oa_command"] = list(self.oa_command)
        if self.oa_drop is not None:
            d["oa_drop"] = str(self.oa_drop)
        if self.oa_timeout != 60:
            d["oa_timeout"] = self.oa_timeout
        if self.auto_sign_for:
            d["auto_sign_for"] = True
        return d

    def archival_code(self, year: int, retention: Retention, item: int, *, category: str | None = None,
                      unit: str | None = None) -> ArchivalCode:
        """The 档号 of item ``item`` of this agency's fonds; category and unit default to the agency's."""
        return ArchivalCode(self.fonds, category or self.category, year, retention, unit or self.unit, item)
