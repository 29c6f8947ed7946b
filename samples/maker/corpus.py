"""The sample city's corpus: documents, agencies and bad inputs, read from ``corpus.toml``.

Everything that is data (texts, numbers, dates, names, register columns) lives in the TOML file;
this module only turns it into frozen dataclasses and refuses a file it does not understand, with
one line naming the entry and the problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import MakerError

CORPUS = Path(__file__).resolve().parent / "corpus.toml"

FORMATS = ("pdf", "pdfa1", "pdfa2", "ofd", "docx", "jpeg", "tiff")
BAD_FILES = ("pdf", "empty", "jpeg", "truncate", "encrypt", "open_action", "embedded_file", "link", "none")
BAD_METADATA = ("sidecar", "none", "truncated_json", "broken_xml", "xml", "register")
BAD_REGISTERS = ("register.csv", "登记表.csv")  # names ingest reads as a register (CSV only here)
XML_FIELDS = ("题名", "文件编号", "责任者", "成文日期", "密级", "保管期限", "附件")  # what an "xml" sidecar can say
MAX_GROWTH = 10_000  # sidecar_longer / sidecar_items / sidecar_nest: enough to pass any limit, still KBs


class CorpusError(MakerError):
    """The corpus file is missing, not TOML, or has an entry the generator cannot use."""


def cn_date(d: dt.date) -> str:
    """成文日期 as printed: 2024年3月5日 (no leading zeros, per GB/T 9704)."""
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass(frozen=True)
class Attachment:
    """附件: a file beside the main document, in the same drop folder."""

    path: str
    title: str
    kind: str  # "pdf" or "xlsx"
    rows: tuple[tuple[str, ...], ...] = ()
    paragraphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Doc:
    """One official document (公文) of the sample city."""

    key: str
    agency: str
    fmt: str  # pdf, pdfa1, pdfa2, ofd, docx, jpeg, tiff
    path: str
    number: str
    mark: tuple[str, ...]  # 发文机关标志, one line per organ (joint documents have several)
    title: str
    addressee: str
    body: tuple[str, ...]
    signers: tuple[str, ...]
    date: dt.date
    retention: str
    classification: str
    keywords: tuple[str, ...]
    cc: str = ""
    printer: str = ""
    attachments: tuple[Attachment, ...] = ()
    urgency: str = ""
    secret: str = ""  # 密级和保密期限 printed top-left, e.g. 秘密★1年
    signatory: str = ""  # 签发人 (上行文)
    is_letter: bool = False  # 函: the mark carries no 文件
    unit: str = ""
    # metadata variations
    omit: tuple[str, ...] = ()  # "number" and/or "date": leave out of the metadata
    meta_date: dt.date | None = None  # a metadata date that disagrees with the printed one
    meta_date_text: bool = False  # give the date as 2024年3月5日 rather than ISO
    english_keys: bool = False
    xml_sidecar: bool = False
    creator: str = ""  # the office system named as the file's creator

    @property
    def issuer(self) -> str:
        return "、".join(self.signers)

    @property
    def print_organ(self) -> str:
        return self.printer or self.signers[0]


@dataclass(frozen=True)
class Register:
    """An agency's register (登记表): one row per document, XLSX or CSV."""

    file: str
    columns: tuple[tuple[str, str], ...]  # (field, column heading), in column order
    chinese_retention: bool
    iso_dates: bool
    title: str = ""  # XLSX: the workbook's title
    sheet: str = "Sheet1"  # XLSX: the sheet's name
    created: dt.datetime | None = None  # XLSX: the workbook's created/modified date
    encoding: str = "utf-8"  # CSV


@dataclass(frozen=True)
class Agency:
    """One agency of the city, as written to city.toml, and how it gives its metadata."""

    code: str
    name: str
    fonds: str
    fonds_name: str
    unit: str
    drop: str
    accepted_formats: tuple[str, ...]
    metadata: str  # "sidecars" or "register"
    register: Register | None = None


