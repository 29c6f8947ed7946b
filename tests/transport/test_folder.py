"""The folder transport beyond the contract: links, FIFOs, sockets, partial uploads, dead writers."""

from __future__ import annotations

import io
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from govarc.transport import (
    BLOCK_SIZE,
    FolderTransport,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    TransportBusyError,
    TransportError,
    TransportUnavailableError,
    UnsafeObjectError,
)
from govarc.transport.folder import PART_PREFIX, part_name
from tests.transport.streams import Interrupted, Source, blob, sha

ROOT_DIR = Path(__file__).resolve().parents[2]
SECRET = b"outside the transport root"


def snapshot(path: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry below ``path`` (links not followed): kind and, for files, content."""
    out: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[str(p.relative_to(path))] = ("link", os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                out[str(p.relative_to(path))] = ("file", p.read_bytes())
            else:
                out[str(p.relative_to(path))] = (stat.filemode(st.st_mode)[0], b"")
    return out


def no_hang(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a thread, so that a FIFO opened by mistake fails the test instead of hanging it."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(60)
    assert not th.is_alive(), "the operation blocked (a FIFO was opened?)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


@pytest.fixture
def hub(tmp_path: Path) -> FolderTransport:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "hub"
    root.mkdir()
    t = FolderTransport(root)
    t.put("inbound/LZ0012/b1/pkg.zip", io.BytesIO(b"package"))
    return t


def outside(t: FolderTransport) -> Path:
    return t.root.parent / "outside"


def all_operations(t: FolderTransport, key: str) -> dict[str, Callable[[], object]]:
    return {
        "put": lambda: t.put(key, io.BytesIO(b"new")),
        "put-overwrite": lambda: t.put(key, io.BytesIO(b"new"), overwrite=True),
        "publish": lambda: t.publish(key, b"<list/>"),
        "get": lambda: t.get(key, io.BytesIO()),
        "read": lambda: t.read(key),
        "stat": lambda: t.stat(key),
        "exists": lambda: t.exists(key),
    }


# --- symbolic links ---------------------------------------------------------------------------


def _link_parent_outside(t: FolderTransport) -> str:
    (t.root / "inbound" / "DAJ").symlink_to(outside(t), target_is_directory=True)
    return "inbound/DAJ/secret.txt"


def _link_parent_relative(t: FolderTransport) -> str:
    (t.root / "a").mkdir()
    (t.root / "a" / "b").symlink_to(Path("..") / ".." / "outside")
    return "a/b/secret.txt"


def _link_root_level(t: FolderTransport) -> str:
    (t.root / "up").symlink_to(t.root.parent)
    return "up/outside/secret.txt"


def _link_parent_inside(t: FolderTransport) -> str:
    (t.root / "alias").symlink_to(t.root / "inbound")
    return "alias/LZ0012/b1/pkg.zip"


PARENT_LINKS = [_link_parent_outside, _link_parent_relative, _link_root_level, _link_parent_inside]


@pytest.mark.parametrize("make", PARENT_LINKS, ids=lambda f: f.__name__[1:])
@pytest.mark.parametrize("op", ["put", "put-overwrite", "publish", "get", "read", "stat", "exists"])
def test_a_key_through_a_linked_folder_is_refused(hub, make, op):
    key = make(hub)
    before_out, before_hub = snapshot(outside(hub)), snapshot(hub.root)
    for k in (key, key.rsplit("/", 1)[0] + "/new.txt"):
        with pytest.raises(UnsafeObjectError) as e:
            all_operations(hub, k)[op]()
        assert "symbolic link" in str(e.value) and "\n" not in str(e.value)
    assert snapshot(outside(hub)) == before_out
    assert snapshot(hub.root) == before_hub


@pytest.mark.parametrize("make", PARENT_LINKS, ids=lambda f: f.__name__[1:])
def test_delete_and_list_through_a_linked_folder_are_refused(hub, make):
    key = make(hub)
    before = snapshot(outside(hub))
    with pytest.raises(UnsafeObjectError):
        hub.delete(key)
    with pytest.raises(UnsafeObjectError):
        hub.list(key.rsplit("/", 1)[0])
    assert hub.list() == ["inbound/LZ0012/b1/pkg.zip"]  # the link is neither listed nor followed
    assert snapshot(outside(hub)) == before


def _link_to_outside_file(t: FolderTransport) -> Path:
    return outside(t) / "secret.txt"


def _link_to_inside_file(t: FolderTransport) -> Path:
    return t.root / "inbound" / "LZ0012" / "b1" / "pkg.zip"


def _link_dangling(t: FolderTransport) -> Path:
    return outside(t) / "does-not-exist"


def _link_to_folder(t: FolderTransport) -> Path:
    return outside(t)


@pytest.mark.parametrize("target", [_link_to_outside_file, _link_to_inside_file, _link_dangling, _link_to_folder],
                         ids=lambda f: f.__name__[1:])
@pytest.mark.parametrize("op", ["put", "put-overwrite", "publish", "get", "read", "stat", "exists"])
def test_an_object_that_is_a_link_is_refused(hub, target, op):
    (hub.root / "inbound" / "LZ0012" / "b1" / "list.xml").symlink_to(target(hub))
    before_out, before_hub = snapshot(outside(hub)), snapshot(hub.root)
    with pytest.raises(UnsafeObjectError) as e:
        all_operations(hub, "inbound/LZ0012/b1/list.xml")[op]()
    assert "symbolic link" in str(e.value)
    assert snapshot(outside(hub)) == before_out and snapshot(hub.root) == before_hub
    assert hub.list() == ["inbound/LZ0012/b1/pkg.zip"]


def test_delete_removes_a_link_never_its_target(hub):
    link = hub.root / "inbound" / "LZ0012" / "b1" / "list.xml"
    link.symlink_to(outside(hub) / "secret.txt")
    assert hub.delete("inbound/LZ0012/b1/list.xml") is True
    assert not os.path.lexists(link)
    assert (outside(hub) / "secret.txt").read_bytes() == SECRET


def test_a_link_loop_is_listed_once_and_not_followed(hub):
    (hub.root / "inbound" / "loop").symlink_to(hub.root)
    (hub.root / "inbound" / "self").symlink_to("self")
    assert hub.list() == ["inbound/LZ0012/b1/pkg.zip"]


def test_a_link_planted_as_the_partial_upload_is_not_written_through(hub):
    name_dir = hub.root / "inbound" / "LZ0012" / "b1"
    (name_dir / part_name("new.zip")).symlink_to(outside(hub) / "secret.txt")
    data = blob(2 * BLOCK_SIZE + 3)
    assert hub.put("inbound/LZ0012/b1/new.zip", io.BytesIO(data)).resumed_from == 0
    assert hub.read("inbound/LZ0012/b1/new.zip", max_size=len(data)) == data
    assert (outside(hub) / "secret.txt").read_bytes() == SECRET
    assert not os.path.lexists(name_dir / part_name("new.zip"))


# --- FIFOs, sockets, plain files in the way ---------------------------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    short = path.parents[3] / "s.sock"  # AF_UNIX paths are limited to ~108 bytes: bind, then move
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(short))
    finally:
        s.close()
    os.rename(short, path)


@pytest.mark.parametrize("make", [_fifo, _socket], ids=["fifo", "socket"])
@pytest.mark.parametrize("op", ["put", "put-overwrite", "publish", "get", "read", "stat", "exists"])
def test_a_special_file_at_the_key_is_refused_without_blocking(hub, make, op):
    make(hub.root / "inbound" / "LZ0012" / "b1" / "list.xml")
    before = snapshot(hub.root)
    with pytest.raises(UnsafeObjectError) as e:
        no_hang(all_operations(hub, "inbound/LZ0012/b1/list.xml")[op])
    assert "FIFO" in str(e.value) or "socket" in str(e.value)
    assert snapshot(hub.root) == before
    assert no_hang(hub.list) == ["inbound/LZ0012/b1/pkg.zip"]


@pytest.mark.parametrize("op", ["put", "get", "stat", "exists", "delete"])
def test_a_fifo_in_place_of_a_folder_is_refused_without_blocking(hub, op):
    os.mkfifo(hub.root / "inbound" / "pipe")
    ops = all_operations(hub, "inbound/pipe/x") | {"delete": lambda: hub.delete("inbound/pipe/x")}
    with pytest.raises(UnsafeObjectError):
        no_hang(ops[op])


def test_delete_removes_a_fifo_without_opening_it(hub):
    os.mkfifo(hub.root / "inbound" / "LZ0012" / "b1" / "list.xml")
    assert no_hang(lambda: hub.delete("inbound/LZ0012/b1/list.xml")) is True


def test_a_fifo_planted_as_the_partial_upload_is_replaced(hub):
    os.mkfifo(hub.root / "inbound" / "LZ0012" / "b1" / part_name("new.zip"))
    result = no_hang(lambda: hub.put("inbound/LZ0012/b1/new.zip", io.BytesIO(b"data")))
    assert result.written and hub.read("inbound/LZ0012/b1/new.zip") == b"data"


def test_a_plain_file_in_place_of_a_folder(hub):
    with pytest.raises(ObjectExistsError):
        hub.put("inbound/LZ0012/b1/pkg.zip/inner", io.BytesIO(b"x"))
    assert not hub.exists("inbound/LZ0012/b1/pkg.zip/inner")
    with pytest.raises(ObjectNotFoundError):
        hub.stat("inbound/LZ0012/b1/pkg.zip/inner")
    assert hub.delete("inbound/LZ0012/b1/pkg.zip/inner") is False


def test_names_no_key_can_address_are_not_listed(hub):
    folder = hub.root / "inbound" / "LZ0012" / "b1"
    for name in ["cafe\u0301.zip", "new\nline.zip", "tab\t.zip", PART_PREFIX + "abc", ".govarc-other"]:
        (folder / name).write_bytes(b"x")
    (folder / "bad\x1bdir").mkdir()
    (folder / "bad\x1bdir" / "inner.zip").write_bytes(b"x")
    with open(os.path.join(os.fsencode(folder), b"latin1-\xe9.zip"), "wb") as f:  # not UTF-8
        f.write(b"x")
    assert hub.list() == ["inbound/LZ0012/b1/pkg.zip"]


def test_an_object_that_grows_while_read_is_cut_at_the_limit(hub):
    path = hub.root / "inbound" / "LZ0012" / "b1" / "pkg.zip"

    class Growing(io.BytesIO):
        def write(self, data) -> int:  # the far side appends while we read
            with open(path, "ab") as f:
                f.write(b"y" * (2 * BLOCK_SIZE))
            return super().write(data)

    with pytest.raises(ObjectTooLargeError):
        hub.get("inbound/LZ0012/b1/pkg.zip", Growing(), max_size=BLOCK_SIZE)


# --- partial uploads --------------------------------------------------------------------------


def test_the_partial_upload_is_hidden_beside_the_object(hub):
    data = blob(3 * BLOCK_SIZE)
    with pytest.raises(Interrupted):
        hub.put("inbound/LZ0012/b2/pkg.zip", Source(data, fail_at=BLOCK_SIZE + 10))
    partial = hub.root / "inbound" / "LZ0012" / "b2" / part_name("pkg.zip")
    assert partial.stat().st_size == BLOCK_SIZE + 10
    assert os.listdir(partial.parent) == [partial.name]
    assert hub.list() == ["inbound/LZ0012/b1/pkg.zip"]


def test_a_partial_that_was_changed_is_reused_only_up_to_the_change(hub):
    data = blob(3 * BLOCK_SIZE, seed=4)
    with pytest.raises(Interrupted):
        hub.put("k.zip", Source(data, fail_at=2 * BLOCK_SIZE + 10))
    partial = hub.root / part_name("k.zip")
    with open(partial, "r+b") as f:
        f.seek(1234567)
        byte = f.read(1)
        f.seek(1234567)
        f.write(bytes([byte[0] ^ 1]))
    result = hub.put("k.zip", io.BytesIO(data), sha256=sha(data))
    assert result.resumed_from == 1234567
    assert hub.read("k.zip", max_size=len(data)) == data


def test_a_partial_left_as_a_second_name_of_a_published_object_is_never_written_through(hub):
    # a crash between link(partial, object) and unlink(partial) leaves both names on one file
    folder = hub.root / "inbound" / "LZ0012" / "b1"
    os.link(folder / "pkg.zip", folder / part_name("pkg.zip"))
    with pytest.raises(ObjectExistsError):
        hub.put("inbound/LZ0012/b1/pkg.zip", io.BytesIO(b"pack--different"))
    assert hub.read("inbound/LZ0012/b1/pkg.zip") == b"package"
    assert hub.put("inbound/LZ0012/b1/pkg.zip", io.BytesIO(b"package")).written is False


def test_a_second_writer_of_the_same_key_is_busy(hub):
    data = blob(3 * BLOCK_SIZE, seed=6)
    outcomes: list[object] = []

    def intrude() -> None:
        if outcomes:
            return
        try:
            hub.put("k.zip", io.BytesIO(b"other"))
            outcomes.append("stored")
        except TransportBusyError as e:
            outcomes.append(e)
        hub.put("other.zip", io.BytesIO(b"fine"))  # another key is not blocked
        outcomes.append(hub.clean_temporaries(max_age=0))  # a running writer's partial is kept

    hub.put("k.zip", Source(data, chunk=BLOCK_SIZE // 2, watch=intrude))
    assert isinstance(outcomes[0], TransportBusyError) and "k.zip" in str(outcomes[0])
    assert outcomes[1] == 0
    assert hub.read("k.zip", max_size=len(data)) == data


WRITER = """
import io, random, sys
from govarc.transport import FolderTransport

class Slow:
    def __init__(self, data):
        self.data, self.pos = data, 0
    def read(self, n=-1):
        if self.pos >= 2 * 1024 * 1024:
            sys.stdout.write("ready\\n"); sys.stdout.flush()
            sys.stdin.readline()  # wait here until killed
        out = self.data[self.pos:self.pos + min(n, 1024 * 1024)]
        self.pos += len(out)
        return out

data = random.Random(8).randbytes(5 * 1024 * 1024 + 3)
FolderTransport(sys.argv[1]).put("inbound/LZ0012/b9/pkg.zip", Slow(data))
"""


def test_a_writer_killed_mid_upload_leaves_nothing_visible_and_the_next_put_resumes(hub):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(hub.root)], cwd=ROOT_DIR,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        key = "inbound/LZ0012/b9/pkg.zip"
        assert not hub.exists(key) and hub.list("inbound/LZ0012/b9") == []
        with pytest.raises(TransportBusyError):
            hub.put(key, io.BytesIO(b"x"))
        assert hub.clean_temporaries(max_age=0) == 0  # the writer is alive
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    data = blob(5 * 1024 * 1024 + 3, seed=8)
    result = hub.put(key, io.BytesIO(data), size=len(data), sha256=sha(data))
    assert result.resumed_from == 2 * 1024 * 1024
    assert hub.read(key, max_size=len(data)) == data


def test_clean_temporaries_removes_dead_writers_partials_everywhere(hub):
    for key in ("a.zip", "x/y/b.zip", "inbound/LZ0012/b1/c.zip"):
        with pytest.raises(Interrupted):
            hub.put(key, Source(blob(10), fail_at=5))
    os.mkfifo(hub.root / "x" / (PART_PREFIX + "junk"))
    assert hub.clean_temporaries(max_age=3600) == 1  # only the junk: the partials are recent
    assert hub.clean_temporaries(max_age=0) == 3
    leftovers = [p for p in hub.root.rglob("*") if p.name.startswith(PART_PREFIX)]
    assert leftovers == []
    assert hub.list() == ["inbound/LZ0012/b1/pkg.zip"]


# --- the root ---------------------------------------------------------------------------------


def test_the_root_must_be_an_existing_absolute_folder(tmp_path: Path):
    with pytest.raises(TransportUnavailableError):
        FolderTransport(tmp_path / "missing")
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(TransportUnavailableError):
        FolderTransport(tmp_path / "file")
    with pytest.raises(TransportUnavailableError):
        FolderTransport(Path("relative/hub"))
    t = FolderTransport(tmp_path / "new" / "交换", create=True)
    assert t.list() == [] and (tmp_path / "new" / "交换").is_dir()


def test_a_root_removed_later_is_one_clear_error(tmp_path: Path):
    t = FolderTransport(tmp_path / "hub", create=True)
    (tmp_path / "hub").rmdir()
    with pytest.raises(TransportUnavailableError) as e:
        t.list()
    assert str(tmp_path / "hub") in str(e.value) and e.value.exit_code == 5


def test_objects_are_plain_files_readable_without_govarc(hub):
    data = blob(BLOCK_SIZE + 1)
    hub.put("收文/正文.pdf", io.BytesIO(data))
    assert (hub.root / "收文" / "正文.pdf").read_bytes() == data


def test_errors_are_transfer_errors_naming_the_location(hub):
    with pytest.raises(TransportError) as e:
        hub.stat("inbound/none.zip")
    assert str(e.value) == f"{hub.root}/inbound/none.zip: no such object"
