"""Metadata: JSON (Chinese or English keys) and XML in, record.xml out, valid against the XSD."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from govarc.domain import ArchivalCode, Classification, Retention
from govarc.errors import MetadataError
from govarc.package.metadata import (
    FileInfo,
    load_metadata,
    parse_date,
    record_from_dict,
    record_from_xml,
    record_to_xml,
)

SPECS = Path(__file__).resolve().parents[2] / "specs"

ENGLISH = {
    "archival_code": "0012-WS·2007-Y-BGS-0012",
    "title": "柳州市人民政府关于做好2007年春季植树造林工作的通知",
    "document_number": "柳政发〔2007〕12号",
    "issuer": ["柳州市人民政府"],
    "date": "2007-03-05",
    "classification": "public",
    "agency_code": "LZ0012",
    "fonds_name": "柳州市人民政府",
    "creator_name": "柳州市人民政府办公室",
    "page_count": "2",
    "keywords": ["林业", "植树", "通知"],
    "main": "正文.pdf",
}


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    """specs/record.xsd loaded with plain lxml, independently of govarc's loader."""
    return etree.XMLSchema(etree.parse(str(SPECS / "record.xsd")))


def with_files(record):
    return record.with_files(
        (
            FileInfo("正文.pdf", 42, "application/pdf", "PDF", "1.4", (("sha256", "ab" * 32), ("sm3", "cd" * 32)), "main"),
            FileInfo("附件/说明.txt", 0, "text/plain", "Plain text", None, (("sha256", "ef" * 32),), "attachment"),
        )
    )


def test_chinese_and_english_keys_give_the_same_record(tmp_path: Path, metadata_writer) -> None:
    zh = load_metadata(metadata_writer(tmp_path / "zh.json"))
    en_path = tmp_path / "en.json"
    en_path.write_text(json.dumps(ENGLISH, ensure_ascii=False), encoding="utf-8")
    en = load_metadata(en_path)
    assert zh == en
    assert str(zh.archival_code) == "0012-WS·2007-Y-BGS-0012"
    assert zh.retention is Retention.PERMANENT
    assert zh.classification is Classification.PUBLIC
    assert zh.date == dt.date(2007, 3, 5)
    assert zh.keywords == ("林业", "植树", "通知")
    assert zh.page_count == 2 and zh.item_count == 1
    assert zh.main_file == "正文.pdf"


def test_archival_code_from_its_parts(sample_record_data: dict) -> None:
    data = {k: v for k, v in sample_record_data.items() if k != "档号"}
    data.update({"全宗号": "0012", "门类代码": "WS", "年度": 2007, "保管期限": "永久", "机构问题代码": "BGS", "件号": 12})
    assert str(record_from_dict(data).archival_code) == "0012-WS·2007-Y-BGS-0012"


def test_record_xml_is_valid_against_the_xsd(xsd: etree.XMLSchema, sample_record_data: dict) -> None:
    record = with_files(record_from_dict(sample_record_data))
    doc = etree.fromstring(record_to_xml(record)).getroottree()
    assert xsd.validate(doc), xsd.error_log
    # Without files too: metadata handed to the builder may omit them.
    assert xsd.validate(etree.fromstring(record_to_xml(record_from_dict(sample_record_data))).getroottree())


def test_xml_round_trip(tmp_path: Path, sample_record_data: dict) -> None:
    record = with_files(record_from_dict(sample_record_data))
    assert record_from_xml(record_to_xml(record)) == replace(record, main_file=None)  # the role attribute carries it
    path = tmp_path / "record.xml"
    path.write_bytes(record_to_xml(record_from_dict(sample_record_data)))
    loaded = load_metadata(path)
    assert loaded.title == sample_record_data["题名"]
    assert loaded.document_number == "柳政发〔2007〕12号"
    assert loaded.files == ()