@dataclass(frozen=True)
class BadCase:
    """One bad input: a document in bad/<code>/, broken in one way (see corpus.toml)."""

    code: str
    doc: Doc
    file: str = "pdf"
    metadata: str = "sidecar"
    sidecar_drop: tuple[str, ...] = ()
    sidecar_set: tuple[tuple[str, Any], ...] = ()
    keep: tuple[int, int] = (1, 1)
    user_password: str = ""
    owner_password: str = ""
    algorithm: str = ""
    javascript: str = ""
    embedded_name: str = ""
    embedded_text: str = ""
    sidecar_longer: tuple[tuple[str, int], ...] = ()  # field -> its value repeated to this many characters
    sidecar_items: tuple[tuple[str, int], ...] = ()  # field -> a list of this many items
    sidecar_nest: tuple[tuple[str, int], ...] = ()  # field -> its value inside this many nested arrays
    link_to: str = ""  # file "link": the key of the [[doc]] the link points to (in its drop folder)
    register: str = "登记表.csv"  # metadata "register": the register's name


@dataclass(frozen=True)
class City:
    """The whole corpus."""

    header: tuple[str, ...]  # comment lines at the top of city.toml
    creator: str
    creator_version: str
    retention_labels: tuple[tuple[str, str], ...]
    agencies: tuple[Agency, ...]
    docs: tuple[Doc, ...]
    bad: tuple[BadCase, ...]

    def retention_label(self, code: str) -> str:
        return dict(self.retention_labels)[code]


