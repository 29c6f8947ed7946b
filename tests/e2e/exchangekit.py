"""The document exchange over a real hub (sshd or SeaweedFS S3): one workspace, a sender and four recipients.

The test city (``build_city``: SZF with signed packages, CZJ) gets three more agencies, DAJ, GAJ
and WJW, and every recipient a key from the city's test CA, as each would hold in its own
installation; a stranger (DAX, same CA, no agency of the workspace) signs forgeries. CZJ hands
what it receives to an OA drop folder, DAJ signs for it automatically (``auto_sign_for``), GAJ and
WJW only keep it. ``[exchange]`` names the hub of the test (``tests/e2e/conftest.py``'s
``exchange``: a folder on the session's sshd, or a fresh prefix in the session's S3 bucket).

:class:`XCity` drives the ``govarc`` CLI (in process, or as a subprocess to be killed), and looks
at the hub behind the transport's back: :meth:`XCity.raw` lists every object really there
(temporaries and unfinished uploads included), :meth:`XCity.tamper` rewrites one as an attacker
with write access to the storage would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner, Result

from govarc.catalog.db import open_catalog
from govarc.cli import main
from govarc.sign.pki import Credentials, issue_agency, load_agency_credentials, load_ca
from govarc.transport import Transport
from govarc.workspace import Workspace
from tests.catalog.conftest import PASSPHRASE, build_city
from tests.e2e.conftest import Exchange

ROOT = Path(__file__).resolve().parents[2]
SENDER = "SZF"
RECIPIENTS = ("CZJ", "DAJ", "GAJ", "WJW")
GROUP = "市直部门"
NEW_AGENCIES = {"DAJ": ("柳州市档案局", "0041"), "GAJ": ("柳州市公安局", "0052"), "WJW": ("柳州市卫生健康委员会", "0063")}
NAMES = {"CZJ": "柳州市财政局", **{c: n for c, (n, _) in NEW_AGENCIES.items()}}
STRANGER = "DAX"
ENV = {"GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()}


@pytest.fixture(scope="session")
def golden_xchange(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built test city, the recipients' keys in its workspace, and a stranger's keys outside it."""
    root = tmp_path_factory.mktemp("e2e-exchange-city")
    ws = build_city(root)
    ca = load_ca(ws.pki_dir, PASSPHRASE)
    for code, name in NAMES.items():
        issue_agency(ca, ws.keys_dir(code), code, name, PASSPHRASE)
    issue_agency(ca, root / "stranger-keys", STRANGER, "冒名机构", PASSPHRASE)
    return root


def _config(root: Path, ex: Exchange) -> str:
    """The additions to the city's govarc.toml: CZJ's OA drop folder, three more agencies, [exchange]."""
    agencies = "".join(f'\n[[agency]]\ncode = "{c}"\nname = "{n}"\nfonds = "{f}"\nunit = "BGS"\n'
                       + ("auto_sign_for = true\n" if c == "DAJ" else "")
                       for c, (n, f) in NEW_AGENCIES.items())
    exchange = (f"\n[exchange]\nurl = {json.dumps(ex.url, ensure_ascii=False)}\nduplicate_window_days = 30\n\n"
                + ex.toml("exchange")
                + f'\n[exchange.groups]\n"{GROUP}" = {json.dumps(list(RECIPIENTS))}\n')
    return agencies + exchange


