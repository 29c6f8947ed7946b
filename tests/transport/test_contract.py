"""The transport contract (specs/transport.md): every transport passes these, unchanged.

Only the interface is used here, never the location behind it, so a new transport joins by adding
a fixture in ``conftest.py``. What a test cannot see through the interface (files on disk, links,
FIFOs) is in the transport's own test module.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from govarc.errors import EXIT_TRANSFER, TransferError
from govarc.transport import (
    BLOCK_SIZE,
    MAX_KEY_BYTES,
    MAX_KEY_DEPTH,
    MAX_PUBLISH_BYTES,
    DigestMismatchError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    Transport,
    TransportError,
)
from tests.transport.streams import Interrupted, Source, Unreadable, blob, sha

MIB = 1024 * 1024


def fetch(t: Transport, key: str, sha256: str | None = None) -> bytes:
    buf = io.BytesIO()
    info = t.get(key, buf, sha256)
    assert info == ObjectInfo(key, len(buf.getvalue()), sha(buf.getvalue()))
    return buf.getvalue()


def assert_one_line_naming(err: BaseException, key: str) -> None:
    text = str(err)
    assert "\n" not in text and key in text, text
    assert isinstance(err, TransferError) and err.exit_code == EXIT_TRANSFER


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1000, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * MIB + 17])
def test_put_get_round_trip(transport, size):
    data = blob(size, seed=size)
    key = f"inbound/LZ0012/b1/obj-{size}.bin"
    result = transport.put(key, io.BytesIO(data), size=size)
    assert (result.key, result.size, result.sha256, result.written) == (key, size, sha(data), True)
    assert fetch(transport, key, sha(data)) == data
    assert transport.exists(key)
    info = transport.stat(key)
    assert info.key == key and info.size == size
    assert info.sha256 in (None, sha(data))
    if transport.stores_digests:
        assert info.sha256 == sha(data)
    assert transport.digest(key) == sha(data)
    assert transport.list() == [key]


def test_put_reads_small_chunks_from_any_readable(transport):
    data = blob(2 * MIB + 5, seed=3)
    src = Source(data, chunk=4093)  # a pipe or socket hands out less than asked
    assert transport.put("chunks.bin", src).sha256 == sha(data)
    assert fetch(transport, "chunks.bin") == data


CJK_KEYS = [
    "inbound/LZ0012/20240301-0001/0012-WS·2007-Y-BGS-0001.zip",
    "收文/柳政发〔2007〕12号/正文.pdf",
    "receipts/柳州市财政局/回执 (1).xml",
    "附件/附件1 植树任务分解表.txt",
    "ünïcödé/é/ж/한국어/日本語.txt",
    ".hidden/a..b/.../x",
]


@pytest.mark.parametrize("key", CJK_KEYS)
def test_cjk_and_unusual_but_valid_keys_round_trip(transport, key):
    data = key.encode("utf-8") * 3
    transport.put(key, io.BytesIO(data))
    assert fetch(transport, key) == data
    assert transport.list() == [key]
    assert transport.exists(key)
    assert transport.delete(key) is True
    assert transport.list() == []


def test_keys_at_the_limits_round_trip(transport):
    long_segment = "文" * 85  # 255 UTF-8 bytes
    deep = "/".join(["d"] * (MAX_KEY_DEPTH - 1) + ["leaf"])
    longest = "/".join(["x" * 200] * 5) + "/" + "y" * (MAX_KEY_BYTES - 5 * 201)
    assert len(longest.encode()) == MAX_KEY_BYTES
    for i, key in enumerate([long_segment, deep, longest]):
        transport.put(key, io.BytesIO(b"%d" % i))
    assert transport.list() == sorted([long_segment, deep, longest])
    assert transport.read(deep) == b"1"


# --- digests and sizes ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sha256", "size-short", "size-long"])
def test_put_with_wrong_digest_or_size_stores_nothing(transport, kind):
    data = blob(2 * MIB + 3, seed=5)
    key = "inbound/LZ0012/b1/wrong.bin"
    kwargs = {
        "sha256": {"sha256": sha(data + b"x")},
        "size-short": {"size": len(data) + 1},
        "size-long": {"size": len(data) - 1},
    }[kind]
    with pytest.raises(DigestMismatchError) as e:
        transport.put(key, io.BytesIO(data), **kwargs)
    assert_one_line_naming(e.value, key)
    assert not transport.exists(key)
    assert transport.list() == []
    with pytest.raises(ObjectNotFoundError):
        transport.stat(key)
    # and the failed upload is not resumed from either: wrong content is thrown away
    result = transport.put(key, io.BytesIO(data), sha256=sha(data))
    assert result.resumed_from == 0 and fetch(transport, key) == data


def test_put_with_wrong_digest_leaves_the_existing_object_alone(transport):
    transport.put("k", io.BytesIO(b"old"))
    with pytest.raises(DigestMismatchError):
        transport.put("k", io.BytesIO(b"new"), sha256=sha(b"other"), overwrite=True)
    assert fetch(transport, "k") == b"old"


def test_put_accepts_the_digest_in_upper_case(transport):
    assert transport.put("k", io.BytesIO(b"abc"), sha256=sha(b"abc").upper()).sha256 == sha(b"abc")


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, sha(b"x") + "0", 12])
def test_a_malformed_expected_digest_is_refused(transport, bad):
    with pytest.raises(TransportError):
        transport.put("k", io.BytesIO(b"abc"), sha256=bad)
    assert transport.list() == []


def test_get_checks_the_expected_digest(transport):
    transport.put("k", io.BytesIO(b"content"))
    with pytest.raises(DigestMismatchError) as e:
        transport.get("k", io.BytesIO(), sha(b"other"))
    assert_one_line_naming(e.value, "k")


def test_get_refuses_an_object_over_the_callers_limit_before_reading(transport):
    transport.put("big", io.BytesIO(blob(5000)))
    sink = io.BytesIO()
    with pytest.raises(ObjectTooLargeError):
        transport.get("big", sink, max_size=4999)
    assert sink.getvalue() == b""
    with pytest.raises(ObjectTooLargeError):
        transport.read("big", max_size=100)
    assert transport.read("big", max_size=5000) == blob(5000)


def test_missing_objects(transport):
    assert not transport.exists("no/such/key")
    for op in (lambda: transport.stat("no/such/key"), lambda: transport.get("no/such/key", io.BytesIO()),
               lambda: transport.read("no/such/key"), lambda: transport.digest("no/such/key")):
        with pytest.raises(ObjectNotFoundError) as e:
            op()
        assert_one_line_naming(e.value, "no/such/key")


# --- atomic visibility ------------------------------------------------------------------------


def test_a_reader_never_sees_an_object_before_it_is_complete(transport):
    data = blob(4 * MIB + 1, seed=9)
    key = "inbound/LZ0012/b2/pkg.zip"
    seen: list[tuple[bool, list[str]]] = []

    def look() -> None:
        seen.append((transport.exists(key), transport.list()))

    transport.put(key, Source(data, chunk=MIB // 2, watch=look))
    assert len(seen) >= 8
    assert all(s == (False, []) for s in seen), seen[:3]
    assert transport.list() == [key]


def test_an_upload_interrupted_by_its_source_leaves_nothing_visible(transport):
    data = blob(3 * MIB, seed=10)
    key = "inbound/LZ0012/b3/pkg.zip"
    with pytest.raises(Interrupted):
        transport.put(key, Source(data, fail_at=2 * MIB + 100))
    assert transport.list() == []
    assert transport.list("inbound/LZ0012") == []
    assert not transport.exists(key)
    with pytest.raises(ObjectNotFoundError):
        transport.stat(key)


def test_an_interrupted_overwrite_keeps_the_old_object(transport):
    transport.put("k", io.BytesIO(b"old"))
    with pytest.raises(Interrupted):
        transport.put("k", Source(blob(2 * MIB), fail_at=MIB + 1), overwrite=True)
    assert fetch(transport, "k") == b"old"
    assert transport.list() == ["k"]


# --- resumable uploads ------------------------------------------------------------------------


def _unit(t: Transport) -> int:
    return max(t.resume_unit, BLOCK_SIZE)


def test_an_interrupted_put_resumes_where_it_stopped(transport):
    unit = _unit(transport)
    data = blob(3 * unit + 12345, seed=11)
    key = "inbound/LZ0012/b4/pkg.zip"
    stop = 2 * unit + 777
    with pytest.raises(Interrupted):
        transport.put(key, Source(data, fail_at=stop), size=len(data), sha256=sha(data))
    result = transport.put(key, io.BytesIO(data), size=len(data), sha256=sha(data))
    assert result.written and result.sha256 == sha(data) and result.size == len(data)
    assert 2 * unit <= result.resumed_from <= stop
    assert fetch(transport, key) == data
    assert transport.list() == [key]


def test_a_resume_with_different_content_keeps_only_the_matching_prefix(transport):
    unit = _unit(transport)
    old = blob(3 * unit, seed=12)
    new = bytearray(old)
    new[unit + unit // 2] ^= 0xFF  # differs in the middle of the second unit
    new = bytes(new)
    with pytest.raises(Interrupted):
        transport.put("k", Source(old, fail_at=2 * unit + 5))
    result = transport.put("k", io.BytesIO(new))
    assert result.resumed_from <= unit + unit // 2
    assert fetch(transport, "k") == new


@pytest.mark.parametrize("new_size", [0, 1, 100_000])
def test_a_resume_with_shorter_content_stores_exactly_the_new_content(transport, new_size):
    unit = _unit(transport)
    old = blob(2 * unit + 99, seed=13)
    with pytest.raises(Interrupted):
        transport.put("k", Source(old, fail_at=2 * unit))
    new = old[:new_size]
    result = transport.put("k", io.BytesIO(new))
    assert result.size == new_size and result.resumed_from <= new_size
    assert fetch(transport, "k") == new


def test_resume_false_starts_again(transport):
    data = blob(2 * MIB + 1, seed=14)
    with pytest.raises(Interrupted):
        transport.put("k", Source(data, fail_at=MIB + 1))
    result = transport.put("k", io.BytesIO(data), resume=False)
    assert result.resumed_from == 0 and fetch(transport, "k") == data


def test_clean_temporaries_drops_abandoned_uploads_but_not_recent_ones(transport):
    unit = _unit(transport)
    data = blob(2 * unit + 1, seed=15)
    with pytest.raises(Interrupted):
        transport.put("k", Source(data, fail_at=unit + 1))
    assert transport.clean_temporaries() == 0  # too recent for the default age
    assert transport.clean_temporaries(max_age=0) == 1
    result = transport.put("k", io.BytesIO(data))
    assert result.resumed_from == 0 and fetch(transport, "k") == data
    assert transport.clean_temporaries(max_age=0) == 0  # nothing left behind by a finished put


def test_progress_is_reported(transport):
    data = blob(2 * MIB + 10, seed=16)
    done: list[int] = []
    transport.put("k", io.BytesIO(data), progress=done.append)
    assert done and done[-1] == len(data) and done == sorted(done)
    got: list[int] = []
    transport.get("k", io.BytesIO(), progress=got.append)
    assert got[-1] == len(data)


# --- overwrite policy -------------------------------------------------------------------------


def test_the_same_content_again_is_a_no_op(transport):
    data = blob(MIB + 3, seed=17)
    first = transport.put("k", io.BytesIO(data))
    again = transport.put("k", io.BytesIO(data))
    assert first.written and not again.written
    assert (again.size, again.sha256) == (len(data), sha(data))
    known = transport.put("k", Unreadable(), size=len(data), sha256=sha(data))  # a retry that knows the digest
    assert not known.written and known.sha256 == sha(data)
    assert fetch(transport, "k") == data and transport.list() == ["k"]


def test_different_content_is_refused_unless_overwrite(transport):
    transport.put("k", io.BytesIO(b"first"))
    for kwargs in ({}, {"sha256": sha(b"second")}):
        with pytest.raises(ObjectExistsError) as e:
            transport.put("k", io.BytesIO(b"second"), **kwargs)
        assert_one_line_naming(e.value, "k")
        assert fetch(transport, "k") == b"first"
    result = transport.put("k", io.BytesIO(b"second"), overwrite=True)
    assert result.written and fetch(transport, "k") == b"second"
    assert transport.list() == ["k"]


@pytest.mark.parametrize("first,second", [("a", "a/b"), ("a/b", "a"), ("x/y/z", "x/y")])
def test_a_key_cannot_be_both_an_object_and_a_folder_of_keys(transport, first, second):
    transport.put(first, io.BytesIO(b"1"))
    with pytest.raises(ObjectExistsError):
        transport.put(second, io.BytesIO(b"2"))
    with pytest.raises(ObjectExistsError):
        transport.put(second, io.BytesIO(b"2"), overwrite=True)
    assert transport.list() == [first]
    assert not transport.exists(second)


# --- publish ----------------------------------------------------------------------------------


def test_publish_a_control_file(transport):
    xml = "<移交清单>…</移交清单>".encode("utf-8")
    first = transport.publish("inbound/LZ0012/b1/transfer-list.xml", xml)
    assert first.written and first.sha256 == sha(xml)
    assert transport.read("inbound/LZ0012/b1/transfer-list.xml") == xml
    assert not transport.publish("inbound/LZ0012/b1/transfer-list.xml", io.BytesIO(xml)).written
    with pytest.raises(ObjectExistsError):
        transport.publish("inbound/LZ0012/b1/transfer-list.xml", xml + b" ")
    assert transport.publish("inbound/LZ0012/b1/transfer-list.xml", xml + b" ", overwrite=True).written
    assert transport.read("inbound/LZ0012/b1/transfer-list.xml") == xml + b" "


def test_publish_reads_a_stream_to_its_end(transport):
    data = blob(300_000, seed=21)
    assert transport.publish("receipt.xml", Source(data, chunk=1000)).size == len(data)
    assert transport.read("receipt.xml") == data


@pytest.mark.parametrize("as_stream", [False, True])
def test_publish_refuses_more_than_a_control_file(transport, as_stream):
    data = b"x" * (MAX_PUBLISH_BYTES + 1)
    with pytest.raises(ObjectTooLargeError):
        transport.publish("list.xml", Source(data, chunk=MIB) if as_stream else data)
    assert transport.list() == []


def test_a_batch_published_last_is_visible_only_when_complete(transport):
    batch = "inbound/LZ0012/20240301-0001"
    packages = {f"{batch}/pkg-{i}.zip": blob(100_000 + i, seed=i) for i in range(3)}
    for key, data in packages.items():
        transport.put(key, io.BytesIO(data), sha256=sha(data))
        assert not transport.exists(f"{batch}/transfer-list.xml")
    transport.publish(f"{batch}/transfer-list.xml", b"<list/>")
    assert transport.list(batch) == sorted([*packages, f"{batch}/transfer-list.xml"])


# --- list -------------------------------------------------------------------------------------


LIST_KEYS = ["a/b/1", "a/b/2", "a/bc/3", "a/b-/4", "ab/5", "z", "B/大", "B/小", "a/b/深/6"]


@pytest.fixture
def listed(transport):
    for key in LIST_KEYS:
        transport.put(key, io.BytesIO(key.encode()))
    return transport


@pytest.mark.parametrize("prefix,expected", [
    ("", sorted(LIST_KEYS)),
    ("a/b", ["a/b/1", "a/b/2", "a/b/深/6"]),
    ("a/b/", ["a/b/1", "a/b/2", "a/b/深/6"]),
    ("a", ["a/b-/4", "a/b/1", "a/b/2", "a/b/深/6", "a/bc/3"]),
    ("a/b/深", ["a/b/深/6"]),
    ("B", ["B/大", "B/小"]),
    ("a/b/1", []),  # an object has nothing below it
    ("nope", []),
    ("a/nope/deeper", []),
    ("z/under", []),
])
def test_list_is_recursive_sorted_and_segment_wise(listed, prefix, expected):
    assert listed.list(prefix) == expected


def test_list_is_sorted_by_code_point(listed):
    keys = listed.list()
    assert keys == sorted(keys)
    assert keys.index("B/大") < keys.index("a/b/1")  # upper case before lower case before CJK
    assert keys.index("B/大") < keys.index("B/小")


@pytest.mark.parametrize("prefix", ["/", "/a", "../a", "a/../b", "a//", "a\\b", "a/\x00", ".govarc-part-x/"])
def test_list_refuses_a_bad_prefix(listed, prefix):
    with pytest.raises(InvalidKeyError):
        listed.list(prefix)


# --- delete -----------------------------------------------------------------------------------


def test_delete_is_idempotent(listed):
    assert listed.delete("a/b/1") is True
    assert listed.delete("a/b/1") is False
    assert listed.delete("never/was/there") is False
    assert listed.delete("a/b") is False  # a folder of keys is not an object
    assert listed.list("a/b") == ["a/b/2", "a/b/深/6"]
    assert not listed.exists("a/b/1")
    listed.put("a/b/1", io.BytesIO(b"back"))
    assert listed.read("a/b/1") == b"back"


def test_delete_everything(listed):
    for key in listed.list():
        assert listed.delete(key)
    assert listed.list() == []


# --- download ---------------------------------------------------------------------------------


def test_download_is_atomic(transport, tmp_path: Path):
    data = blob(MIB + 7, seed=20)
    transport.put("pkg.zip", io.BytesIO(data))
    out = tmp_path / "下载"
    out.mkdir()
    info = transport.download("pkg.zip", out / "pkg.zip", sha(data))
    assert info.sha256 == sha(data) and (out / "pkg.zip").read_bytes() == data
    with pytest.raises(TransportError):
        transport.download("pkg.zip", out / "pkg.zip")  # never replaces a file
    with pytest.raises(DigestMismatchError):
        transport.download("pkg.zip", out / "bad.zip", sha(b"other"))
    with pytest.raises(ObjectNotFoundError):
        transport.download("missing.zip", out / "missing.zip")
    assert sorted(p.name for p in out.iterdir()) == ["pkg.zip"]


# --- keys -------------------------------------------------------------------------------------


BAD_KEYS = [
    pytest.param("", id="empty"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("//server/share/x", id="unc"),
    pytest.param("../outside", id="dotdot"),
    pytest.param("a/../../outside", id="dotdot-inner"),
    pytest.param("..", id="dotdot-alone"),
    pytest.param(".", id="dot-alone"),
    pytest.param("a/./b", id="dot-segment"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("..\\..\\windows", id="backslash-dotdot"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\nb", id="newline"),
    pytest.param("a\rb", id="carriage-return"),
    pytest.param("a\tb", id="tab"),
    pytest.param("a\x1bb", id="escape"),
    pytest.param("a\x7fb", id="delete"),
    pytest.param("a\x85b", id="c1-next-line"),
    pytest.param("pkg\u202efdp.exe", id="bidi-override"),
    pytest.param("a\u200bb", id="zero-width-space"),
    pytest.param("\ufeffkey", id="bom"),
    pytest.param("a\u2028b", id="line-separator"),
    pytest.param("bad-\udc80", id="lone-surrogate"),
    pytest.param("cafe\u0301", id="nfd-latin"),
    pytest.param("\u1112\u1161\u11ab", id="nfd-hangul"),
    pytest.param("x" * (MAX_KEY_BYTES + 1), id="too-long"),
    pytest.param("文" * 342, id="too-long-utf8"),
    pytest.param("文" * 86, id="segment-too-long"),
    pytest.param("/".join(["d"] * (MAX_KEY_DEPTH + 1)), id="too-deep"),
    pytest.param(".govarc-part-0123", id="reserved"),
    pytest.param("a/.govarc-x/b", id="reserved-inner"),
    pytest.param(b"bytes-key", id="bytes"),
    pytest.param(None, id="none"),
]


def _operations(t: Transport, key):
    return {
        "put": lambda: t.put(key, io.BytesIO(b"x")),
        "publish": lambda: t.publish(key, b"x"),
        "get": lambda: t.get(key, io.BytesIO()),
        "read": lambda: t.read(key),
        "stat": lambda: t.stat(key),
        "exists": lambda: t.exists(key),
        "delete": lambda: t.delete(key),
    }


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_by_every_operation(transport, key):
    transport.put("innocent", io.BytesIO(b"keep"))
    for name, op in _operations(transport, key).items():
        with pytest.raises(InvalidKeyError) as e:
            op()
        text = str(e.value)
        assert "\n" not in text and "\r" not in text and "invalid key" in text, (name, text)
        assert len(text) < 300, name
        assert e.value.exit_code == EXIT_TRANSFER
    assert transport.list() == ["innocent"]
    assert transport.read("innocent") == b"keep"
