"""The ``transport`` fixture the contract test (``test_contract.py``) runs over, once per transport.

Each run is a fixture named ``<name>_transport`` returning an empty transport of its own; add its
name to ``TRANSPORTS`` to put it through the contract (issue #9: ``sftp`` against a real sshd,
``s3`` against a real S3-compatible server, both started and stopped by the session fixtures in
``tests/servers/fixtures.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from govarc.transport import FolderTransport, Transport, open_transport
from govarc.transport.s3 import S3Transport
from tests.servers.seaweed import Seaweed
from tests.servers.sshd import Sshd

TRANSPORTS = ["folder", "sftp", "s3"]


@pytest.fixture
def folder_transport(tmp_path: Path) -> FolderTransport:
    root = tmp_path / "传输根"
    root.mkdir()
    return FolderTransport(root)


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


@pytest.fixture
def s3_transport(s3_env: Seaweed, s3_bucket: str) -> Iterator[S3Transport]:
    """The whole bucket (no prefix: keys up to S3's 1024 bytes), emptied after each test."""
    t = S3Transport(s3_bucket, endpoint_url=s3_env.endpoint_url, client=s3_env.shared_client())
    yield t
    t.close()
    s3_env.empty_bucket(s3_bucket)
