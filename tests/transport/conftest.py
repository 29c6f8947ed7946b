"""The ``transport`` fixture the contract test (``test_contract.py``) runs over, once per transport.

Each run is a fixture named ``<name>_transport`` returning an empty transport of its own; add its
name to ``TRANSPORTS`` to put it through the contract (issue #9: ``sftp`` against a real sshd,
``s3`` against a real S3-compatible server, both started and stopped by their fixtures).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from govarc.transport import FolderTransport, Transport, open_transport
from govarc.transport.s3 import S3Transport
from tests.transport.seaweed import Seaweed
from tests.transport.sshd import Sshd, start_sshd

TRANSPORTS = ["folder", "sftp", "s3"]


@pytest.fixture
def folder_transport(tmp_path: Path) -> FolderTransport:
    root = tmp_path / "传输根"
    root.mkdir()
    return FolderTransport(root)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH sshd on 127.0.0.1, one per test session (per xdist worker), stopped by its pid."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def sftp_root(tmp_path: Path) -> Path:
    root = tmp_path / "sftp 根"
    root.mkdir()
    return root


@pytest.fixture
def sftp_transport(sshd: Sshd, sftp_root: Path) -> Iterator[Transport]:
    t = open_transport(sshd.url(sftp_root), options=sshd.options())
    yield t
    t.close()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    t: Transport = request.getfixturevalue(f"{request.param}_transport")
    assert t.list() == [], "a contract run starts from an empty location"
    yield t
    t.close()


# --- S3: one real SeaweedFS and bucket per test session (per xdist worker), a fresh prefix per test

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    server = Seaweed(tmp_path_factory.mktemp("seaweed"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_bucket(seaweed: Seaweed) -> str:
    return seaweed.create_bucket("govarc-test")  # every bucket is a SeaweedFS collection with volumes of its own


@pytest.fixture
def s3_prefix(seaweed: Seaweed, s3_bucket: str) -> Iterator[str]:
    """A prefix of its own in the session's bucket; the bucket is emptied afterwards."""
    yield f"收件/run-{next(_prefixes)}"
    seaweed.empty_bucket(s3_bucket)


@pytest.fixture
def s3_env(seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch) -> Seaweed:
    """The server's credentials in the environment, where boto3's chain finds them (and no profile file)."""
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/govarc-test-aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/govarc-test-aws-credentials")
    return seaweed


@pytest.fixture
def s3_transport(s3_env: Seaweed, s3_bucket: str) -> Iterator[S3Transport]:
    """The whole bucket (no prefix: keys up to S3's 1024 bytes), emptied after each test."""
    t = S3Transport(s3_bucket, endpoint_url=s3_env.endpoint_url, client=s3_env.shared_client())
    yield t
    t.close()
    s3_env.empty_bucket(s3_bucket)
