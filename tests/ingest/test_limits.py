"""Bounded metadata at ingest (issue 7, item 3): sizes, depths, field lengths, list lengths, rows, bombs.

Each input over a limit of govarc.limits is refused as INGEST_TOO_LARGE naming the file (and the
field), never a RecursionError, a traceback or gigabytes of memory; the rest of the batch goes on.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from govarc.limits import (
    MAX_FIELD_CHARS, MAX_JSON_DEPTH, MAX_LIST_ITEMS, MAX_REGISTER_BYTES, MAX_REGISTER_ROWS, MAX_SIDECAR_BYTES,
    MAX_XML_DEPTH, MAX_ZIP_ENTRIES,
)
from govarc.package.metadata import NS
from tests.citykit import ingest_into as run
from tests.citykit import make_doc
from tests.ingest.hostile import (
    META, catalog_rows, doc, objects, register_csv, register_row, register_xlsx, sidecar_json, sidecar_xml,
)


def _refused_as(ws, drop: Path, report, main: Path) -> list[tuple[str, str, str]]:
    """The findings of ``main``'s refusal as (code, path, message); asserts the good document went through."""
    (o,) = [o for o in report.outcomes if o.path == str(main)]
    assert o.status == "refused"
    assert report.count("registered") == 1 and len(catalog_rows(ws)) == 1 and len(objects(ws)) == 1
    return [(f.code, f.path, f.message) for f in o.findings]


def _deep_json(depth: int, kind: str) -> bytes:
    if kind == "arrays":
        return ("[" * depth + "]" * depth).encode()
    if kind == "objects":
        return ('{"a":' * depth + "1" + "}" * depth).encode()
    # a real sidecar whose 题名 holds the nesting
    inner = "[" * depth + "]" * depth
    return json.dumps(META, ensure_ascii=False)[:-1].encode() + b', "\xe9\xa2\x98\xe5\x90\x8d2": ' + inner.encode() + b"}"


@pytest.mark.parametrize("kind", ["arrays", "objects", "in-a-field"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2_000, 100_000])
def test_deep_json_is_too_large_never_a_recursion_error(ws, tmp_path, kind, depth):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    (drop / "doc.json").write_bytes(_deep_json(depth, kind))
    found = _refused_as(ws, drop, run(ws, drop), pdf)
    assert found == [("INGEST_TOO_LARGE", str(drop / "doc.json"), f"JSON is nested more than {MAX_JSON_DEPTH} levels deep")]


