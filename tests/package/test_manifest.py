"""Pure tag-file functions: path encoding, path safety, manifests, bag-info, Payload-Oxum."""

from __future__ import annotations

import pytest

from govarc.package.hashing import Algorithm
from govarc.package.manifest import (
    BAGIT_TXT,
    bag_info_get,
    decode_path,
    encode_path,
    format_bag_info,
    format_manifest,
    manifest_algorithm,
    nfc,
    parse_bag_info,
    parse_manifest,
    parse_oxum,
    payload_oxum,
    unsafe_reason,
)

D64 = "ab" * 32


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("data/正文.pdf", "data/正文.pdf"),
        ("data/100%.txt", "data/100%25.txt"),
        ("data/a\nb", "data/a%0Ab"),
        ("data/a\r\nb", "data/a%0D%0Ab"),
        ("data/%0A", "data/%250A"),  # a literal "%0A" in a name survives the round trip
        ("data/a b.txt", "data/a b.txt"),
    ],
)
def test_encode_decode_path(raw: str, encoded: str) -> None:
    assert encode_path(raw) == encoded
    assert decode_path(encoded) == raw


def test_decode_path_is_case_insensitive_and_leaves_other_escapes() -> None:
    assert decode_path("data/a%0db%0a") == "data/a\rb\n"
    assert decode_path("data/%41%20") == "data/%41%20"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "drive"),
        ("c:x", "drive"),
        ("data\\x", "backslash"),
        ("data/a\x00", "NUL"),
        ("data/../bagit.txt", "`..`"),
        ("..", "`..`"),
        ("data//x", "empty"),
        ("data/./x", "`.`"),
        ("data/x/", "empty"),
    ],
)
def test_unsafe_paths(path: str, reason: str) -> None:
    got = unsafe_reason(path)
    assert got is not None and reason in got


@pytest.mark.parametrize("path", ["data/正文.pdf", "data/..a/b..", "bagit.txt", "data/.hidden", "metadata/record.xml"])
def test_safe_paths(path: str) -> None:
    assert unsafe_reason(path) is None


def test_format_and_parse_manifest_round_trip() -> None:
    entries = {"data/正文.pdf": D64, "data/附件/a b%.txt": "cd" * 32, "data/a\nb": "ef" * 32}
    text = format_manifest(entries)
    assert text.endswith("\n") and "\r" not in text
    assert text.splitlines()[0].endswith("data/a%0Ab")  # sorted by path, encoded
    lines, problems = parse_manifest(text, Algorithm.SHA256)
    assert problems == []
    assert {line.path: line.digest for line in lines} == entries
    assert [line.lineno for line in lines] == [1, 2, 3]


def test_parse_manifest_accepts_what_bagit_python_accepts() -> None:
    text = f"{D64.upper()} *data/binary.pdf\r\n\n{D64}\tdata/tab.txt\n{D64}   data/spaces in name.txt\n"
    lines, problems = parse_manifest(text, Algorithm.SHA256)
    assert problems == []
    assert [(x.lineno, x.digest, x.path) for x in lines] == [
        (1, D64, "data/binary.pdf"),
        (3, D64, "data/tab.txt"),
        (4, D64, "data/spaces in name.txt"),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("justonefield", "not `<hex digest> <path>`"),
        (f"{D64}", "not `<hex digest> <path>`"),
        ("xyz" + D64[3:] + "  data/a", "not `<hex digest> <path>`"),
        ("abcdef  data/a", "not 64 hex digits"),
        (D64 + "00  data/a", "not 64 hex digits"),
    ],
)
def test_parse_manifest_problems(line: str, reason: str) -> None:
    lines, problems = parse_manifest(f"{D64}  data/ok\n{line}\n", Algorithm.SHA256)
    assert [x.path for x in lines] == ["data/ok"]
    assert len(problems) == 1
    assert problems[0].lineno == 2 and problems[0].text == line and reason in problems[0].reason


def test_digest_length_follows_the_algorithm() -> None:
    lines, problems = parse_manifest(f"{'a' * 128}  data/x\n", Algorithm.SHA512)
    assert problems == [] and len(lines) == 1
    _, problems = parse_manifest(f"{'a' * 64}  data/x\n", Algorithm.SHA512)
    assert problems and "128" in problems[0].reason
    _, problems = parse_manifest(f"{'a' * 32}  data/x\n", Algorithm.MD5)
    assert problems == []


def test_manifest_algorithm() -> None:
    assert manifest_algorithm("manifest-sha256.txt", "manifest-") is Algorithm.SHA256
    assert manifest_algorithm("manifest-sm3.txt", "manifest-") is Algorithm.SM3
    assert manifest_algorithm("tagmanifest-md5.txt", "tagmanifest-") is Algorithm.MD5
    assert manifest_algorithm("manifest-whirlpool.txt", "manifest-") == "whirlpool"


def test_parse_bag_info_with_continuation_lines() -> None:
    text = (
        "Source-Organization: 柳州市人民政府办公室\n"
        "External-Description: 关于做好\n"
        "  2007年春季植树造林\n"
        "\t工作的通知\n"
        "Contact-Email: a@example.org\n"
        "Note: time 10:30: value with colons\n"
        "Note: a second Note\n"
    )
    fields, problems = parse_bag_info(text)
    assert problems == []
    assert fields == [
        ("Source-Organization", "柳州市人民政府办公室"),
        ("External-Description", "关于做好 2007年春季植树造林 工作的通知"),
        ("Contact-Email", "a@example.org"),
        ("Note", "time 10:30: value with colons"),
        ("Note", "a second Note"),
    ]


def test_parse_bag_info_problems() -> None:
    text = "  continuation before any label\nGood: yes\nno colon here\n: no label\nSpaced-Label : value\n"
    fields, problems = parse_bag_info(text)
    assert fields == [("Good", "yes")]
    assert [p.lineno for p in problems] == [1, 3, 4, 5]


def test_bag_info_round_trip_and_lookup() -> None:
    text = format_bag_info([("External-Description", "第一行\n第二行"), ("Payload-Oxum", "12.3"), ("Payload-Oxum", "9.9")])
    assert text == "External-Description: 第一行 第二行\nPayload-Oxum: 12.3\nPayload-Oxum: 9.9\n"
    fields, problems = parse_bag_info(text)
    assert problems == []
    assert bag_info_get(fields, "payload-oxum") == "12.3"  # labels are case-insensitive; first wins
    assert bag_info_get(fields, "Bagging-Date") is None


def test_bagit_txt_parses_as_tag_file() -> None:
    fields, problems = parse_bag_info(BAGIT_TXT)
    assert problems == []
    assert bag_info_get(fields, "BagIt-Version") == "1.0"
    assert bag_info_get(fields, "Tag-File-Character-Encoding") == "UTF-8"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("12.3", (12, 3)), (" 0.0 ", (0, 0)), ("12", None), ("12.", None), ("-1.2", None), ("1.2.3", None), ("a.b", None), ("", None)],
)
def test_oxum(value: str, parsed: tuple[int, int] | None) -> None:
    assert parse_oxum(value) == parsed


def test_payload_oxum_round_trip() -> None:
    assert payload_oxum(1234, 5) == "1234.5"
    assert parse_oxum(payload_oxum(1234, 5)) == (1234, 5)


def test_nfc() -> None:
    assert nfc("re\u0301sume\u0301") == "r\u00e9sum\u00e9"
    assert nfc("正文") == "正文"