def _tuples(value: Any) -> Any:
    """TOML arrays as tuples, recursively (the dataclasses are frozen and hashable)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _build(cls: type, table: dict[str, Any], where: str, **extra: Any) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise CorpusError(f"{where}: unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**{k: _tuples(v) for k, v in table.items()}, **extra)
    except TypeError as e:
        raise CorpusError(f"{where}: {e}") from None


def _doc(table: dict[str, Any], defaults: dict[str, Any], where: str) -> Doc:
    fields = {**defaults, **table}
    attachments = tuple(_build(Attachment, a, f"{where}, attachment {i + 1}")
                        for i, a in enumerate(fields.pop("attachments", [])))
    doc: Doc = _build(Doc, fields, where, attachments=attachments)
    if doc.fmt not in FORMATS:
        raise CorpusError(f"{where}: fmt {doc.fmt!r} is not one of {', '.join(FORMATS)}")
    for text in (doc.path, *(a.path for a in doc.attachments)):
        if text.startswith("/") or ".." in Path(text).parts:
            raise CorpusError(f"{where}: path {text!r} must stay inside the drop folder")
    return doc


def _agency(table: dict[str, Any], where: str) -> Agency:
    fields = dict(table)
    register = None
    if "register" in fields:
        reg = dict(fields.pop("register"))
        reg["columns"] = tuple(reg.get("columns", {}).items())
        register = _build(Register, reg, f"{where}, register")
    agency: Agency = _build(Agency, fields, where, register=register)
    if (agency.metadata == "register") != (register is not None) or agency.metadata not in ("sidecars", "register"):
        raise CorpusError(f"{where}: metadata must be 'sidecars', or 'register' with a [agency.register] table")
    if register is not None and register.file.endswith(".xlsx") and register.created is None:
        raise CorpusError(f"{where}, register: an XLSX register needs `created`")
    if register is not None and not register.file.endswith((".xlsx", ".csv")):
        raise CorpusError(f"{where}, register: file must end in .xlsx or .csv")
    if agency.drop.startswith("/") or ".." in Path(agency.drop).parts:
        raise CorpusError(f"{where}: drop {agency.drop!r} must stay inside the output folder")
    return agency


def _bad(table: dict[str, Any], template: dict[str, Any], defaults: dict[str, Any], where: str) -> BadCase:
    fields = dict(table)
    n = fields.pop("n")
    doc_fields = {k: v.format(n=n) if isinstance(v, str) else v for k, v in template.items()}
    doc_fields.update(title=fields.pop("title"), **fields.pop("doc", {}))
    doc = _doc(doc_fields, defaults, where)
    for name in ("sidecar_set", "sidecar_longer", "sidecar_items", "sidecar_nest"):
        fields[name] = tuple(fields.get(name, {}).items())
    case: BadCase = _build(BadCase, fields, where, doc=doc)
    if case.file not in BAD_FILES or case.metadata not in BAD_METADATA:
        raise CorpusError(f"{where}: file must be one of {', '.join(BAD_FILES)}; "
                          f"metadata one of {', '.join(BAD_METADATA)}")
    if not case.code.isidentifier() or not case.code.isupper():
        raise CorpusError(f"{where}: code {case.code!r} is not a finding code")
    _check_growth(case, where)
    if (case.file == "link") != bool(case.link_to):
        raise CorpusError(f"{where}: link_to goes with file = \"link\", and only with it")
    if case.metadata == "register" and case.register not in BAD_REGISTERS:
        raise CorpusError(f"{where}: register {case.register!r} is not one of {', '.join(BAD_REGISTERS)}")
    if case.metadata == "xml":
        unknown = sorted({k for k, _ in case.sidecar_set} - set(XML_FIELDS))
        if unknown:
            raise CorpusError(f"{where}: an xml sidecar cannot say {', '.join(unknown)}")
    return case


def _check_growth(case: BadCase, where: str) -> None:
    grown = (*case.sidecar_longer, *case.sidecar_items, *case.sidecar_nest)
    if grown and case.metadata != "sidecar":
        raise CorpusError(f"{where}: sidecar_longer, sidecar_items and sidecar_nest need metadata = \"sidecar\"")
    for key, n in grown:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= MAX_GROWTH:
            raise CorpusError(f"{where}: {key}: {n!r} is not a count from 1 to {MAX_GROWTH:,}")


def load_city(path: Path = CORPUS) -> City:
    """Read and check the corpus; raises CorpusError with one line naming what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CorpusError(f"{path}: cannot read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: not a TOML file: {e}") from None
    try:
        city = data["city"]
        defaults = {**data.get("doc_defaults", {}), "creator": city["creator"]}
        agencies = tuple(_agency(a, f"{path.name}: agency {i + 1}") for i, a in enumerate(data["agency"]))
        docs = tuple(_doc(d, defaults, f"{path.name}: doc {d.get('key', i + 1)}") for i, d in enumerate(data["doc"]))
        bad = tuple(_bad(b, data["bad_template"], defaults, f"{path.name}: bad {b.get('n', i + 1)}")
                    for i, b in enumerate(data["bad"]))
        labels = tuple((str(k), str(v)) for k, v in data["retention_labels"].items())
        result = City(header=tuple(city["header"]), creator=city["creator"], creator_version=city["creator_version"],
                      retention_labels=labels, agencies=agencies, docs=docs, bad=bad)
    except KeyError as e:
        raise CorpusError(f"{path.name}: missing {e.args[0]!r}") from None
    codes = {a.code for a in agencies}
    for doc in docs:
        if doc.agency not in codes:
            raise CorpusError(f"{path.name}: doc {doc.key}: unknown agency {doc.agency!r}")
        if doc.retention not in dict(labels):
            raise CorpusError(f"{path.name}: doc {doc.key}: unknown retention {doc.retention!r}")
    keys = {doc.key for doc in docs}
    for case in bad:
        if case.link_to and case.link_to not in keys:
            raise CorpusError(f"{path.name}: bad {case.doc.key}: link_to {case.link_to!r} is not a document's key")
    registers = [(case.code, case.register) for case in bad if case.metadata == "register"]
    if len(registers) != len(set(registers)):
        raise CorpusError(f"{path.name}: two bad inputs write the same register; give each folder one")
    return result
