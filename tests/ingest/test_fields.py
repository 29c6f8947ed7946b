"""Resolving an item's fields, and the one list splitter of ingest (attachments, issuers, keywords)."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarc.domain import Agency
from govarc.domain import KEYWORD_SEPARATORS, LIST_SEPARATORS, NAME_SEPARATORS, split_list
from govarc.ingest.fields import resolve_fields
from govarc.ingest.sources import Item

AGENCY = Agency("SZF", "柳州市人民政府办公室", "0012", "柳州市人民政府")
REQUIRED = {"title": "通知", "retention": "永久", "classification": "公开", "date": "2024-03-05"}


@pytest.mark.parametrize("value, expected", [
    ("a;b", ["a", "b"]),
    ("a；b", ["a", "b"]),
    (" a ; ；b;", ["a", "b"]),
    ("", []),
    (["a", " b ", "", "  "], ["a", "b"]),
    (("a",), ["a"]),
    (5, ["5"]),
])
def test_split_list_on_any_separator_set(value, expected):
    for separators in (NAME_SEPARATORS, LIST_SEPARATORS, KEYWORD_SEPARATORS):
        assert split_list(value, separators) == expected


def test_file_names_keep_the_enumeration_comma_and_spaces():
    assert split_list("附件1、2.pdf; 附 件.pdf", NAME_SEPARATORS) == ["附件1、2.pdf", "附 件.pdf"]


def test_names_split_at_the_enumeration_comma_not_at_spaces():
    assert split_list("柳州市人民政府、柳州市财政局；Office of Liuzhou") == [
        "柳州市人民政府", "柳州市财政局", "Office of Liuzhou"]


def test_keywords_split_at_spaces_too():
    assert split_list("林业 植树\u3000通知、绿化；春季\t造林", KEYWORD_SEPARATORS) == [
        "林业", "植树", "通知", "绿化", "春季", "造林"]


def resolve(**fields):
    item = Item(Path("/drop/a.pdf"), fields={**REQUIRED, **fields}, origin="a.json")
    return resolve_fields(item, AGENCY, [], None)


def test_resolve_fields_splits_issuers_and_keywords():
    out, findings = resolve(issuer="柳州市人民政府、柳州市财政局", keywords="林业；植树 通知")
    assert findings == []
    assert out["issuer"] == ["柳州市人民政府", "柳州市财政局"]
    assert out["keywords"] == ["林业", "植树", "通知"]


def test_resolve_fields_takes_lists_as_they_are():
    out, findings = resolve(issuer=["柳州市人民政府 办公室"], keywords=["春季 造林"])
    assert findings == []
    assert out["issuer"] == ["柳州市人民政府 办公室"]
    assert out["keywords"] == ["春季 造林"]
