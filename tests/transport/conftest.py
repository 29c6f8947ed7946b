"""The ``transport`` fixture the contract test (``test_contract.py``) runs over, once per transport.

Each run is a fixture named ``<name>_transport`` returning an empty transport of its own; add its
name to ``TRANSPORTS`` to put it through the contract (issue #9: ``sftp`` against a real sshd,
``s3`` against a real S3-compatible server, both started and stopped by their fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from govarc.transport import FolderTransport, Transport, open_transport
from tests.transport.sshd import Sshd, start_sshd

TRANSPORTS = ["folder", "sftp"]


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
