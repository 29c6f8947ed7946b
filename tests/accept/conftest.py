"""The archives side under test: a real test PKI (one CA: agency LZ0012, agency LZ0099, archives
DA0001), real signed packages, an archives workspace, and the agency side played by hand over the
folder transport (packages uploaded, transfer list written and signed, its signature published last)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from govarc.accept.docs import ListedPackage, TransferList, transfer_list_to_xml
from govarc.sign.documents import sign_document
from govarc.admin import init_workspace
from govarc.package.build import build_package
from govarc.package.metadata import load_metadata
from govarc.sign.cms import make_signer
from govarc.sign.pki import store_agency_credentials
from govarc.sign.trust import TrustStore
from govarc.transport import FolderTransport
from govarc.workspace import HoldingsSettings, Workspace
from tests.conftest import write_sample_metadata, write_sample_source
from tests.sign.conftest import AGENCY, Pki, pki  # noqa: F401  (the session PKI fixture)

ARCHIVES = "DA0001"
PASSPHRASE = b"archives-passphrase"


def code_of(item: int) -> str:
    return f"0012-WS·2007-Y-BGS-{item:04d}"


@dataclass
class Agency:
    """The agency side, by hand: builds signed packages and delivers batches."""

    root: Path
    pki: Pki
    exchange: Path

    def package(self, item: int, *, signer: str = "agency", title: str | None = None,
                pdf: bytes | None = None) -> Path:
        """A signed package of record ``item``; ``pdf`` replaces the bytes of its main document."""
        out = self.root / "built" / f"{code_of(item)}.zip"
        if out.exists():
            return out
        src = write_sample_source(self.root / "src" / str(item))
        if pdf is not None:
            (src / "正文.pdf").write_bytes(pdf)
        changes: dict[str, object] = {"档号": code_of(item)}
        if title:
            changes["题名"] = title
        meta = write_sample_metadata(self.root / "src" / f"{item}.json", **changes)
        build_package(src, load_metadata(meta), out, zip=True, durable=False,
                      signer=make_signer(AGENCY, self.pki.creds[signer]))
        return out

    def listed(self, path: Path, key: str | None = None) -> ListedPackage:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            top = zf.namelist()[0].split("/", 1)[0]
            tm = zf.read(f"{top}/tagmanifest-sha256.txt")
            files = sum(1 for n in zf.namelist() if n.startswith(f"{top}/data/") and not n.endswith("/"))
        code = path.stem
        return ListedPackage(archival_code=code, title="柳州市人民政府关于做好2007年春季植树造林工作的通知",
                             key=key or path.name, file_count=files, size=len(data),
                             sha256=hashlib.sha256(data).hexdigest(), tagmanifest_sha256=hashlib.sha256(tm).hexdigest(),
                             year=2007, retention="Y")

    def deliver(self, batch: str, packages: list[Path], *, signer: str = "agency", agency: str = AGENCY,
                list_agency: str | None = None) -> bytes:
        """Upload the packages, then the list, then (last) its signature; returns the list's bytes."""
        t = FolderTransport(self.exchange, create=True)
        prefix = f"inbound/{agency}/{batch}"
        listed = []
        for p in packages:
            with open(p, "rb") as f:
                t.put(f"{prefix}/packages/{p.name}", f)
            listed.append(self.listed(p))
        tl = TransferList(batch_id=batch, agency_code=list_agency or agency, agency_name="柳州市人民政府办公室", fonds="0012",
                          archives_code=ARCHIVES, archives_name="柳州市档案馆", created_at="2026-11-30T20:00:00+08:00",
                          packages=tuple(listed))
        xml = transfer_list_to_xml(tl)
        t.publish(f"{prefix}/transfer-list.xml", xml)
        t.publish(f"{prefix}/transfer-list.xml.p7s", sign_document(xml, self.pki.creds[signer]))
        return xml


@pytest.fixture
def agency(tmp_path: Path, pki: Pki) -> Agency:  # noqa: F811
    return Agency(tmp_path / "agency", pki, tmp_path / "exchange")


def make_archives(home: Path, pki: Pki, exchange: Path, **holdings: object) -> Workspace:
    ws, _ = init_workspace(home, archives=HoldingsSettings(ARCHIVES, "柳州市档案馆", inbox=exchange.as_uri(),
                                                           **holdings))  # type: ignore[arg-type]
    store_agency_credentials(ws.keys_dir(ARCHIVES), pki.creds["archives"], PASSPHRASE)
    TrustStore(ws.trust_dir, ws.crl_dir).add_local_ca(pki.root.cert)
    return ws


@pytest.fixture
def archives(tmp_path: Path, pki: Pki, agency: Agency) -> Workspace:  # noqa: F811
    return make_archives(tmp_path / "archives", pki, agency.exchange)


@pytest.fixture
def env() -> dict[str, str]:
    import os

    return {**os.environ, "GOVARC_KEY_PASSPHRASE": PASSPHRASE.decode()}


Factory = Callable[..., Path]
