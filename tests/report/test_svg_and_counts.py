"""The chart module and the warnings parser on their own: scales, labels, escaping, odd JSON."""

from __future__ import annotations

import json

import pytest

from govarc.catalog.report import MAX_CODE, UNREADABLE, _codes
from govarc.report.svg import MAX_LABEL, Series, bar_chart, clean, nice_max


@pytest.mark.parametrize("value, top, step", [(0, 1, 1), (1, 1, 1), (3, 3, 1), (5, 5, 1), (7, 8, 2), (10, 10, 2),
                                              (11, 15, 5), (99, 100, 20), (101, 150, 50), (12345, 15000, 5000)])
def test_the_scale_is_round_and_covers_the_value(value: int, top: int, step: int) -> None:
    assert nice_max(value) == (top, step)
    assert top >= value and top % step == 0 and top // step <= 5 + 1


@pytest.mark.parametrize("text, shown", [
    ("SZF", "SZF"), ("\u202eevil\u202c", "evil"), ("a\x00b\x1bc", "abc"), ("零宽\u200b空格", "零宽空格"),
    ("长" * 40, "长" * (MAX_LABEL - 1) + "…"),
])
def test_chart_labels_lose_control_characters_and_are_cut(text: str, shown: str) -> None:
    assert clean(text) == shown


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", '"/><image href="x"/>', "A & B", "]]><x>"])
def test_chart_text_is_escaped(hostile: str) -> None:
    svg = bar_chart(hostile, [hostile], [Series(hostile, (3,), (f"k.{hostile}",))], chart_id=hostile)
    assert hostile not in svg
    assert svg.count("<svg") == 1 and svg.count("<script") == 0 and svg.count("<image") == 0
    assert 'data-metric="k.' in svg


def test_an_empty_chart_says_so() -> None:
    svg = bar_chart("t", [], [], chart_id="c")
    assert "无数据 no data" in svg and "data-metric" not in svg


@pytest.mark.parametrize("text, codes", [
    ('[{"code": "INGEST_TEXT_DISAGREES"}]', ["INGEST_TEXT_DISAGREES"]),
    ('[{"code": "A"}, {"code": "A"}, {"code": "B"}]', ["A", "A", "B"]),
    ("not json", [UNREADABLE]),
    ('{"code": "A"}', [UNREADABLE]),
    ('[1, "x", {"path": "p"}, {"code": 7}, {"code": ""}]', [UNREADABLE] * 5),
    ("[" * 100_000 + "]" * 100_000, [UNREADABLE]),  # nesting deeper than the parser goes
    (json.dumps([{"code": "x" * 1000}]), ["x" * MAX_CODE]),
    (json.dumps([{"code": "A", "message": "m" * 300_000}]), [UNREADABLE]),  # longer than a warnings value may be
    (None, [UNREADABLE]),
])
def test_odd_warnings_are_counted_as_unreadable(text: str | None, codes: list[str]) -> None:
    assert _codes(text) == codes
