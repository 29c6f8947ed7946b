"""The SFTP transport against a real OpenSSH sshd: host keys, client keys, a server dying mid-upload, links.

What the contract (``test_contract.py``) cannot see through the interface: the files on the
server (the sshd serves this machine's folders), links and FIFOs planted there, the connection.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from govarc.errors import EXIT_TRANSFER
from govarc.transport import (
    BLOCK_SIZE,
    TransportError,
    TransportUnavailableError,
    UnsafeObjectError,
    open_transport,
)
from govarc.transport.base import MIB
from govarc.transport.folder import part_name
from govarc.transport.sftp import SFTPTransport
from tests.servers.sshd import Sshd, keygen
from tests.transport.streams import Source, blob, sha


def assert_one_line(err: BaseException, *parts: str) -> None:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text, text
    for part in parts:
        assert part in text, text
    assert getattr(err, "exit_code", None) == EXIT_TRANSFER


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


# --- host keys --------------------------------------------------------------------------------


@pytest.fixture
def other_host_key(tmp_path: Path) -> Path:
    return keygen(tmp_path / "other_host_key").with_suffix(".pub")


@pytest.mark.parametrize("variant", ["empty", "other-host", "other-port", "changed-key", "changed-key-hashed"])
def test_an_unknown_or_changed_host_key_is_refused(sshd: Sshd, sftp_root: Path, tmp_path: Path,
                                                   other_host_key: Path, variant: str):
    known = tmp_path / "known_hosts"
    line = sshd.host_line(other_host_key)
    known.write_text({
        "empty": "",
        "other-host": sshd.host_line(sshd.folder / "ssh_host_ed25519_key.pub").replace("127.0.0.1", "127.0.0.2"),
        "other-port": sshd.host_line(sshd.folder / "ssh_host_ed25519_key.pub").replace(f":{sshd.port}", ":1"),
        "changed-key": line,
        "changed-key-hashed": "",
    }[variant])
    if variant == "changed-key-hashed":
        import paramiko

        kind, b64 = other_host_key.read_text().split()[:2]
        hashed = paramiko.HostKeys.hash_host(f"[{sshd.host}]:{sshd.port}")
        known.write_text(f"{hashed} {kind} {b64}\n")
    before = known.read_bytes()
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(sshd.url(sftp_root), options=sshd.options(known_hosts=str(known)))
    word = "differs" if variant.startswith("changed") else "is not in the known_hosts file"
    assert_one_line(e.value, word, "refused", f"sftp://{sshd.user}@127.0.0.1:{sshd.port}")
    assert known.read_bytes() == before  # never learnt
    assert os.listdir(sftp_root) == []


def test_the_users_own_known_hosts_is_never_read(sshd: Sshd, sftp_root: Path):
    options = sshd.options()
    del options["known_hosts"]
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(sshd.url(sftp_root), options=options)
    assert_one_line(e.value, "known_hosts", "never read implicitly")


def test_a_malformed_or_special_known_hosts_file_is_one_line(sshd: Sshd, sftp_root: Path, tmp_path: Path):
    bad = tmp_path / "known_hosts"
    bad.write_text(f"[{sshd.host}]:{sshd.port} ssh-ed25519 !!!not-base64!!!\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (bad, fifo, tmp_path / "missing", tmp_path):
        with pytest.raises(TransportUnavailableError) as e:
            open_transport(sshd.url(sftp_root), options=sshd.options(known_hosts=str(path)))
        assert_one_line(e.value, str(path))


# --- client keys ------------------------------------------------------------------------------


def test_a_key_the_server_does_not_know_is_refused(sshd: Sshd, sftp_root: Path, tmp_path: Path):
    wrong = keygen(tmp_path / "wrong_key")
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(sshd.url(sftp_root), options=sshd.options(identity_file=str(wrong)))
    assert_one_line(e.value, "refused the key", f"sftp://{sshd.user}@127.0.0.1:{sshd.port}")


def test_a_wrong_user_is_refused(sshd: Sshd, sftp_root: Path):
    url = sshd.url(sftp_root).replace(f"//{sshd.user}@", "//nobody-here@")
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(url, options=sshd.options())
    assert_one_line(e.value, "refused the key", "nobody-here")


@pytest.mark.parametrize("variant", ["not-a-key", "public-key", "readable-by-others", "encrypted", "missing", "fifo"])
def test_an_unusable_identity_file_is_one_line(sshd: Sshd, sftp_root: Path, tmp_path: Path, variant: str):
    path = tmp_path / "id"
    if variant == "not-a-key":
        path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n-----END OPENSSH PRIVATE KEY-----\n")
        path.chmod(0o600)
    elif variant == "public-key":
        path.write_bytes((sshd.client_key.parent / "client_key.pub").read_bytes())
        path.chmod(0o600)
    elif variant == "readable-by-others":
        path.write_bytes(sshd.client_key.read_bytes())
        path.chmod(0o644)
    elif variant == "encrypted":
        import subprocess

        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(path)], check=True)
    elif variant == "fifo":
        os.mkfifo(path)
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(sshd.url(sftp_root), options=sshd.options(identity_file=str(path)))
    assert_one_line(e.value, str(path))


@pytest.mark.parametrize("url,expected", [
    ("sftp://root:secret-pw@127.0.0.1:{port}/srv", "carries no password"),
    ("sftp://127.0.0.1:{port}/srv", "names the user"),
    ("sftp://root@127.0.0.1:{port}", "names the folder"),
    ("sftp://root@127.0.0.1:{port}/", "names the folder"),
    ("sftp://root@127.0.0.1:{port}/srv/../etc", "'..'"),
    ("sftp://root@127.0.0.1:99999/srv", "port"),
    ("sftp://root@127.0.0.1:{port}/srv?x=1", "no query"),
])
def test_bad_sftp_urls(sshd: Sshd, url: str, expected: str):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(url.format(port=sshd.port), options=sshd.options())
    assert_one_line(e.value, expected)
    assert "secret-pw" not in str(e.value)


def test_unknown_options_and_bad_timeouts_are_refused(sshd: Sshd, sftp_root: Path):
    for options in (sshd.options(password="x"), sshd.options(timeout=0), sshd.options(timeout="5"),
                    sshd.options(timeout=10_000)):
        with pytest.raises(TransportUnavailableError) as e:
            open_transport(sshd.url(sftp_root), options=options)
        assert_one_line(e.value)
        assert "'x'" not in str(e.value)


def test_no_server_listening_is_one_line(sshd: Sshd, sftp_root: Path):
    from tests.servers.sshd import _free_port

    url = sshd.url(sftp_root).replace(f":{sshd.port}/", f":{_free_port()}/")
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(url, options=sshd.options(timeout=5))
    assert_one_line(e.value, "cannot connect")


def test_a_missing_root_folder_and_create(sshd: Sshd, tmp_path: Path):
    with pytest.raises(TransportUnavailableError) as e:
        open_transport(sshd.url(tmp_path / "missing"), options=sshd.options())
    assert_one_line(e.value, "does not exist")
    t = open_transport(sshd.url(tmp_path / "new" / "交换"), options=sshd.options(create=True))
    try:
        assert t.list() == [] and (tmp_path / "new" / "交换").is_dir()
    finally:
        t.close()


def test_relative_key_files_are_taken_against_the_base(sshd: Sshd, sftp_root: Path):
    options = sshd.options(identity_file="client_key", known_hosts="known_hosts")
    t = open_transport(sshd.url(sftp_root), base=sshd.folder, options=options)
    try:
        assert isinstance(t, SFTPTransport) and t.list() == []
    finally:
        t.close()


# --- a server dying mid-upload ----------------------------------------------------------------


def _wait_for_size(path: Path, size: int) -> None:
    deadline = time.monotonic() + 20
    while not (path.exists() and path.stat().st_size >= size):
        assert time.monotonic() < deadline, f"{path} never reached {size} bytes"
        time.sleep(0.02)


def test_a_server_killed_mid_upload_then_the_next_put_resumes(sshd: Sshd, sftp_root: Path, sftp_transport):
    data = blob(6 * BLOCK_SIZE + 321, seed=40)
    key = "inbound/LZ0012/b7/pkg.zip"
    partial = sftp_root / "inbound" / "LZ0012" / "b7" / part_name("pkg.zip")
    killed: list[int] = []

    def kill_server() -> None:
        if src.pos >= 3 * BLOCK_SIZE and not killed:
            _wait_for_size(partial, 2 * BLOCK_SIZE)  # the server has stored part of the upload
            killed.append(sshd.kill_sessions())

    src = Source(data, chunk=BLOCK_SIZE, watch=kill_server)
    with pytest.raises(TransportError) as e:
        sftp_transport.put(key, src, size=len(data), sha256=sha(data))
    assert killed and killed[0] >= 1
    assert_one_line(e.value, key, "connection")
    # the next call reconnects; nothing is visible, the partial is there
    assert sftp_transport.list() == [] and not sftp_transport.exists(key)
    assert partial.stat().st_size >= 2 * BLOCK_SIZE
    result = sftp_transport.put(key, io.BytesIO(data), size=len(data), sha256=sha(data))
    assert result.written and result.resumed_from >= 2 * BLOCK_SIZE
    assert result.sha256 == sha(data)
    assert (sftp_root / "inbound" / "LZ0012" / "b7" / "pkg.zip").read_bytes() == data
    assert not partial.exists()
    assert sftp_transport.list() == [key]


def test_a_server_killed_mid_download_is_one_line_and_the_next_get_works(sshd: Sshd, sftp_transport):
    # reads are pipelined (4 MiB requested ahead of the consumer), so a small file may be whole in
    # the client before its first write: the sessions die at the first write, and the file is large
    # enough to be still arriving.
    data = blob(64 * BLOCK_SIZE, seed=41)
    sftp_transport.put("pkg.zip", io.BytesIO(data))
    killed: list[int] = []

    class Killing(io.BytesIO):
        def write(self, chunk):  # type: ignore[override]
            if not killed:
                killed.append(sshd.kill_sessions())
            return super().write(chunk)

    with pytest.raises(TransportError) as e:
        sftp_transport.get("pkg.zip", Killing())
    assert killed[0] >= 1
    assert_one_line(e.value, "pkg.zip")
    assert sftp_transport.read("pkg.zip", max_size=len(data)) == data


# --- links and special files on the server ----------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"outside the root")
    (folder / "pkg.zip").write_bytes(b"outside pkg")
    return folder


LINKS = {
    "folder-outside": lambda root, out: (root / "inbound", out),
    "folder-inside": lambda root, out: (root / "inbound", root / "real"),
    "dangling-folder": lambda root, out: (root / "inbound", out / "nowhere"),
    "deep-folder-outside": lambda root, out: (root / "a" / "b" / "inbound", out),
}


@pytest.mark.parametrize("variant", sorted(LINKS))
def test_a_folder_link_inside_the_root_is_never_followed(sshd: Sshd, sftp_root: Path, sftp_transport,
                                                         outside: Path, variant: str):
    (sftp_root / "real").mkdir()
    (sftp_root / "real" / "pkg.zip").write_bytes(b"inside")
    link, target = LINKS[variant](sftp_root, outside)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    key = str(link.relative_to(sftp_root)) + "/pkg.zip"
    before = snapshot(outside)
    for op in (lambda: sftp_transport.put(key, io.BytesIO(b"evil")),
               lambda: sftp_transport.put(key + "2", io.BytesIO(b"evil")),
               lambda: sftp_transport.get(key, io.BytesIO()),
               lambda: sftp_transport.stat(key),
               lambda: sftp_transport.exists(key),
               lambda: sftp_transport.delete(key),
               lambda: sftp_transport.list(str(link.relative_to(sftp_root)))):
        with pytest.raises(UnsafeObjectError) as e:
            op()
        assert_one_line(e.value, "symbolic link")
    assert snapshot(outside) == before
    assert str(link.relative_to(sftp_root)) + "/pkg.zip" not in sftp_transport.list()
    assert link.is_symlink()


@pytest.mark.parametrize("variant", ["file-outside", "file-inside", "dangling", "fifo"])
def test_a_link_or_fifo_as_the_object_is_refused(sshd: Sshd, sftp_root: Path, sftp_transport,
                                                 outside: Path, variant: str):
    (sftp_root / "real.zip").write_bytes(b"inside")
    obj = sftp_root / "pkg.zip"
    if variant == "fifo":
        os.mkfifo(obj)
    else:
        obj.symlink_to({"file-outside": outside / "pkg.zip", "file-inside": sftp_root / "real.zip",
                        "dangling": outside / "nowhere"}[variant])
    before = snapshot(outside)
    for op in (lambda: sftp_transport.put("pkg.zip", io.BytesIO(b"evil")),
               lambda: sftp_transport.put("pkg.zip", io.BytesIO(b"evil"), overwrite=True),
               lambda: sftp_transport.get("pkg.zip", io.BytesIO()),  # a FIFO never blocks
               lambda: sftp_transport.stat("pkg.zip"),
               lambda: sftp_transport.exists("pkg.zip")):
        with pytest.raises(UnsafeObjectError) as e:
            op()
        assert_one_line(e.value, "pkg.zip")
    assert sftp_transport.list() == ["real.zip"]
    assert sftp_transport.delete("pkg.zip") is True  # removes the link itself, never its target
    assert not os.path.lexists(obj)
    assert snapshot(outside) == before
    assert (sftp_root / "real.zip").read_bytes() == b"inside"


def test_a_link_planted_as_the_partial_upload_is_removed_not_followed(sftp_root: Path, sftp_transport,
                                                                      outside: Path):
    (sftp_root / part_name("pkg.zip")).symlink_to(outside / "pkg.zip")
    before = snapshot(outside)
    result = sftp_transport.put("pkg.zip", io.BytesIO(b"package"))
    assert result.written and result.resumed_from == 0
    assert (sftp_root / "pkg.zip").read_bytes() == b"package" and not (sftp_root / "pkg.zip").is_symlink()
    assert snapshot(outside) == before


def test_objects_are_plain_files_on_the_server(sftp_root: Path, sftp_transport):
    data = blob(BLOCK_SIZE + 1)
    sftp_transport.put("收文/正文.pdf", io.BytesIO(data))
    assert (sftp_root / "收文" / "正文.pdf").read_bytes() == data
    assert sorted(os.listdir(sftp_root / "收文")) == ["正文.pdf"]


def test_names_no_key_can_address_are_not_listed(sftp_root: Path, sftp_transport):
    sftp_transport.put("ok.txt", io.BytesIO(b"ok"))
    (sftp_root / "cafe\u0301.txt").write_bytes(b"nfd")
    (sftp_root / "tab\tname").write_bytes(b"ctl")
    (sftp_root / ".govarc-part-stray").write_bytes(b"partial")
    assert sftp_transport.list() == ["ok.txt"]


def test_the_url_never_carries_a_secret_and_names_the_location(sshd: Sshd, sftp_root: Path, sftp_transport):
    assert sftp_transport.url == f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{sftp_root}"
    with pytest.raises(TransportError) as e:
        sftp_transport.stat("inbound/none.zip")
    assert str(e.value) == f"{sftp_transport.url}/inbound/none.zip: no such object"


def test_uploads_share_one_session_until_the_connection_drops(sshd: Sshd, sftp_root: Path, sftp_transport):
    """A batch of many packages opens one upload session, not one per package; after the server
    dropped the connection the next put opens a fresh one and still stores the right bytes."""
    t = sftp_transport
    t.put("b/1.zip", io.BytesIO(b"one"))
    first = t._uploader
    t.put("b/2.zip", io.BytesIO(b"two"), sha256=sha(b"two"))
    assert first is not None and t._uploader is first
    assert sshd.kill_sessions() > 0
    data = blob(3 * 1024 * 1024, seed=9)
    try:
        result = t.put("b/3.zip", io.BytesIO(data), sha256=sha(data))
    except TransportError:  # this put found the connection dead (one line, exit 5); the next reconnects
        result = t.put("b/3.zip", io.BytesIO(data), sha256=sha(data))
    assert result.written
    assert t._uploader is not first
    assert (sftp_root / "b" / "3.zip").read_bytes() == data
    assert sorted(p.name for p in (sftp_root / "b").iterdir()) == ["1.zip", "2.zip", "3.zip"]


# --- pipelined transfers ----------------------------------------------------------------------


def test_a_large_object_goes_up_and_down_in_bounded_memory(sftp_root: Path, sftp_transport):
    """Writes, the read-back and a download each keep at most a few MiB in flight, whatever the
    object's size, even when the consumer of a download is slower than the link."""
    from govarc.transport.sftp import AHEAD

    data = blob(48 * MIB, seed=50)
    tracemalloc.start()
    try:
        result = sftp_transport.put("big.zip", Source(data), size=len(data), sha256=sha(data))
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

        class Slow:
            def __init__(self) -> None:
                self.h = hashlib.sha256()

            def write(self, chunk: bytes) -> None:
                self.h.update(chunk)
                time.sleep(0.005)  # a consumer slower than the link: what arrives ahead must wait, bounded

        sink = Slow()
        info = sftp_transport.get("big.zip", sink, sha(data))
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.written and result.size == len(data) and info.size == len(data)
    assert sink.h.hexdigest() == sha(data)
    assert (sftp_root / "big.zip").read_bytes() == data
    # the object is 48 MiB; writes and the read-back hold AHEAD each, a download AHEAD and a block
    assert put_peak < 3 * AHEAD, put_peak
    assert get_peak < 3 * AHEAD, get_peak


