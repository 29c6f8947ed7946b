"""The domain types: agency codes, 保管期限, 密级 and the 档号 with its rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarc.domain import (
    KEYWORD_SEPARATORS,
    LIST_SEPARATORS,
    METADATA_SEPARATORS,
    NAME_SEPARATORS,
    Agency,
    ArchivalCode,
    Classification,
    Retention,
    archival_code_text,
    is_agency_code,
    is_code_part,
    sequence_text,
    split_list,
)
from govarc.errors import MetadataError


def test_archival_code_formats_and_parses_back() -> None:
    code = ArchivalCode("0012", "WS", 2007, Retention.PERMANENT, "BGS", 1)
    assert code.format() == str(code) == "0012-WS·2007-Y-BGS-0001"
    assert ArchivalCode.parse(code.format()) == code
    assert ArchivalCode.parse(" 0012-WS.2007-D30-BGS-12 ") == ArchivalCode("0012", "WS", 2007, Retention.YEARS_30, "BGS", 12)


def test_item_grows_past_its_width() -> None:
    assert str(ArchivalCode("1", "WS", 2024, Retention.YEARS_10, "X", 12345)) == "1-WS·2024-D10-X-12345"


@pytest.mark.parametrize("bad", [
    "", "0012-WS·2007-Y-BGS-0000", "0012-WS·2007-D20-BGS-0001", "0012-WS·07-Y-BGS-0001",
    "0012-W S·2007-Y-BGS-0001", "0012-WS·2007-Y-BGS-1234567890", "A" * 17 + "-WS·2007-Y-BGS-0001",
])
def test_archival_code_refuses_what_is_not_one(bad: str) -> None:
    with pytest.raises(MetadataError, match="archival code"):
        ArchivalCode.parse(bad)


def test_find_all_reads_codes_out_of_names() -> None:
    found = list(ArchivalCode.find_all("store/SZF/0012-WS·2024-Y-BGS-0007.zip and 9-WS.2023-D10-A-0000 x"))
    assert found == [ArchivalCode("0012", "WS", 2024, Retention.PERMANENT, "BGS", 7)]
    assert list(ArchivalCode.find_all(None)) == []


def test_sequence_key_and_text() -> None:
    code = ArchivalCode.parse("0012-WS·2024-D30-BGS-0042")
    assert code.sequence == ("0012", "WS", 2024, "D30", "BGS")
    assert sequence_text(code.sequence) == "0012-WS·2024-D30-BGS"


def test_archival_code_text_keeps_the_year_as_written() -> None:
    assert archival_code_text("0012", "WS", "2007", "Y", "BGS", 3) == "0012-WS·2007-Y-BGS-0003"


@pytest.mark.parametrize(("text", "expected"), [
    ("Y", Retention.PERMANENT), ("永久", Retention.PERMANENT), ("d30", Retention.YEARS_30),
    ("定期30年", Retention.YEARS_30), ("10年", Retention.YEARS_10),
])
def test_retention_parse(text: str, expected: Retention) -> None:
    assert Retention.parse(text) is expected


def test_retention_parse_refuses() -> None:
    with pytest.raises(MetadataError, match="not Y, D30 or D10"):
        Retention.parse("D20")


def test_classification_parse_and_classified() -> None:
    assert Classification.parse("Secret") is Classification.SECRET
    assert Classification.parse(" 公开 ") is Classification.PUBLIC
    assert [c.classified for c in Classification] == [False, False, True, True]
    with pytest.raises(MetadataError, match="classification"):
        Classification.parse("绝密")


@pytest.mark.parametrize(("value", "ok"), [
    ("SZF", True), ("91450200MB1234567X", True), ("NTRCN-91450200MB1234567X", True), ("-SZF", False),
    ("A" * 33, False), ("SZ F", False), ("SZF\n", False), ("", False), (12, False),
])
def test_agency_code(value: object, ok: bool) -> None:
    assert is_agency_code(value) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("BGS", True), ("0012", True), ("A" * 16, True), ("A" * 17, False), ("B-S", False), ("", False), (None, False),
])
def test_code_part(value: object, ok: bool) -> None:
    assert is_code_part(value) is ok


def test_agency_makes_its_archival_codes() -> None:
    agency = Agency("SZF", "柳州市人民政府办公室", "0012", "柳州市人民政府")
    assert str(agency.archival_code(2024, Retention.PERMANENT, 5)) == "0012-WS·2024-Y-BGS-0005"
    assert str(agency.archival_code(2024, Retention.YEARS_10, 5, category="KJ", unit="A1")) == "0012-KJ·2024-D10-A1-0005"


def test_the_package_format_and_the_workspace_use_the_domain_types() -> None:
    """One definition each: a record read by package/ and an agency read from govarc.toml carry the domain's types."""
    from govarc.package.metadata import record_from_dict
    from govarc.workspace import parse_agencies

    record = record_from_dict({"archival_code": "0012-WS·2024-Y-BGS-0005", "agency_code": "SZF",
                               "fonds_name": "柳州市人民政府", "creator_name": "柳州市人民政府办公室", "title": "通知", "issuer": "柳州市人民政府办公室",
                               "date": "2024-03-01", "classification": "公开"})
    assert type(record.archival_code) is ArchivalCode and type(record.retention) is Retention
    (agency,) = parse_agencies({"agency": [{"code": "SZF", "name": "柳州市人民政府办公室", "fonds": "0012",
                                            "fonds_name": "柳州市人民政府"}]}, Path("."), "govarc.toml")
    assert type(agency) is Agency


@pytest.mark.parametrize("value, separators, expected", [
    ("附件1、2.pdf; 附 件.pdf", NAME_SEPARATORS, ["附件1、2.pdf", "附 件.pdf"]),
    ("柳州市人民政府、柳州市财政局；Office of Liuzhou, Guangxi", LIST_SEPARATORS,
     ["柳州市人民政府", "柳州市财政局", "Office of Liuzhou, Guangxi"]),
    ("林业 植树\u3000通知、绿化", KEYWORD_SEPARATORS, ["林业", "植树", "通知", "绿化"]),
    ("柳州市人民政府,柳州市财政局，柳州市林业局、Office of Liuzhou", METADATA_SEPARATORS,
     ["柳州市人民政府", "柳州市财政局", "柳州市林业局", "Office of Liuzhou"]),
    ([" a ", "", "b,c"], METADATA_SEPARATORS, ["a", "b,c"]),  # a list is taken item by item
    (";；、 ", METADATA_SEPARATORS, []),
])
def test_split_list_splits_each_field_at_its_separators(value, separators, expected) -> None:
    assert split_list(value, separators) == expected


def test_package_metadata_splits_issuers_and_keywords_at_commas_too() -> None:
    from govarc.package.metadata import record_from_dict

    record = record_from_dict({"archival_code": "0012-WS·2024-Y-BGS-0005", "agency_code": "SZF",
                               "fonds_name": "柳州市人民政府", "creator_name": "柳州市人民政府办公室", "title": "通知",
                               "issuer": "柳州市人民政府,柳州市财政局；柳州市林业局", "keywords": "林业，植树、通知",
                               "date": "2024-03-01", "classification": "公开", "retention": "Y"})
    assert record.issuers == ("柳州市人民政府", "柳州市财政局", "柳州市林业局")
    assert record.keywords == ("林业", "植树", "通知")