@dataclass
class XCity:
    """The city copy of one test and the hub it exchanges through."""

    ws: Workspace
    root: Path
    exchange: Exchange

    # --- the CLI -------------------------------------------------------------------------------

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--home", str(self.ws.home), *args], env=ENV)

    def ok(self, *args: str) -> Any:
        """Run ``govarc ARGS --json``, expect exit 0, return the JSON document."""
        r = self.cli(*args, "--json")
        assert r.exit_code == 0, (args, r.output)
        return json.loads(r.stdout)

    def send(self, code: str | None = None, *extra: str) -> Any:
        return self.ok("send", code or self.package_code(), "--agency", SENDER, "--to", "CZJ", "--cc", GROUP, *extra)

    def popen(self, *args: str, kill_at: int = 0, targets: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        """``govarc --home <home> ARGS`` as a process of its own; with ``kill_at`` it SIGKILLs itself on the
        ``kill_at``-th call of ``targets`` (:mod:`tests.e2e.killer`)."""
        env = {**os.environ, **self.exchange.env, **ENV}
        head = ([sys.executable, "-m", "tests.e2e.killer", str(kill_at), ",".join(targets), "--"] if kill_at
                else [sys.executable, "-m", "govarc"])
        return subprocess.Popen([*head, "--home", str(self.ws.home), *args], env=env, cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # --- the workspace -------------------------------------------------------------------------

    @property
    def oa_drop(self) -> Path:
        return self.root / "oa-drop"

    def package_code(self, n: int = 3) -> str:
        """SZF's packaged records: three folder packages, then two zips (default: the first zip)."""
        with open_catalog(self.ws.catalog_path) as cat:
            return str(cat.conn.execute("SELECT archival_code FROM records WHERE agency='SZF' ORDER BY id")
                       .fetchall()[n][0])

    def creds(self, code: str) -> Credentials:
        path = self.root / "stranger-keys" if code == STRANGER else self.ws.keys_dir(code)
        return load_agency_credentials(path, PASSPHRASE)

    def sign_as(self, code: str, data: bytes) -> bytes:
        """A detached CMS signature over ``data`` with agency ``code``'s key (as its own documents are signed)."""
        from govarc.sign.cms import sign_bytes

        creds = self.creds(code)
        return sign_bytes(data, creds.key, creds.cert, creds.chain)

    def catalog(self) -> dict[str, list[tuple[object, ...]]]:
        """Every exchange table of the catalog and the records, to compare before and after."""
        with open_catalog(self.ws.catalog_path) as cat:
            return {t: cat.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                    for t in ("messages", "message_recipients", "incoming", "incoming_refused", "records")}

    def incoming(self) -> list[tuple[str, str, str]]:
        """(message id, recipient, state) of every message received."""
        with open_catalog(self.ws.catalog_path) as cat:
            return [(str(m), str(r), str(s)) for m, r, s in cat.conn.execute(
                "SELECT message_id, recipient, state FROM incoming ORDER BY message_id, recipient")]

    def local_files(self) -> dict[str, list[str]]:
        """What the workspace keeps of received messages, and what the OA got."""
        def names(folder: Path) -> list[str]:
            return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []

        return {"incoming": names(self.ws.home / "incoming"), "oa": names(self.oa_drop),
                "outgoing": names(self.ws.home / "exchange-outgoing")}

    # --- the hub, behind the transport's back --------------------------------------------------

    def hub(self) -> Transport:
        return self.exchange.open()

    @property
    def folder(self) -> Path:
        """SFTP: the hub's folder on the server (this machine)."""
        assert self.exchange.kind == "sftp"
        return Path(unquote(urlsplit(self.exchange.url).path))

    @property
    def _bucket_prefix(self) -> tuple[str, str]:
        parts = urlsplit(self.exchange.url)
        return parts.netloc, unquote(parts.path).strip("/") + "/"

    def raw(self) -> list[str]:
        """Every object really on the hub (relative to it), temporaries and unfinished uploads included."""
        if self.exchange.kind == "sftp":
            return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if not p.is_dir())
        assert self.exchange.seaweed is not None
        client = self.exchange.seaweed.shared_client()
        bucket, prefix = self._bucket_prefix
        keys = [o["Key"][len(prefix):] for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]
        uploads = [f"(unfinished upload) {u['Key'][len(prefix):]}" for page in client.get_paginator(
            "list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix) for u in page.get("Uploads", [])]
        return sorted(keys + uploads)

    def raw_read(self, key: str) -> bytes:
        if self.exchange.kind == "sftp":
            return (self.folder / key).read_bytes()
        assert self.exchange.seaweed is not None
        bucket, prefix = self._bucket_prefix
        return bytes(self.exchange.seaweed.shared_client().get_object(Bucket=bucket, Key=prefix + key)["Body"].read())

    def tamper(self, key: str, data: bytes, *, keep_metadata: bool = False) -> None:
        """Replace the object under ``key`` with ``data`` directly in the storage. S3 with ``keep_metadata``:
        the object keeps the metadata govarc stored with it (its SHA-256 then lies about the bytes)."""
        if self.exchange.kind == "sftp":
            path = self.folder / key
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".attacker")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            return
        assert self.exchange.seaweed is not None
        client = self.exchange.seaweed.shared_client()
        bucket, prefix = self._bucket_prefix
        meta: dict[str, str] = {}
        if keep_metadata:
            meta = client.head_object(Bucket=bucket, Key=prefix + key).get("Metadata") or {}
            assert meta, "govarc stores the SHA-256 as metadata"
        client.put_object(Bucket=bucket, Key=prefix + key, Body=data, Metadata=meta)


@pytest.fixture
def xcity(golden_xchange: Path, exchange: Exchange, tmp_path: Path) -> Iterator[XCity]:
    root = tmp_path / "city"
    shutil.copytree(golden_xchange, root, symlinks=True)
    (root / "oa-drop").mkdir()
    toml = root / "home" / "govarc.toml"
    text = toml.read_text(encoding="utf-8").replace(str(golden_xchange), str(root))
    at = text.index('code = "CZJ"')
    text = text[:at] + f"oa_drop = {json.dumps(str(root / 'oa-drop'), ensure_ascii=False)}\n" + text[at:]
    toml.write_text(text + _config(root, exchange), encoding="utf-8")
    yield XCity(Workspace.open(root / "home"), root, exchange)


def openssl_verify_on_hub(city: XCity, key: str, tmp: Path) -> None:
    """Fetch ``key`` and its ``.p7s`` from the server (not through govarc) and verify them with stock OpenSSL."""
    from tests.e2e.conftest import openssl_verify

    v = openssl_verify(city.raw_read(key), city.raw_read(key + ".p7s"), city.ws.pki_dir / "ca.pem", tmp)
    assert v.returncode == 0, (key, v.stderr)
