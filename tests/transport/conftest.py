"""The ``transport`` fixture the contract test (``test_contract.py``) runs over, once per transport.

Each run is a fixture named ``<name>_transport`` returning an empty transport of its own; add its
name to ``TRANSPORTS`` to put it through the contract (issue #9: ``sftp`` against a real sshd,
``s3`` against a real S3-compatible server, both started and stopped by their fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from govarc.transport import FolderTransport, Transport

TRANSPORTS = ["folder"]


@pytest.fixture
def folder_transport(tmp_path: Path) -> FolderTransport:
    root = tmp_path / "传输根"
    root.mkdir()
    return FolderTransport(root)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    t: Transport = request.getfixturevalue(f"{request.param}_transport")
    assert t.list() == [], "a contract run starts from an empty location"
    yield t
    t.close()
