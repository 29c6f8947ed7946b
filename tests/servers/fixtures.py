"""The real servers, as session fixtures any test folder can use (a plugin of ``tests/conftest.py``).

``sshd``: a real OpenSSH sshd (:mod:`tests.servers.sshd`); ``seaweed``: a real SeaweedFS S3
(:mod:`tests.servers.seaweed`), with ``s3_bucket``, ``s3_prefix`` and ``s3_env``. Each is started
once per test session (per xdist worker) on loopback, on first use, and stopped by its process id.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.servers.seaweed import Seaweed
from tests.servers.sshd import Sshd, start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH sshd on 127.0.0.1, one per test session (per xdist worker), stopped by its pid."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


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