def test_xml_metadata_builds_a_package(tmp_path: Path, sample_source: Path, sample_record_data: dict) -> None:
    from govarc.package.build import build_package
    from govarc.package.verify import verify_package

    path = tmp_path / "record.xml"
    path.write_bytes(record_to_xml(record_from_dict(sample_record_data)))
    out = tmp_path / "pkg"
    build_package(sample_source, load_metadata(path), out, durable=False)
    assert verify_package(out).findings == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"档号": "0012-WS-2007-Y-BGS-0012"}, "archival code '0012-WS-2007-Y-BGS-0012' is not 全宗号-门类代码·年度-保管期限-机构代码-件号"),
        ({"档号": "0012-WS·2007-Y-BGS-0000"}, "archival code"),
        ({"档号": "0012-WS·2007-D20-BGS-0001"}, "archival code"),
        ({"日期": "2007年2月30日"}, "date '2007年2月30日' is not a real date"),
        ({"日期": "三月五日"}, "date '三月五日' is not a date like 2007-03-05"),
        ({"密级": "绝密"}, "classification '绝密' is not 公开, 内部, 秘密 or 机密"),
        ({"题名": None}, "required field title (题名) is missing"),
        ({"题名": "   "}, "required field title (题名) is missing"),
        ({"责任者": None}, "required field issuer (责任者) is missing"),
        ({"机构标识": "柳州"}, "agency code '柳州' must be 1-32 letters, digits or hyphens"),
        ({"页数": -1}, "page count (页数) -1 is below 0"),
        ({"件数": "两"}, "item count (件数) '两' is not a whole number"),
        ({"保管期限": "D10"}, "retention 'D10' disagrees with archival code"),
    ],
)
def test_bad_metadata_is_refused_with_a_clear_message(tmp_path: Path, metadata_writer, change: dict, message: str) -> None:
    path = metadata_writer(tmp_path / "bad.json", **change)
    with pytest.raises(MetadataError) as e:
        load_metadata(path)
    text = str(e.value)
    assert message in text
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    assert e.value.exit_code == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON metadata must be an object"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"<record", "not well-formed XML"),
        (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><record xmlns="urn:govarc:record:1">&x;</record>', "DOCTYPE"),
        (b'<record xmlns="urn:govarc:record:1" profileVersion="1"/>', "not valid against record.xsd"),
    ],
)
def test_unreadable_metadata(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "meta.file"
    path.write_bytes(content)
    with pytest.raises(MetadataError, match=message):
        load_metadata(path)


def test_missing_metadata_file(tmp_path: Path) -> None:
    with pytest.raises(MetadataError) as e:
        load_metadata(tmp_path / "nope.json")
    assert str(tmp_path / "nope.json") in str(e.value) and "cannot read metadata" in str(e.value)


@pytest.mark.parametrize(
    "text", ["2007-03-05", "2007/3/5", "2007.03.05", "20070305", "2007年3月5日", "2007年03月05日"]
)
def test_date_forms(text: str) -> None:
    assert parse_date(text) == dt.date(2007, 3, 5)


@pytest.mark.parametrize(
    ("text", "code"), [("永久", "Y"), ("y", "Y"), ("定期30年", "D30"), ("30年", "D30"), ("D10", "D10"), ("定期10年", "D10")]
)
def test_retention_aliases(text: str, code: str) -> None:
    assert Retention.parse(text).value == code


def test_archival_code_parse_and_format() -> None:
    code = ArchivalCode.parse("0012-WS.2007-D30-BGS-7")
    assert (code.fonds, code.category, code.year, code.retention, code.unit, code.item) == (
        "0012", "WS", 2007, Retention.YEARS_30, "BGS", 7,
    )
    assert str(code) == "0012-WS·2007-D30-BGS-0007"
    assert ArchivalCode.parse(str(code)) == code


def test_classified_levels() -> None:
    assert Classification.parse("秘密").classified and Classification.parse("confidential").classified
    assert not Classification.parse("内部").classified


# -- limits (issue 7, item 3): what ingest refuses, the builder refuses too ---------------------------

from govarc.limits import MAX_FIELD_CHARS, MAX_JSON_DEPTH, MAX_LIST_ITEMS, MAX_SIDECAR_BYTES, MAX_XML_DEPTH  # noqa: E402


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"题名": "长" * (MAX_FIELD_CHARS + 1)}, f"题名 (title) has {MAX_FIELD_CHARS + 1:,} characters, over the limit of 2,000"),
        ({"附注": "x" * 100_000}, "附注 (note) has 100,000 characters"),
        ({"文件编号": "号" * (MAX_FIELD_CHARS + 1)}, "文件编号 (document_number) has"),
        ({"主题词": ["词"] * (MAX_LIST_ITEMS + 1)}, f"主题词 (keywords) has {MAX_LIST_ITEMS + 1} items, over the limit of 200"),
        ({"主题词": "；".join(["词"] * (MAX_LIST_ITEMS + 1))}, "主题词 (keywords) has 201 items"),
        ({"责任者": ["府"] * (MAX_LIST_ITEMS + 1)}, "责任者 (issuer) has 201 items"),
        ({"责任者": "府" * (MAX_FIELD_CHARS + 1)}, "责任者 (issuer) has 2,001 characters"),
        ({"主题词": ["词" * (MAX_FIELD_CHARS + 1)]}, "主题词 (keywords) has 2,001 characters"),
    ],
)
def test_a_field_or_list_over_its_limit_is_never_packaged(tmp_path: Path, metadata_writer, change: dict, message: str) -> None:
    path = metadata_writer(tmp_path / "big.json", **change)
    with pytest.raises(MetadataError) as e:
        load_metadata(path)
    assert message in str(e.value) and str(e.value).startswith(f"{path}: ") and e.value.exit_code == 3
    with pytest.raises(MetadataError, match="over the limit"):
        record_from_dict(json.loads(path.read_text("utf-8")))


