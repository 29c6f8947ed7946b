"""The committed sample city in samples/: agencies, documents, metadata and the bad inputs.

These tests read the committed files only (they never run samples/make_samples.py), so they are
fast and need no CJK font.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from lxml import etree
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from govarc import limits
from govarc.domain import Classification, Retention
from govarc.errors import MetadataError
from govarc.findings import CODES, Kind, Level
from govarc.package.metadata import normalise_keys, parse_date

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
BAD = SAMPLES / "bad"
OFD_NS = "http://www.ofdspec.org/2016"
RECORD_NS = "urn:govarc:record:1"
REGISTER_NAMES = ("register.csv", "register.xlsx", "登记表.csv", "登记表.xlsx")
# 发文字号: organ abbreviation + year in 〔〕, [] or () + number + 号
NUMBER = re.compile(r"[\u4e00-\u9fff]{2,8}[〔\[(（]\d{4}[〕\])）]\d+号")
DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


@dataclass(frozen=True)
class Rec:
    """One record of a drop folder: its main document, normalised metadata and attachments."""

    main: Path
    meta: dict[str, object]
    attachments: tuple[Path, ...]
    source: Path  # the sidecar or register it came from


def _split(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in re.split(r"[;；]", str(value or "")) if v.strip()]


def _xml_sidecar(path: Path) -> dict[str, object]:
    root = etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.tag == f"{{{RECORD_NS}}}record", path
    ns = {"r": RECORD_NS}
    out: dict[str, object] = {}
    for key, xp in (("title", "r:title"), ("document_number", "r:documentNumber"), ("date", "r:date"),
                    ("classification", "r:classification"), ("retention", "r:retention")):
        el = root.find(xp, ns)
        if el is not None:
            out[key] = el.text
    out["issuer"] = [e.text for e in root.iterfind("r:issuer", ns)]
    return out


def _register_rows(path: Path) -> list[dict[str, object]]:
    if path.suffix == ".xlsx":
        rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
        rows = list(csv.reader(io.StringIO(text)))
    header = [str(h).strip() for h in rows[0]]
    return [dict(zip(header, row)) for row in rows[1:] if any(c not in (None, "") for c in row)]


def records(drop: Path) -> list[Rec]:
    """Every record of a drop folder, read the way specs/ingest.md describes."""
    out = []
    registers = [drop / n for n in REGISTER_NAMES if (drop / n).is_file()]
    for reg in registers:
        for row in _register_rows(reg):
            meta = normalise_keys({k: v for k, v in row.items()})
            name = row.get("文件名") or row.get("计算机文件名") or row.get("file")
            atts = tuple(drop / a for a in _split(meta.get("附件", meta.get("attachments"))))
            out.append(Rec(drop / str(name), meta, atts, reg))
    for side in sorted(drop.rglob("*")):
        if side.suffix not in (".json", ".xml") or side.name.startswith("."):
            continue
        meta = (normalise_keys(json.loads(side.read_text("utf-8-sig"))) if side.suffix == ".json"
                else _xml_sidecar(side))
        mains = [p for p in side.parent.iterdir() if p.stem == side.stem and p != side and p.suffix not in (".json", ".xml")]
        assert len(mains) == 1, f"{side}: expected exactly one main document beside it, found {mains}"
        atts = tuple(drop / a for a in _split(meta.get("附件", meta.get("attachments"))))
        out.append(Rec(mains[0], meta, atts, side))
    return out


def _city() -> list[dict[str, object]]:
    return tomllib.loads((SAMPLES / "city.toml").read_text("utf-8"))["agency"]


CITY = _city()
ALL = [(a["code"], r) for a in CITY for r in records(SAMPLES / str(a["drop"]))]


def _pdf_text(path: Path) -> tuple[str, str]:
    reader = PdfReader(path)
    pages = [p.extract_text() for p in reader.pages]
    return pages[0], "\n".join(pages)


# ---------------------------------------------------------------------------------------------- city


def test_city_toml_describes_three_agencies_with_drop_folders() -> None:
    assert len(CITY) >= 3
    codes = [a["code"] for a in CITY]
    assert len(set(codes)) == len(codes)
    for a in CITY:
        assert re.fullmatch(r"[A-Za-z0-9]{1,16}", a["code"])
        assert re.fullmatch(r"[A-Za-z0-9]{1,16}", a["fonds"]) and re.fullmatch(r"[A-Za-z0-9]{1,16}", a["unit"])
        assert a["name"] and a["fonds_name"]
        assert not Path(a["drop"]).is_absolute() and ".." not in Path(a["drop"]).parts
        assert (SAMPLES / a["drop"]).is_dir(), a["drop"]
        assert isinstance(a["allow_classified"], bool)
        assert a["accepted_formats"] and all(re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", f) for f in a["accepted_formats"])


def test_at_least_30_documents_across_the_agencies() -> None:
    assert len(ALL) >= 30
    per_agency = {code: sum(1 for c, _ in ALL if c == code) for code in (a["code"] for a in CITY)}
    assert all(n >= 5 for n in per_agency.values()), per_agency


def test_every_file_in_a_drop_folder_belongs_to_a_record() -> None:
    for a in CITY:
        drop = SAMPLES / a["drop"]
        recs = records(drop)
        known = {r.main for r in recs} | {p for r in recs for p in r.attachments} | {r.source for r in recs}
        files = {p for p in drop.rglob("*") if p.is_file()}
        assert files == known, f"{a['code']}: stray {sorted(files - known)}, missing {sorted(known - files)}"
        mains = [r.main for r in recs]
        assert len(mains) == len(set(mains)), f"{a['code']}: a document is described twice"


def test_metadata_styles_sidecars_and_registers() -> None:
    sources = {(code, r.source.suffix) for code, r in ALL}
    by_agency = {code: {s for c, s in sources if c == code} for code, _ in sources}
    assert any(by_agency[c] >= {".json", ".xml"} for c in by_agency), "one agency uses JSON and XML sidecars"
    assert any(".xlsx" in s for s in by_agency.values()), "one agency uses an XLSX register"
    assert any(".csv" in s for s in by_agency.values()), "one agency uses a CSV register"


def test_formats_are_mixed() -> None:
    suffixes = {r.main.suffix.lower() for _, r in ALL}
    assert {".pdf", ".ofd", ".docx"} <= suffixes
    assert suffixes & {".jpg", ".jpeg", ".tif", ".tiff"}
    assert sum(1 for _, r in ALL if r.attachments) >= 5


def test_metadata_is_complete_and_valid() -> None:
    retentions, classes = set(), set()
    for code, r in ALL:
        m = r.meta
        assert r.main.is_file(), r.main
        for a in r.attachments:
            assert a.is_file(), f"{r.source}: attachment {a} missing"
        assert str(m.get("title", "")).strip(), r.source
        assert m.get("issuer"), r.source
        retentions.add(Retention.parse(str(m["retention"])))
        cls = Classification.parse(str(m["classification"]))
        assert not cls.classified, r.source
        classes.add(cls)
        if "date" in m:
            parse_date(m["date"])
        if "document_number" in m:
            assert NUMBER.fullmatch(str(m["document_number"])), m["document_number"]
    assert retentions == set(Retention)
    assert classes == {Classification.PUBLIC, Classification.INTERNAL}


def test_some_records_leave_number_and_date_to_the_text() -> None:
    omitted = [r for _, r in ALL if "date" not in r.meta or "document_number" not in r.meta]
    assert any("date" not in r.meta and "document_number" not in r.meta for r in omitted)
    assert len(omitted) >= 4
    # only documents whose text can be read may leave them out
    assert all(r.main.suffix == ".pdf" for r in omitted)


# ---------------------------------------------------------------------------------------------- PDF


def test_every_main_pdf_prints_its_number_and_date() -> None:
    disagreements = []
    pdfs = [r for _, r in ALL if r.main.suffix == ".pdf"]
    assert len(pdfs) >= 20
    for r in pdfs:
        first, text = _pdf_text(r.main)
        number = NUMBER.search(first)
        assert number, f"{r.main}: no document number on page 1"
        assert DATE.search(first), f"{r.main}: no date on page 1"
        if "document_number" in r.meta:
            assert number.group(0) == r.meta["document_number"], r.main
        printed = DATE.findall(text)[-1]  # the 成文日期 / 印发日期, after any date cited in the body
        if "date" in r.meta and parse_date(r.meta["date"]) != parse_date(f"{printed[0]}年{printed[1]}月{printed[2]}日"):
            disagreements.append(r.main.name)
    # exactly one sample is meant to disagree (INGEST_TEXT_DISAGREES, still ingested)
    assert disagreements == ["柳政办发〔2024〕22号.pdf"]


def test_pdfa_samples_claim_pdfa_and_embed_their_fonts() -> None:
    claims = {}
    for _, r in ALL:
        if r.main.suffix != ".pdf":
            continue
        reader = PdfReader(r.main)
        root = reader.trailer["/Root"]
        if "/Metadata" not in root:
            continue
        xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
        part = re.search(r"<pdfaid:part>(\d)</pdfaid:part>", xmp)
        conf = re.search(r"<pdfaid:conformance>([ABU])</pdfaid:conformance>", xmp)
        assert part and conf, r.main
        claims[r.main.name] = part.group(1) + conf.group(1)
        intents = root["/OutputIntents"]
        assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
        assert intents[0].get_object()["/DestOutputProfile"].get_object().get_data()[36:40] == b"acsp"
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                descriptor = font.get_object()["/FontDescriptor"].get_object()
                assert "/FontFile2" in descriptor, f"{r.main}: font not embedded"
        assert reader.pdf_header == ("%PDF-1.4" if part.group(1) == "1" else "%PDF-1.7")
    assert sorted(claims.values()) == ["1B", "2B"], claims


def test_attachment_pdfs_open() -> None:
    for _, r in ALL:
        for a in r.attachments:
            if a.suffix == ".pdf":
                assert PdfReader(a).pages[0].extract_text().strip(), a
            elif a.suffix == ".xlsx":
                rows = list(load_workbook(a, read_only=True).active.iter_rows(values_only=True))
                assert len(rows) >= 2, a


# ---------------------------------------------------------------------------------------------- OFD, DOCX, scans


def test_ofd_samples_are_ofd_packages_with_the_text() -> None:
    ofds = [r for _, r in ALL if r.main.suffix == ".ofd"]
    assert ofds
    for r in ofds:
        with zipfile.ZipFile(r.main) as z:
            assert z.testzip() is None
            root = etree.fromstring(z.read("OFD.xml"))
            assert root.tag == f"{{{OFD_NS}}}OFD"
            doc_root = root.findtext(f"{{{OFD_NS}}}DocBody/{{{OFD_NS}}}DocRoot")
            document = etree.fromstring(z.read(doc_root))
            base = doc_root.rsplit("/", 1)[0]
            texts = []
            for page in document.iterfind(f"{{{OFD_NS}}}Pages/{{{OFD_NS}}}Page"):
                content = etree.fromstring(z.read(f"{base}/{page.get('BaseLoc')}"))
                texts += [t.text for t in content.iter(f"{{{OFD_NS}}}TextCode")]
        text = "\n".join(texts)
        assert NUMBER.search(text) and DATE.search(text), r.main
        if "document_number" in r.meta:
            assert str(r.meta["document_number"]) in text


def test_docx_samples_open_with_python_docx() -> None:
    docs = [r for _, r in ALL if r.main.suffix == ".docx"]
    assert docs
    for r in docs:
        d = docx.Document(str(r.main))
        text = "\n".join(p.text for p in d.paragraphs)
        assert str(r.meta["document_number"]) in text and DATE.search(text), r.main
        assert d.core_properties.title == r.meta["title"]


def test_scans_are_small_greyscale_images_with_full_metadata() -> None:
    scans = [r for _, r in ALL if r.main.suffix.lower() in (".jpg", ".jpeg", ".tif", ".tiff")]
    assert {s.main.suffix for s in scans} >= {".jpg", ".tif"}
    for r in scans:
        with Image.open(r.main) as img:
            img.load()
            assert img.mode in ("L", "1")
            assert 500 <= img.width <= 1000 and img.height > img.width
        assert r.main.stat().st_size < 80_000
        # a scan has no text layer: its number and date must come from the metadata
        assert "document_number" in r.meta and "date" in r.meta


# ---------------------------------------------------------------------------------------------- bad inputs


def _bad(code: str) -> Path:
    return BAD / code


# Ingest error codes with no committed folder, each with why and which tests make its inputs at run time.
NOT_IN_GIT = {
    "INGEST_NOT_REGULAR": (
        "a FIFO, socket or device file cannot be committed to git (git stores files, folders and links only)",
        ("tests/ingest/test_never_blocks.py", "tests/ingest/test_confinement.py"),
    ),
}


def test_bad_folders_are_named_by_ingest_codes() -> None:
    folders = [p for p in BAD.iterdir()]
    assert all(p.is_dir() and not p.is_symlink() for p in folders)
    for p in folders:
        assert p.name in CODES and CODES[p.name].kind is Kind.INGEST, p.name
        files = [f for f in p.rglob("*") if f.is_file() or f.is_symlink()]
        assert files, p
        assert not any(f.stem.upper() == "README" for f in files)
    errors = {c for c, info in CODES.items() if info.kind is Kind.INGEST and info.level is Level.ERROR}
    # every ingest error has its folder, but those git cannot hold; an exemption is never stale
    assert errors - {p.name for p in folders} == set(NOT_IN_GIT)
    assert "INGEST_EXTENSION_MISMATCH" in {p.name for p in folders}


@pytest.mark.parametrize("code", sorted(NOT_IN_GIT))
def test_codes_git_cannot_hold_are_made_at_run_time_by_the_ingest_tests(code: str) -> None:
    reason, tests = NOT_IN_GIT[code]
    root = SAMPLES.parent
    for name in tests:
        text = (root / name).read_text("utf-8")
        assert code in text and "os.mkfifo(" in text, f"{name} no longer makes a FIFO and expects {code}"
    readme = (SAMPLES / "README.md").read_text("utf-8")
    assert f"`{code}`" in readme and all(Path(t).name in readme for t in tests)


def _bad_sidecar(path: Path) -> dict[str, object]:
    return normalise_keys(json.loads(path.with_suffix(".json").read_text("utf-8")))


def test_bad_metadata_missing() -> None:
    files = list(_bad("INGEST_METADATA_MISSING").iterdir())
    assert [f.suffix for f in files] == [".pdf"]


def test_bad_metadata_unreadable() -> None:
    folder = _bad("INGEST_METADATA_UNREADABLE")
    sidecars = [f for f in folder.iterdir() if f.suffix in (".json", ".xml")]
    assert {f.suffix for f in sidecars} == {".json", ".xml"}
    for f in sidecars:
        with pytest.raises((json.JSONDecodeError, etree.XMLSyntaxError)):
            json.loads(f.read_text("utf-8")) if f.suffix == ".json" else etree.fromstring(f.read_bytes())
        assert f.with_suffix(".pdf").is_file()


def test_bad_field_missing_and_invalid() -> None:
    missing = [_bad_sidecar(p) for p in _bad("INGEST_FIELD_MISSING").glob("*.pdf")]
    assert len(missing) == 2
    assert any("title" not in m for m in missing) and any("retention" not in m for m in missing)
    invalid = [_bad_sidecar(p) for p in _bad("INGEST_FIELD_INVALID").glob("*.pdf")]
    assert len(invalid) == 2
    problems = []
    for m in invalid:
        for check, key in ((parse_date, "date"), (Retention.parse, "retention"), (Classification.parse, "classification")):
            try:
                check(str(m[key]))
            except MetadataError:
                problems.append(key)
    assert sorted(problems) == ["date", "retention"]


def test_bad_classified() -> None:
    (pdf,) = _bad("INGEST_CLASSIFIED").glob("*.pdf")
    assert Classification.parse(str(_bad_sidecar(pdf)["classification"])).classified
    assert "秘密" in PdfReader(pdf).pages[0].extract_text()


def test_bad_encrypted() -> None:
    pdfs = sorted(_bad("INGEST_ENCRYPTED").glob("*.pdf"))
    assert len(pdfs) == 2
    opened = []
    for p in pdfs:
        reader = PdfReader(p)
        assert reader.is_encrypted
        opened.append(bool(reader.decrypt("")))
    assert sorted(opened) == [False, True]  # one needs a password, one is only owner-locked


def test_bad_unreadable() -> None:
    pdfs = sorted(_bad("INGEST_UNREADABLE").glob("*.pdf"), key=lambda p: p.stat().st_size)
    assert pdfs[0].stat().st_size == 0
    truncated = pdfs[1].read_bytes()
    assert truncated.startswith(b"%PDF-") and b"%%EOF" not in truncated
    with pytest.raises(PdfReadError):
        PdfReader(pdfs[1], strict=True)


def test_bad_active_content() -> None:
    found = set()
    for p in _bad("INGEST_ACTIVE_CONTENT").glob("*.pdf"):
        root = PdfReader(p).trailer["/Root"]
        action = root.get("/OpenAction")
        if action is not None and action.get_object().get("/S") == "/JavaScript":
            found.add("javascript")
        if "/Names" in root and "/EmbeddedFiles" in root["/Names"]:
            found.add("embedded")
    assert found == {"javascript", "embedded"}


def test_bad_attachment_missing() -> None:
    (pdf,) = _bad("INGEST_ATTACHMENT_MISSING").glob("*.pdf")
    atts = _bad_sidecar(pdf)["附件"]
    assert atts and not any((pdf.parent / a).exists() for a in atts)


def test_bad_extension_mismatch_is_a_jpeg() -> None:
    (pdf,) = _bad("INGEST_EXTENSION_MISMATCH").glob("*.pdf")
    assert pdf.read_bytes()[:3] == b"\xff\xd8\xff"
    assert CODES["INGEST_EXTENSION_MISMATCH"].level is Level.WARNING


def test_bad_sidecars_are_otherwise_valid() -> None:
    """Each bad folder should raise its own code, not a metadata error it did not ask for."""
    for code in ("INGEST_CLASSIFIED", "INGEST_ENCRYPTED", "INGEST_UNREADABLE", "INGEST_ACTIVE_CONTENT",
                 "INGEST_ATTACHMENT_MISSING", "INGEST_EXTENSION_MISMATCH"):
        for pdf in _bad(code).glob("*.pdf"):
            m = _bad_sidecar(pdf)
            assert m["title"] and m["issuer"] and m["document_number"], pdf
            Retention.parse(str(m["retention"]))
            Classification.parse(str(m["classification"]))
            parse_date(m["date"])


def _sidecar_bytes(folder: str) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(_bad(folder).iterdir()) if f.suffix in (".json", ".xml")}


def test_bad_unsafe_path_names_paths_outside_the_folder() -> None:
    folder = _bad("INGEST_UNSAFE_PATH")
    named = []
    for pdf in sorted(folder.glob("*.pdf")):
        assert PdfReader(pdf).pages[0].extract_text().strip(), pdf  # a real document beside each sidecar
        sidecar = next(pdf.with_suffix(s) for s in (".json", ".xml") if pdf.with_suffix(s).is_file())
        if sidecar.suffix == ".json":
            m = _bad_sidecar(pdf)
            assert m["title"] and m["issuer"] and m["document_number"]
            named += list(m["附件"])
        else:
            root = etree.fromstring(sidecar.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
            assert root.findtext(f"{{{RECORD_NS}}}title")
            named += [e.text for e in root.iter(f"{{{RECORD_NS}}}name")]
    (register,) = folder.glob("*.csv")
    rows = list(csv.DictReader(io.StringIO(register.read_text("utf-8"))))
    assert len(rows) == 1 and rows[0]["题名"] and rows[0]["保管期限"]
    named.append(rows[0]["文件名"])
    assert sorted(named) == sorted(["../../city.toml", "/etc/passwd", "..\\..\\x"])
    # ../../city.toml from bad/INGEST_UNSAFE_PATH/ is the city's real configuration: worth stealing
    assert (folder / "../../city.toml").resolve() == (SAMPLES / "city.toml").resolve()
    # the register's row names no file of the folder: every file is a PDF, its sidecar or the register
    assert {f.suffix for f in folder.iterdir()} == {".pdf", ".json", ".xml", ".csv"}


def _json_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def test_bad_too_large_passes_each_metadata_limit_in_a_few_kilobytes() -> None:
    sidecars = _sidecar_bytes("INGEST_TOO_LARGE")
    assert len(sidecars) == 3
    over = set()
    for name, data in sidecars.items():
        assert len(data) < 16 * 1024, name
        pdf = _bad("INGEST_TOO_LARGE") / name.replace(".json", ".pdf")
        assert PdfReader(pdf).pages[0].extract_text().strip(), pdf
        text = data.decode("utf-8")
        if _json_depth(text) > limits.MAX_JSON_DEPTH:
            assert _json_depth(text) >= 2000
            over.add("depth")
            continue
        m = normalise_keys(json.loads(text))
        if len(m["title"]) > limits.MAX_FIELD_CHARS:
            over.add("field")
        if isinstance(m.get("keywords"), list) and len(m["keywords"]) > limits.MAX_LIST_ITEMS:
            over.add("list")
        assert m["issuer"] and m["document_number"] and m["retention"], name
    assert over == {"depth", "field", "list"}


def test_bad_link_is_a_relative_link_into_the_city_drop_folder() -> None:
    folder = _bad("INGEST_LINK")
    (doc,) = [f for f in folder.iterdir() if f.suffix == ".pdf"]
    assert doc.is_symlink()
    target = Path(os.readlink(doc))
    assert not target.is_absolute() and target.parts[:2] == ("..", "..")
    resolved = doc.resolve(strict=True)
    assert resolved.is_relative_to((SAMPLES / "drop").resolve()) and resolved.read_bytes().startswith(b"%PDF-")
    m = _bad_sidecar(doc)
    assert m["title"] and m["issuer"] and m["document_number"]
    parse_date(m["date"])


# ---------------------------------------------------------------------------------------------- docs and size


def test_readme_documents_keys_and_bad_codes() -> None:
    readme = (SAMPLES / "README.md").read_text("utf-8")
    for key in ("code", "name", "fonds", "fonds_name", "unit", "drop", "accepted_formats", "allow_classified"):
        assert f"`{key}`" in readme, key
    for p in BAD.iterdir():
        assert f"`{p.name}`" in readme, p.name
    assert "veraPDF" in readme


def test_samples_stay_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 1_500_000, total