def test_the_four_kilobyte_json_of_the_issue(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    data = _deep_json(2_000, "arrays")
    assert len(data) == 4_000
    (drop / "doc.json").write_bytes(data)
    assert [c for c, _, _ in _refused_as(ws, drop, run(ws, drop), pdf)] == ["INGEST_TOO_LARGE"]


def test_brackets_inside_json_strings_are_not_nesting(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "doc.pdf")
    sidecar_json(drop / "doc.json", 附注='[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{{{{{{{{{ \\" [[[[[[[[[[[[[[[[[[[[')
    assert run(ws, drop).count("registered") == 1


@pytest.mark.parametrize("depth", [MAX_XML_DEPTH + 1, 300, 20_000])
def test_deep_xml_sidecar_is_too_large(ws, tmp_path, depth):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    nest = "<note>" * (depth - 1) + "x" + "</note>" * (depth - 1)
    (drop / "doc.xml").write_text(f'<record xmlns="{NS}">{nest}</record>', encoding="utf-8")
    found = _refused_as(ws, drop, run(ws, drop), pdf)
    assert found == [("INGEST_TOO_LARGE", str(drop / "doc.xml"), f"XML is nested more than {MAX_XML_DEPTH} levels deep")]


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_a_sidecar_over_its_size_limit_is_refused_before_it_is_read(ws, tmp_path, suffix):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    big = "题" * (MAX_SIDECAR_BYTES // 3 + 1)  # 3 bytes each in UTF-8
    sidecar_json(drop / "doc.json", 题名=big) if suffix == ".json" else sidecar_xml(drop / "doc.xml", title=big)
    ((code, path, message),) = _refused_as(ws, drop, run(ws, drop), pdf)
    assert (code, path) == ("INGEST_TOO_LARGE", str(drop / f"doc{suffix}"))
    assert "over the limit of 1,048,576" in message


@pytest.mark.parametrize("carrier", ["json", "xml", "csv", "xlsx"])
@pytest.mark.parametrize(("key", "label"), [("title", "题名 (title)"), ("note", "附注 (note)"),
                                           ("document_number", "文件编号 (document_number)")])
def test_a_field_over_its_length_is_refused_naming_it(ws, tmp_path, carrier, key, label):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    value = "长" * (MAX_FIELD_CHARS + 1)
    if carrier == "json":
        sidecar_json(drop / "doc.json", **{key: value})
        where = str(drop / "doc.json")
    elif carrier == "xml":
        xml_key = {"title": "title", "note": "note", "document_number": "documentNumber"}[key]
        sidecar_xml(drop / "doc.xml", **{xml_key: value})
        where = str(drop / "doc.xml")
    else:
        from tests.ingest.hostile import REGISTER_HEADER

        header = REGISTER_HEADER + [key]
        rows = [header, register_row("doc.pdf") + [value]]
        if carrier == "csv":
            import csv

            with open(drop / "register.csv", "w", encoding="utf-8", newline="") as f:
                csv.writer(f).writerows(rows)
            where = f"{drop / 'register.csv'}:2"
        else:
            import openpyxl

            wb = openpyxl.Workbook()
            for r in rows:
                wb.active.append(r)
            wb.save(drop / "register.xlsx")
            where = f"{drop / 'register.xlsx'}:2"
    report = run(ws, drop)
    refused = [o for o in report.outcomes if o.status == "refused"]
    assert [(f.code, f.path, f.message) for o in refused for f in o.findings] == [
        ("INGEST_TOO_LARGE", where, f"{label} has {MAX_FIELD_CHARS + 1:,} characters, over the limit of {MAX_FIELD_CHARS:,}")]
    assert report.count("registered") == 1 and len(objects(ws)) == 1


def test_a_field_at_its_limit_is_accepted(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "doc.pdf")
    sidecar_json(drop / "doc.json", 题名="长" * MAX_FIELD_CHARS, 主题词=["词"] * MAX_LIST_ITEMS)
    assert run(ws, drop).count("registered") == 1


@pytest.mark.parametrize(("fields", "label"), [
    ({"主题词": ["词"] * (MAX_LIST_ITEMS + 1)}, "主题词 (keywords)"),
    ({"主题词": "；".join(["词"] * (MAX_LIST_ITEMS + 1))}, "主题词 (keywords)"),
    ({"责任者": ["柳州市人民政府"] * (MAX_LIST_ITEMS + 1)}, "责任者 (issuer)"),
    ({"责任者": "、".join(["柳州市人民政府"] * (MAX_LIST_ITEMS + 1))}, "责任者 (issuer)"),
    ({"附件": ["a.pdf"] * (MAX_LIST_ITEMS + 1)}, "附件 (attachments)"),
    ({"主题词": ["词" * (MAX_FIELD_CHARS + 1)]}, "主题词 (keywords)"),
    ({"责任者": "长" * (MAX_FIELD_CHARS + 1)}, "责任者 (issuer)"),
])
def test_a_list_over_its_limits_is_refused_naming_it(ws, tmp_path, fields, label):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    doc(drop, "a.pdf")
    sidecar_json(drop / "doc.json", **fields)
    report = run(ws, drop)
    found = [(c, p, m) for c, p, m in _refused_as(ws, drop, report, pdf) if c == "INGEST_TOO_LARGE"]
    assert len(found) == 1 and found[0][1] == str(drop / "doc.json") and found[0][2].startswith(label)


def test_millions_of_keywords_cost_no_memory(ws, tmp_path):
    """The issue's sidecar of millions of keywords is refused by its size, before it is parsed."""
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    pdf = doc(drop, "doc.pdf")
    sidecar_json(drop / "doc.json", 主题词=["词"] * 2_000_000)
    ((code, path, _),) = _refused_as(ws, drop, run(ws, drop), pdf)
    assert (code, path) == ("INGEST_TOO_LARGE", str(drop / "doc.json"))


# -- registers ----------------------------------------------------------------------------------


def test_a_register_over_its_size_is_refused_before_it_is_read(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    good = make_doc(drop, 1)
    with open(drop / "register.csv", "wb") as f:
        f.write(",".join(["文件名", "题名"]).encode() + b"\n")
        f.truncate(MAX_REGISTER_BYTES + 1)  # sparse: no disk, but its size is over the limit
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.status == "refused"]
    assert [(f.code, f.path) for f in o.findings] == [("INGEST_TOO_LARGE", str(drop / "register.csv"))]
    assert [o.path for o in report.outcomes if o.status == "registered"] == [str(good)]


def test_a_csv_register_over_its_rows_is_refused(ws, tmp_path):
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    row = ",".join(register_row("a.pdf")) + "\n"
    (drop / "register.csv").write_text(",".join(["文件名", "题名", "责任者", "保管期限", "密级", "日期", "附件"]) + "\n"
                                       + row * (MAX_REGISTER_ROWS + 1), encoding="utf-8")
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.status == "refused"]
    assert [(f.code, f.path, f.message) for f in o.findings] == [
        ("INGEST_TOO_LARGE", str(drop / "register.csv"), f"register has more than {MAX_REGISTER_ROWS:,} rows")]
    assert report.count("registered") == 1


def test_an_xlsx_register_over_its_rows_is_refused(ws, tmp_path, monkeypatch):
    """The same check as for CSV, on a smaller limit: writing 100,001 XLSX rows takes too long for a unit test."""
    import govarc.ingest.registers as registers

    monkeypatch.setattr(registers, "MAX_REGISTER_ROWS", 3)
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    register_xlsx(drop / "register.xlsx", [register_row(f"{i}.pdf") for i in range(4)])
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.status == "refused"]
    assert [(f.code, f.message) for f in o.findings] == [("INGEST_TOO_LARGE", "register has more than 3 rows")]


