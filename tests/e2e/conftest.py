"""End to end over real servers: an agency workspace (the test city's SZF, five signed packages) and
an archives workspace (DAG, its key from the same test CA), both naming one exchange location on a
real sshd or a real SeaweedFS S3 (``tests/servers``), driven through the ``govarc`` CLI.

``Exchange`` is one location seen three ways: the URL and options both workspaces are configured
with, a transport to look at it (and tamper with it) from the test, and the environment a
``govarc`` subprocess needs (S3 credentials).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.cli import main
from govarc.sign.pki import issue_agency, load_agency_credentials, load_ca, store_agency_credentials
from govarc.transport import Transport, open_transport
from govarc.workspace import HoldingsSettings, Workspace
from tests.catalog.conftest import PASSPHRASE, build_city
from tests.servers.seaweed import Seaweed
from tests.servers.sshd import Sshd

ARCHIVES_CODE = "DAG"
ARCHIVES_NAME = "柳州市档案馆"
KINDS = ["sftp", "s3"]


@dataclass
class Exchange:
    """The transfer location both sides use: ``url`` + ``options`` (as configured), ``env`` for subprocesses."""

    kind: str
    url: str
    options: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    sshd: Sshd | None = None
    seaweed: Seaweed | None = None

    def open(self, **options: str) -> Transport:
        return open_transport(self.url, options={**self.options, **options})

    def toml(self, table: str) -> str:
        lines = [f"[{table}.transport]"] + [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in self.options.items()]
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def golden_agency(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built test city (SZF signed, CZJ unsigned) and the archives' key pair from the same CA."""
    root = tmp_path_factory.mktemp("e2e-city")
    ws = build_city(root)
    issue_agency(load_ca(ws.pki_dir, PASSPHRASE), root / "archives-keys", ARCHIVES_CODE, ARCHIVES_NAME, PASSPHRASE)
    return root


@pytest.fixture
def sftp_exchange(sshd: Sshd, tmp_path: Path) -> Exchange:
    folder = tmp_path / "交换 sftp"
    folder.mkdir()
    return Exchange("sftp", sshd.url(folder), {"identity_file": str(sshd.client_key),
                                                "known_hosts": str(sshd.known_hosts)}, sshd=sshd)


_s3_runs = iter(range(1, 10_000))


@pytest.fixture
def s3_exchange(s3_env: Seaweed, s3_bucket: str) -> Iterator[Exchange]:
    ex = Exchange("s3", f"s3://{s3_bucket}/交换/e2e-{next(_s3_runs)}", {"endpoint_url": s3_env.endpoint_url},
                  env=dict(s3_env.env()), seaweed=s3_env)
    yield ex
    if s3_env.proc is None:  # a test that killed the server and failed before starting it again
        s3_env.start()
    s3_env.empty_bucket(s3_bucket)


@pytest.fixture(params=KINDS)
def exchange(request: pytest.FixtureRequest) -> Exchange:
    ex: Exchange = request.getfixturevalue(f"{request.param}_exchange")
    return ex


@dataclass
class Pair:
    """The two workspaces of one test and the location between them."""

    agency: Workspace
    archives: Workspace
    exchange: Exchange
    ca: Path

    def cli(self, ws: Workspace, *args: str) -> Result:
        return CliRunner().invoke(main, ["--home", str(ws.home), *args],
                                  env={"GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()})

    def run(self, *args: str) -> Result:
        return self.cli(self.agency, "transfer", "run", "--agency", "SZF", *args)

    def accept(self, *, json: bool = False) -> Result:
        return self.cli(self.archives, *(["--json"] if json else []), "accept", "--from", self.exchange.url)

    def receipts(self, *args: str) -> Result:
        return self.cli(self.agency, "transfer", "receipts", "--agency", "SZF", *args)

    def subprocess(self, ws: Workspace, *args: str) -> subprocess.Popen[bytes]:
        """``govarc --home <ws> <args>`` as a process of its own (to be killed)."""
        env = {**os.environ, **self.exchange.env, "GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()}
        return subprocess.Popen([sys.executable, "-m", "govarc", "--home", str(ws.home), *args], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def pair(golden_agency: Path, exchange: Exchange, tmp_path: Path) -> Pair:
    root = tmp_path / "city"
    shutil.copytree(golden_agency, root, symlinks=True)
    toml = root / "home" / "govarc.toml"
    text = toml.read_text(encoding="utf-8").replace(str(golden_agency), str(root))
    head, sep, agencies = text.partition("[[agency]]")
    archives = (f'\n[archives]\ncode = "{ARCHIVES_CODE}"\nname = "{ARCHIVES_NAME}"\n'
                f"url = {json.dumps(exchange.url, ensure_ascii=False)}\n\n" + exchange.toml("archives"))
    toml.write_text(head + archives + "\n" + sep + agencies, encoding="utf-8")
    agency = Workspace.open(root / "home")
    ws, _ = init_workspace(tmp_path / "档案馆", archives=HoldingsSettings(
        ARCHIVES_CODE, ARCHIVES_NAME, inbox=exchange.url, transport=tuple(exchange.options.items())))
    store_agency_credentials(ws.keys_dir(ARCHIVES_CODE), load_agency_credentials(root / "archives-keys", PASSPHRASE),
                             PASSPHRASE)
    shutil.copy(agency.pki_dir / "ca.pem", ws.trust_dir / "local-ca.pem")  # as build_city trusts its CA
    return Pair(agency, Workspace.open(ws.home), exchange, agency.pki_dir / "ca.pem")


# --- what the tests compare ---------------------------------------------------------------------


def records(ws: Workspace) -> dict[str, str]:
    """SZF's records: 档号 → state."""
    with open_catalog(ws.catalog_path) as cat:
        return {str(c): str(s) for c, s in
                cat.conn.execute("SELECT archival_code, state FROM records WHERE agency='SZF'")}


def agency_catalog(ws: Workspace) -> tuple[list[tuple[object, ...]], ...]:
    with open_catalog(ws.catalog_path) as cat:
        return (cat.conn.execute("SELECT id, state FROM records ORDER BY id").fetchall(),
                cat.conn.execute("SELECT * FROM batches ORDER BY id").fetchall(),
                cat.conn.execute("SELECT * FROM batch_items ORDER BY batch_id, record_id").fetchall())


def held(ws: Workspace) -> dict[str, bytes]:
    """The archives' holdings: key → bytes."""
    return {p.relative_to(ws.home).as_posix(): p.read_bytes() for p in sorted((ws.home / "holdings").rglob("*.zip"))}


def openssl_verify(data: bytes, sig: bytes, ca: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "doc.xml").write_bytes(data)
    (tmp / "doc.p7s").write_bytes(sig)
    return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp / "doc.p7s"),
                           "-content", str(tmp / "doc.xml"), "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null"],
                          capture_output=True, text=True)
