"""A city whose SZF sends a signed package to CZJ over a folder hub; CZJ receives (one workspace, two agencies).

Envelopes and packages are put on the hub by hand with the documents module and SZF's key, as a
sender would; a stranger agency (DAX, same test CA) signs forgeries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from govarc.catalog.db import open_catalog
from govarc.domain import Agency
from govarc.exchange.documents import Envelope, Role, Urgency, envelope_key, envelope_to_xml, package_key
from govarc.exchange.receive import ReceiveReport, ReceiveSettings, detached, receive
from govarc.sign.agency import workspace_policy
from govarc.sign.cms import make_signer
from govarc.sign.pki import Credentials, issue_agency, load_agency_credentials, load_ca
from govarc.sign.documents import sign_document
from govarc.transport import FolderTransport
from govarc.workspace import Workspace
from tests.catalog.conftest import PASSPHRASE, build_city

OA_SCRIPT = '''
import json, os, sys, time
log, flags = sys.argv[1], sys.argv[2]
package, meta_path = sys.argv[-2], sys.argv[-1]
meta = json.loads(sys.stdin.read())
mid = meta["message_id"]
with open(os.path.join(flags, "started.log"), "a") as f:
    f.write(mid + " " + str(os.getpid()) + "\\n")
if os.path.exists(os.path.join(flags, "hang-" + mid)):
    time.sleep(600)
if os.path.exists(os.path.join(flags, "fail-" + mid)):
    sys.stderr.write("OA queue refused the document\\n")
    sys.exit(3)
assert json.loads(open(meta_path, encoding="utf-8").read()) == meta
with open(log, "a") as f:
    f.write(json.dumps({"mid": mid, "package": package, "meta": meta_path, "size": os.path.getsize(package)}) + "\\n")
'''


@pytest.fixture(scope="package")
def golden_exchange(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exchange-city")
    ws = build_city(root)
    ca = load_ca(ws.pki_dir, PASSPHRASE)
    issue_agency(ca, ws.keys_dir("CZJ"), "CZJ", "柳州市财政局", PASSPHRASE)
    issue_agency(ca, root / "stranger-keys", "DAX", "某单位", PASSPHRASE)
    (root / "oa.py").write_text(OA_SCRIPT, encoding="utf-8")
    return root


@dataclasses.dataclass
class Hub:
    """The city copy: the workspace, the hub, the senders' keys, the OA script's folders."""

    ws: Workspace
    root: Path
    hub: FolderTransport

    def creds(self, who: str = "SZF") -> Credentials:
        path = self.root / "stranger-keys" if who == "DAX" else self.ws.keys_dir(who)
        return load_agency_credentials(path, PASSPHRASE)

    def package(self, n: int = 0) -> Path:
        return sorted((self.ws.home / "store" / "SZF").glob("*.zip"))[n]

    def put_package(self, path: Path) -> tuple[str, int]:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        with open(path, "rb") as f:
            self.hub.put(package_key(sha), f)
        return sha, len(data)

    def envelope(self, recipient: str = "CZJ", *, mid: str | None = None, sent_at: dt.datetime | None = None,
                 package: Path | None = None, **changes: Any) -> Envelope:
        sha, size = self.put_package(package or self.package())
        sent = sent_at or dt.datetime.now(dt.timezone.utc)
        mid = mid or f"SZF-{sent:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
        env = Envelope(mid, "SZF", "柳州市人民政府办公室", recipient, Role.TO, ("CZJ",), ("SZF",), Urgency.PRIORITY,
                       (sent + dt.timedelta(days=3)).isoformat(timespec="seconds"), sent.isoformat(timespec="seconds"),
                       None, "关于做好2024年预算执行工作的通知", "柳政发〔2024〕1号", package_key(sha), sha, size, True)
        return dataclasses.replace(env, **changes)

    def post(self, env: Envelope, *, signer: str = "SZF", inbox: str | None = None, xml: bytes | None = None) -> str:
        data = xml if xml is not None else envelope_to_xml(env)
        key = envelope_key(inbox or env.recipient_code, env.message_id)
        self.hub.publish(key, data, overwrite=True)
        self.hub.publish(key + ".p7s", sign_document(data, self.creds(signer)), overwrite=True)
        return env.message_id

    def send(self, **kw: Any) -> str:
        return self.post(self.envelope(**kw))

    def agency(self, **oa: Any) -> Agency:
        return dataclasses.replace(self.ws.agency("CZJ"), **oa)

    def oa_command(self, **kw: Any) -> Agency:
        return self.agency(oa_command=(sys.executable, str(self.root / "oa.py"), str(self.oa_log), str(self.flags)),
                           **kw)

    @property
    def oa_log(self) -> Path:
        return self.root / "oa.log"

    @property
    def flags(self) -> Path:
        return self.root / "flags"

    def handed(self) -> list[str]:
        import json

        if not self.oa_log.exists():
            return []
        return [json.loads(line)["mid"] for line in self.oa_log.read_text().splitlines()]

    def settings(self, **kw: Any) -> ReceiveSettings:
        return ReceiveSettings(workspace_policy(self.ws), **kw)

    def receive(self, agency: Agency | None = None, **kw: Any) -> ReceiveReport:
        agency = agency or self.agency()
        sign = detached(make_signer("CZJ", self.creds("CZJ"))) if agency.auto_sign_for else None
        with open_catalog(self.ws.catalog_path) as cat:
            return receive(self.ws, cat, self.hub, agency, self.settings(**kw), sign=sign)

    def rows(self) -> list[tuple[Any, ...]]:
        with open_catalog(self.ws.catalog_path) as cat:
            return cat.conn.execute("SELECT message_id, recipient, sender, state, oa_attempts FROM incoming "
                                    "ORDER BY message_id").fetchall()

    def records(self) -> list[tuple[Any, ...]]:
        with open_catalog(self.ws.catalog_path) as cat:
            return cat.conn.execute("SELECT * FROM records ORDER BY id").fetchall()


@pytest.fixture
def city(golden_exchange: Path, tmp_path: Path) -> Hub:
    root = tmp_path / "city"
    shutil.copytree(golden_exchange, root, symlinks=True)
    toml = root / "home" / "govarc.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(str(golden_exchange), str(root)), encoding="utf-8")
    (root / "hub").mkdir()
    (root / "flags").mkdir()
    return Hub(Workspace.open(root / "home"), root, FolderTransport(root / "hub"))