def _xlsx_with(drop: Path, extra: dict[str, bytes], *, count: int = 0) -> Path:
    """A real register.xlsx with extra zip entries added (a bomb, or thousands of entries)."""
    buf = io.BytesIO()
    register_xlsx(tmp := drop / "tmp.xlsx", [register_row("doc.pdf")])
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        for name, data in extra.items():
            dst.writestr(name, data)
        for i in range(count):
            dst.writestr(f"xl/media/e{i}.bin", b"")
    tmp.unlink()
    path = drop / "register.xlsx"
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("bomb", ["ratio", "entries", "total"])
def test_an_xlsx_decompression_bomb_is_refused_before_openpyxl_reads_it(ws, tmp_path, bomb):
    drop = tmp_path / "drop" / "SZF"
    good = make_doc(drop, 1)
    doc(drop, "doc.pdf")
    if bomb == "ratio":
        path = _xlsx_with(drop, {"xl/media/zeros.bin": bytes(20 * 1024 * 1024)})
        expect = "over the compression ratio limit"
    elif bomb == "entries":
        path = _xlsx_with(drop, {}, count=MAX_ZIP_ENTRIES)
        expect = f"over the limit of {MAX_ZIP_ENTRIES:,}"
    else:  # 70 entries of 1 MiB each: no one of them large, together more than a register may hold
        path = _xlsx_with(drop, {f"xl/media/part{i}.bin": bytes(1024 * 1024) for i in range(70)})
        expect = "unpacks to 73,"
    report = run(ws, drop)
    (o,) = [o for o in report.outcomes if o.path == str(path)]
    ((code, p, message),) = [(f.code, f.path, f.message) for f in o.findings]
    assert (code, p) == ("INGEST_TOO_LARGE", str(path)) and expect in message
    assert [o.path for o in report.outcomes if o.status == "registered"] == [str(good)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_register_in_each_encoding_still_works(ws, tmp_path, encoding):
    drop = tmp_path / "drop" / "SZF"
    doc(drop, "通知.pdf")
    register_csv(drop / "登记表.csv", [register_row("通知.pdf")], encoding=encoding)
    assert [o.status for o in run(ws, drop).outcomes] == ["registered"]


# -- peak memory ----------------------------------------------------------------------------------


def test_peak_memory_of_ingest_on_a_hostile_drop_folder(ws, tmp_path):
    """A govarc ingest subprocess on every hostile sidecar above at once stays well under 200 MB."""
    drop = tmp_path / "drop" / "SZF"
    make_doc(drop, 1)
    for i, data in enumerate([
        _deep_json(2_000, "arrays"), _deep_json(100_000, "objects"),
        json.dumps({**META, "主题词": ["词"] * 2_000_000}, ensure_ascii=False).encode(),  # 14 MB
        json.dumps({**META, "题名": "长" * (10 * 1024 * 1024)}, ensure_ascii=False).encode(),  # 30 MB
        json.dumps({**META, "主题词": ["a"] * 200_000}, ensure_ascii=False).encode()[:MAX_SIDECAR_BYTES - 2] + b"]}",
    ]):
        doc(drop, f"j{i}.pdf")
        (drop / f"j{i}.json").write_bytes(data)
    doc(drop, "x.pdf")
    kw = "".join(f'<keyword>{i}</keyword>' for i in range(90_000))
    (drop / "x.xml").write_text(f'<record xmlns="{NS}"><title>t</title><keywords>{kw}</keywords></record>', encoding="utf-8")
    doc(drop / "reg", "r.pdf")
    row = ",".join(register_row("r.pdf", "；".join(["r.pdf"] * 10))) + "\n"
    (drop / "reg" / "register.csv").write_text("文件名,题名,责任者,保管期限,密级,日期,附件\n" + row * (MAX_REGISTER_ROWS + 1),
                                               encoding="utf-8")
    _xlsx_with(drop, {"xl/sharedStrings2.xml": b"<si><t>x</t></si>" * (60 * 1024 * 1024 // 16)})
    # a register just within its limits, as wide as it can be: every column filled, in every row
    from govarc.package.metadata import KEY_ALIASES

    columns = [aliases[0] for aliases in KEY_ALIASES.values()] + ["文件名", "附件"] + [f"x{i}" for i in range(200)]
    wide = ",".join(columns) + "\n" + ("a," * (len(columns) - 1) + "a\n") * (MAX_REGISTER_ROWS // 2)
    assert len(wide) < MAX_REGISTER_BYTES
    (drop / "wide").mkdir()
    (drop / "wide" / "登记表.csv").write_text(wide, encoding="utf-8")
    measure = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    exe = str(Path(sys.executable).with_name("govarc"))
    out = subprocess.run([sys.executable, "-c", measure, exe, "--home", str(ws.home), "ingest", "--agency", "SZF",
                          str(drop)], capture_output=True, text=True, timeout=300)
    code, max_rss_kib = (int(x) for x in out.stdout.split())
    assert code == 3, out.stderr
    assert max_rss_kib < 200 * 1024, f"peak RSS {max_rss_kib / 1024:.0f} MB"
    print(f"peak RSS {max_rss_kib / 1024:.0f} MB")
    assert len(catalog_rows(ws)) == 1
