"""The content-addressed object store: paths, staging with digest checks, all-or-nothing publishing."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from govarc.errors import InvalidInputError
from govarc.store.objects import ObjectStore


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_below(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_an_object_lives_under_its_digest(tmp_path):
    store = ObjectStore(tmp_path)
    digest = sha(b"x")
    assert store.path(digest) == tmp_path / digest[:2] / digest
    assert not store.has(digest)


def test_put_files_stores_each_content_once_and_opens_it(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    store.put_files([(sha(b"same"), a), (sha(b"same"), b)])
    assert store.has(sha(b"same"))
    with store.open(sha(b"same")) as f:
        assert f.read() == b"same"
    assert files_below(tmp_path / "objects") == [store.path(sha(b"same"))]
    assert a.read_bytes() == b"same"  # the input is only read


def test_put_files_with_a_wrong_digest_stores_nothing(tmp_path):
    store = ObjectStore(tmp_path / "objects")
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(b"good")
    bad.write_bytes(b"changed")
    with pytest.raises(InvalidInputError) as e:
        store.put_files([(sha(b"good"), good), (sha(b"bad"), bad)])
    assert e.value.path == str(bad)
    assert files_below(tmp_path / "objects") == []  # neither object, no temporary left


def test_a_stored_object_is_not_copied_again(tmp_path):
    store = ObjectStore(tmp_path)
    digest = sha(b"one")
    with store.staging() as staging:
        assert staging.needs(digest)
        assert staging.add(digest, io.BytesIO(b"one"))
        assert not staging.needs(digest)  # staged
        assert not store.has(digest)  # not visible before publish
        staging.publish()
    assert store.has(digest)
    with store.staging() as staging:
        assert not staging.needs(digest)


def test_a_mismatching_copy_is_refused_and_not_kept(tmp_path):
    store = ObjectStore(tmp_path)
    with store.staging() as staging:
        assert not staging.add(sha(b"expected"), io.BytesIO(b"other"))
        assert staging.needs(sha(b"expected"))
        staging.publish()
    assert files_below(tmp_path) == []


def test_discarded_and_unpublished_copies_leave_nothing(tmp_path):
    store = ObjectStore(tmp_path)
    with store.staging() as staging:
        staging.add(sha(b"a"), io.BytesIO(b"a"))
        staging.add(sha(b"b"), io.BytesIO(b"b"))
        staging.discard([sha(b"a")])
        assert staging.needs(sha(b"a")) and not staging.needs(sha(b"b"))
        staging.publish()
    assert files_below(tmp_path) == [store.path(sha(b"b"))]
    with pytest.raises(RuntimeError), store.staging() as staging:
        staging.add(sha(b"c"), io.BytesIO(b"c"))
        raise RuntimeError("interrupted before publishing")
    assert files_below(tmp_path) == [store.path(sha(b"b"))]


def test_a_failing_read_leaves_no_temporary(tmp_path):
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[no-untyped-def]
            raise OSError(5, "Input/output error")

    store = ObjectStore(tmp_path)
    with store.staging() as staging, pytest.raises(OSError):
        staging.add(sha(b"x"), Broken())  # type: ignore[arg-type]
    assert files_below(tmp_path) == []
