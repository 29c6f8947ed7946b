"""open_transport: URLs and folder paths, the scheme registry, and the helpers of the interface."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest

from govarc.errors import EXIT_DISK_FULL, EXIT_TRANSFER, DiskFullError, TransferError
from govarc.transport import (
    TRANSPORT_SCHEMES,
    FolderTransport,
    TransportDiskFullError,
    TransportError,
    TransportUnavailableError,
    display_url,
    is_under,
    open_transport,
    validate_key,
    validate_prefix,
)
from govarc.transport.base import os_error


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "交换 中心"
    root.mkdir()
    return root


def test_a_plain_absolute_path(hub):
    t = open_transport(str(hub))
    assert isinstance(t, FolderTransport) and t.root == hub


def test_a_path_object(hub):
    assert open_transport(hub).root == hub


def test_a_relative_path_is_taken_against_the_base(hub):
    assert open_transport("交换 中心", base=hub.parent).root == hub
    assert open_transport(Path("交换 中心"), base=hub.parent).root == hub


@pytest.mark.parametrize("make", [
    lambda p: p.as_uri(),  # percent-encoded
    lambda p: f"file://{p}",  # not encoded, as people type it
    lambda p: f"file://localhost{p}",
    lambda p: f"FILE://{p}",
])
def test_file_urls(hub, make):
    t = open_transport(make(hub))
    assert t.root == hub
    t.put("收文/a.txt", io.BytesIO(b"a"))
    assert (hub / "收文" / "a.txt").read_bytes() == b"a"


def test_create_option(tmp_path):
    t = open_transport(f"file://{tmp_path}/new/hub", options={"create": True})
    assert t.list() == [] and (tmp_path / "new" / "hub").is_dir()


@pytest.mark.parametrize("url,expected", [
    ("sftp://archives@da.example.gov.cn:2222/inbound", "needs the option identity_file"),
    ("ftp://da.example.gov.cn/inbound", "unknown transport scheme 'ftp'"),
    ("https://da.example.gov.cn/inbound", "unknown transport scheme 'https'"),
    ("file://otherhost/srv/hub", "not the host"),
    ("file:relative/hub", "starts with file://"),
    ("file:///srv/hub?x=1", "no query"),
    ("file:///srv/hub#frag", "no query"),
    ("file:///srv/%ff%fe", "not UTF-8"),
    ("relative/hub", "needs a base folder"),
    ("", "no transport URL"),
    ("   ", "no transport URL"),
    ("/srv/hub\n/evil", "not a usable"),
    ("file:///srv/" + "x" * 5000, "not a usable"),
])
def test_bad_urls_are_one_line_transfer_errors(url, expected):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(url)
    text = str(e.value)
    assert expected in text and "\n" not in text, text
    assert isinstance(e.value, TransferError) and e.value.exit_code == EXIT_TRANSFER


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(e.value)


def test_a_password_in_a_url_is_never_shown():
    with pytest.raises(TransportUnavailableError) as e:
        open_transport("sftp://archives:s3cret-pw@da.example.gov.cn:22/inbound")
    assert "s3cret-pw" not in str(e.value)
    assert "sftp://archives@da.example.gov.cn:22/inbound" in str(e.value)
    assert display_url("s3://bucket/prefix") == "s3://bucket/prefix"


def test_the_registry_is_read_only_and_names_the_schemes():
    assert set(TRANSPORT_SCHEMES) == {"file", "sftp", "s3"}
    with pytest.raises(TypeError):
        TRANSPORT_SCHEMES["ftp"] = TRANSPORT_SCHEMES["file"]  # type: ignore[index]


def test_a_full_disk_is_exit_8_and_still_a_transport_error():
    err = os_error(OSError(errno.ENOSPC, "No space left on device"), "/srv/hub/k", "storing the object")
    assert isinstance(err, TransportDiskFullError) and isinstance(err, DiskFullError) and isinstance(err, TransportError)
    assert err.exit_code == EXIT_DISK_FULL
    assert str(err) == "/srv/hub/k: storing the object failed: No space left on device (nothing was made visible)"
    other = os_error(OSError(errno.EACCES, "Permission denied"), "/srv/hub/k", "storing the object")
    assert type(other) is TransportError and other.exit_code == EXIT_TRANSFER


@pytest.mark.parametrize("key,prefix,under", [
    ("inbound/A/x", "inbound/A", True),
    ("inbound/AB/x", "inbound/A", False),
    ("inbound/A", "inbound/A", False),
    ("anything", "", True),
])
def test_is_under_is_segment_wise(key, prefix, under):
    assert is_under(key, validate_prefix(prefix)) is under


def test_validate_key_returns_the_key_unchanged():
    assert validate_key("收文/柳政发〔2007〕12号/正文.pdf") == "收文/柳政发〔2007〕12号/正文.pdf"
    assert validate_prefix("inbound/") == "inbound" and validate_prefix("") == ""