@pytest.mark.parametrize("size", [0, 1, 999, 1500, 3000, 200_003])
def test_small_requests_split_and_join_exactly(sftp_root: Path, sftp_transport, monkeypatch, size: int):
    """Requests of 1,500 bytes (as a server announcing small limits gets): objects of every size around
    them go up, are read back and come down byte for byte."""
    import govarc.transport.sftp as sftp_module

    monkeypatch.setattr(sftp_module, "MAX_REQUEST", 1500)
    sftp_transport._sizes = None  # ask again, now capped
    data = blob(size, seed=51)
    result = sftp_transport.put("odd.zip", Source(data, chunk=7777), size=size, sha256=sha(data))
    assert sftp_transport._requests() == (1500, 1500)
    assert result.written and result.sha256 == sha(data)
    assert (sftp_root / "odd.zip").read_bytes() == data
    buf = io.BytesIO()
    assert sftp_transport.get("odd.zip", buf, sha(data)).size == size and buf.getvalue() == data


@pytest.mark.parametrize("extra", [b"x", blob(MIB + 3, seed=52)])
def test_bytes_beyond_the_upload_on_the_server_are_caught(sftp_root: Path, sftp_transport, monkeypatch,
                                                          extra: bytes):
    """The read-back reads the partial to its end: bytes the server holds beyond what was written
    (here appended once every write was confirmed) fail the put, and nothing becomes visible."""
    import govarc.transport.sftp as sftp_module

    partial = sftp_root / part_name("pkg.zip")
    finish = sftp_module._Writes.finish

    def finish_then_append(self: sftp_module._Writes) -> None:
        finish(self)
        with open(partial, "ab") as f:
            f.write(extra)

    monkeypatch.setattr(sftp_module._Writes, "finish", finish_then_append)
    data = blob(3 * MIB + 5, seed=53)
    with pytest.raises(TransportError) as e:
        sftp_transport.put("pkg.zip", io.BytesIO(data), size=len(data), sha256=sha(data))
    assert_one_line(e.value, "pkg.zip", f"the server holds {len(data) + len(extra)} bytes", "nothing was stored")
    assert not partial.exists() and sftp_transport.list() == []