def test_fields_and_lists_at_their_limits_are_accepted(sample_record_data: dict) -> None:
    data = {**sample_record_data, "题名": "长" * MAX_FIELD_CHARS, "主题词": ["词"] * MAX_LIST_ITEMS}
    record = record_from_dict(data)
    assert len(record.title) == MAX_FIELD_CHARS and len(record.keywords) == MAX_LIST_ITEMS


def test_a_ten_megabyte_title_is_refused_before_it_is_read(tmp_path: Path, metadata_writer) -> None:
    path = metadata_writer(tmp_path / "big.json", 题名="长" * (10 * 1024 * 1024))
    with pytest.raises(MetadataError, match=f"over the limit of {MAX_SIDECAR_BYTES:,}"):
        load_metadata(path)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2_000, 200_000])
def test_deep_json_metadata_is_a_metadata_error_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"a":' + b"[" * depth + b"]" * depth + b"}")
    with pytest.raises(MetadataError, match=f"nested more than {MAX_JSON_DEPTH} levels"):
        load_metadata(path)


@pytest.mark.parametrize("depth", [MAX_XML_DEPTH + 1, 5_000])
def test_deep_xml_metadata_is_refused(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.xml"
    path.write_text('<record xmlns="urn:govarc:record:1">' + "<note>" * depth + "</note>" * depth + "</record>")
    with pytest.raises(MetadataError, match=f"nested more than {MAX_XML_DEPTH} levels"):
        load_metadata(path)


def test_json_depth_ignores_brackets_in_strings() -> None:
    from govarc.package.metadata import json_depth

    assert json_depth('{"a": "[[[[{{{{\\"[[[[", "b": [[1]]}') == 3
    assert json_depth("[" * 50 + "]" * 50) == MAX_JSON_DEPTH + 1  # counted no further than needed


@pytest.mark.parametrize("suffix", [".json", ".xml"])
def test_metadata_with_a_utf8_bom_is_read(tmp_path: Path, sample_record_data: dict, suffix: str) -> None:
    record = record_from_dict(sample_record_data)
    data = json.dumps(sample_record_data, ensure_ascii=False).encode() if suffix == ".json" else record_to_xml(record)
    path = tmp_path / f"record{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    assert load_metadata(path).title == record.title


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_metadata_that_is_a_fifo_or_a_link_is_refused_without_blocking(tmp_path: Path, metadata_writer, kind: str) -> None:
    import os

    path = tmp_path / "record.json"
    if kind == "fifo":
        os.mkfifo(path)
        expect = "is a FIFO"
    else:
        os.symlink(metadata_writer(tmp_path / "real.json"), path)
        expect = "is a symbolic link"
    with pytest.raises(MetadataError) as e:
        load_metadata(path)
    assert expect in str(e.value) and str(e.value).startswith(f"{path}: ")
