"""What a document's text says: its 发文字号 (document number) and 成文日期 (date), GB/T 9704-2012.

Pure functions over extracted text, used by :mod:`govarc.ingest.inspect`.
"""

from __future__ import annotations

import datetime as dt
import re

_OPEN = "〔[(（［【"
_CLOSE = "〕])）］】"
_FULLWIDTH = str.maketrans("０１２３４５６７８９\u3000", "0123456789 ")
_NUMBER = re.compile(
    rf"(?P<organ>[\u4e00-\u9fffA-Za-z]{{1,10}})\s*[{re.escape(_OPEN)}]\s*(?P<year>(?:19|20)\d\d)\s*"
    rf"[{re.escape(_CLOSE)}]\s*第?\s*(?P<no>\d{{1,6}})\s*号"
)
# Words that open a sentence citing another document ("根据国发〔2005〕1号文件"), not an organ's name.
_CITING = re.compile(r"^.*(根据|按照|依据|依照|参照|贯彻|落实|转发|印发|关于)")


def find_document_number(text: str) -> str | None:
    """The 发文字号 printed in a document, with its brackets normalised to 〔〕, or None.

    Matches an organ abbreviation of 1–10 CJK characters or letters, a four-digit year in 〔〕, [],
    (), （）, ［］ or 【】, a number and 号 (``柳政发〔2007〕12号``, ``国办发[2012]1号``,
    ``柳财预(2024)8号``); full-width digits and spaces are accepted. A number on a line of its own
    (where GB/T 9704 prints it; 签发人 may follow on the same line) wins over one cited in running
    text; else the first cited one is returned, with leading words such as 根据 or 转发 dropped
    from the organ.
    """
    if not text:
        return None
    text = text.translate(_FULLWIDTH)
    fallback = None
    for m in _NUMBER.finditer(text):
        organ = m.group("organ")
        cut = _CITING.sub("", organ)
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        rest = text[m.end(): len(text) if line_end < 0 else line_end].strip()
        alone = not text[line_start:m.start()].strip() and (not rest or rest.startswith("签发人"))
        if alone and cut == organ:
            return f"{organ}〔{m.group('year')}〕{m.group('no')}号"
        if fallback is None and cut:
            fallback = f"{cut}〔{m.group('year')}〕{m.group('no')}号"
    return fallback


def normalise_document_number(value: str) -> str:
    """A document number in the form used for comparing: 〔〕 brackets, no spaces, no leading zeros."""
    text = str(value).translate(_FULLWIDTH)
    m = _NUMBER.fullmatch(text.strip())
    if m:
        return f"{m.group('organ')}〔{m.group('year')}〕{int(m.group('no'))}号"
    return re.sub(r"\s+", "", text.translate(str.maketrans(_OPEN, "〔" * len(_OPEN))).translate(
        str.maketrans(_CLOSE, "〕" * len(_CLOSE))))


_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "0": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "〇○零Ｏ一二三四五六七八九"
_DATE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    rf"|(?P<cy>[{_CN}O0]{{4}})\s*年\s*(?P<cm>十[一二]?|[一二三四五六七八九])\s*月"
    rf"\s*(?P<cd>[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*日"
)


def _cn_number(s: str) -> int:
    """A Chinese numeral up to 31: 五, 十, 十二, 二十, 二十三, 三十一."""
    if "十" not in s:
        return _CN_DIGITS[s]
    tens, _, units = s.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _dates(text: str) -> list[tuple[dt.date, bool]]:
    """Every real date in ``text`` with whether it could be a 成文日期 (see :func:`find_date`)."""
    out = []
    for m in _DATE.finditer(text):
        try:
            if m.group("y"):
                d = dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            else:
                year = int("".join(str(_CN_DIGITS[c]) for c in m.group("cy")))
                d = dt.date(year, _cn_number(m.group("cm")), _cn_number(m.group("cd")))
        except ValueError:
            continue
        line_end = text.find("\n", m.end())
        rest = text[m.end(): len(text) if line_end < 0 else line_end]
        out.append((d, not rest.strip()))
    return out


def find_date(text: str) -> dt.date | None:
    """The 成文日期 printed in a document, or None.

    The rule: the **last** date that ends its line (nothing but spaces after it on the line), as
    the 成文日期 stands alone under the issuer's name at the end of the body (GB/T 9704-2012).
    Dates inside running text (``自2007年4月1日起施行``) and the 印发日期 of the 版记
    (``2007年3月6日印发``) are not candidates. Arabic (``2007年3月5日``) and Chinese numerals
    (``二〇〇七年三月五日``, older documents) are both read; impossible dates are skipped.
    """
    if not text:
        return None
    candidates = [d for d, alone in _dates(text.translate(_FULLWIDTH)) if alone]
    return candidates[-1] if candidates else None
