"""The workspace (home): govarc.toml, the catalog, the package store, keys and the trust store.

One installation serves many agencies (一套程序，多套应用): each agency has its own drop folder,
store area, archival-code sequence and keys, all below one home folder::

    govarc.toml          settings and agencies
    catalog.sqlite       the catalog (records, files, sequences, runs)
    objects/             content-addressed copies of ingested files (sha256)
    store/<CODE>/        each agency's packages
    keys/<CODE>/         key.pem (encrypted, 0600), cert.pem, chain.pem
    pki/                 the local CA (ca-key.pem, ca.pem), for trials and small deployments
    trust/ trust/crls/   trust anchors (*.pem) and CRLs
    logs/                run logs
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from govarc.errors import ConfigError
from govarc.package.metadata import AGENCY_CODE

CONFIG_NAME = "govarc.toml"
CONFIG_SCHEMA = 1
DEFAULT_ACCEPTED = (
    "application/pdf",
    "application/ofd",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "image/tiff",
    "image/jpeg",
    "image/png",
)
_CODE = re.compile(r"^[A-Za-z0-9]{1,16}$")
_AGENCY = re.compile(rf"^{AGENCY_CODE}$")


@dataclass(frozen=True)
class Agency:
    """A records-creating body (立档单位) served by this installation."""

    code: str
    name: str
    fonds: str
    fonds_name: str
    unit: str = "BGS"
    category: str = "WS"
    drop: Path | None = None
    accepted_formats: tuple[str, ...] = DEFAULT_ACCEPTED
    allow_classified: bool = False

    def as_toml(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "code": self.code, "name": self.name, "fonds": self.fonds, "fonds_name": self.fonds_name,
            "unit": self.unit, "category": self.category,
            "accepted_formats": list(self.accepted_formats), "allow_classified": self.allow_classified,
        }
        if self.drop is not None:
            d["drop"] = str(self.drop)
        return d


@dataclass(frozen=True)
class Settings:
    """Everything govarc.toml says, resolved against the home folder."""

    home: Path
    agencies: tuple[Agency, ...] = ()
    package_zip: bool = False
    package_sm3: bool = False
    identity_oid: str = "2.5.4.97"
    key_algorithm: str = "ec-p256"
    workers: int = 0  # 0: one per core

    def to_toml(self) -> dict[str, Any]:
        return {
            "workspace": {"schema": CONFIG_SCHEMA, "workers": self.workers},
            "package": {"zip": self.package_zip, "sm3": self.package_sm3},
            "pki": {"identity_oid": self.identity_oid, "key_algorithm": self.key_algorithm},
            "agency": [a.as_toml() for a in self.agencies],
        }


def _agency(raw: dict[str, Any], base: Path, where: str) -> Agency:
    def need(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"agency entry needs a non-empty `{key}`", where)
        return value.strip()

    code = need("code")
    if not _AGENCY.match(code):
        raise ConfigError(f"agency code {code!r} must be 1-32 letters, digits or hyphens", where)
    for key in ("fonds", "unit", "category"):
        if key in raw and not _CODE.match(str(raw[key])):
            raise ConfigError(f"agency {code}: `{key}` {raw[key]!r} must be 1-16 letters or digits", where)
    drop = raw.get("drop")
    accepted = raw.get("accepted_formats", list(DEFAULT_ACCEPTED))
    if not isinstance(accepted, list) or not all(isinstance(a, str) for a in accepted):
        raise ConfigError(f"agency {code}: `accepted_formats` must be a list of MIME types", where)
    allow = raw.get("allow_classified", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"agency {code}: `allow_classified` must be true or false", where)
    name = need("name")
    return Agency(
        code=code, name=name, fonds=need("fonds"), fonds_name=str(raw.get("fonds_name") or name),
        unit=str(raw.get("unit", "BGS")), category=str(raw.get("category", "WS")),
        drop=(base / drop).resolve() if isinstance(drop, str) and drop else None,
        accepted_formats=tuple(accepted), allow_classified=allow,
    )


def parse_agencies(data: dict[str, Any], base: Path, where: str) -> tuple[Agency, ...]:
    """The ``[[agency]]`` tables of a config; drop folders resolve against ``base``."""
    raw = data.get("agency", [])
    if not isinstance(raw, list):
        raise ConfigError("`agency` must be an array of tables ([[agency]])", where)
    agencies = tuple(_agency(a, base, where) for a in raw)
    codes = [a.code for a in agencies]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ConfigError(f"agency code(s) listed twice: {', '.join(dupes)}", where)
    return agencies


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("configuration file not found", str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", str(path)) from None


def load_settings(home: Path) -> Settings:
    path = home / CONFIG_NAME
    data = read_toml(path)
    where = str(path)
    ws = data.get("workspace", {})
    if ws.get("schema", CONFIG_SCHEMA) != CONFIG_SCHEMA:
        raise ConfigError(f"config schema {ws.get('schema')!r} is not {CONFIG_SCHEMA}", where)
    pkg = data.get("package", {})
    pki = data.get("pki", {})
    workers = ws.get("workers", 0)
    if not isinstance(workers, int) or workers < 0:
        raise ConfigError("`workspace.workers` must be a whole number ≥ 0", where)
    return Settings(
        home=home, agencies=parse_agencies(data, home, where),
        package_zip=bool(pkg.get("zip", False)), package_sm3=bool(pkg.get("sm3", False)),
        identity_oid=str(pki.get("identity_oid", "2.5.4.97")), key_algorithm=str(pki.get("key_algorithm", "ec-p256")),
        workers=workers,
    )


def write_settings(settings: Settings) -> None:
    """Write govarc.toml atomically (temporary file, fsync, rename)."""
    path = settings.home / CONFIG_NAME
    tmp = path.with_name(f".{CONFIG_NAME}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        tomli_w.dump(settings.to_toml(), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Workspace:
    """An opened home folder."""

    home: Path
    settings: Settings = field(repr=False)

    @classmethod
    def open(cls, home: Path) -> Workspace:
        home = Path(home).resolve()
        if not (home / CONFIG_NAME).is_file():
            raise ConfigError(f"no workspace here (no {CONFIG_NAME}); run `govarc init` first", str(home))
        return cls(home, load_settings(home))

    @classmethod
    def exists(cls, home: Path) -> bool:
        return (Path(home) / CONFIG_NAME).is_file()

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.home / "tmp"

    @property
    def pki_dir(self) -> Path:
        return self.home / "pki"

    @property
    def trust_dir(self) -> Path:
        return self.home / "trust"

    @property
    def crl_dir(self) -> Path:
        return self.home / "trust" / "crls"

    @property
    def lock_path(self) -> Path:
        return self.home / "run.lock"

    def store_dir(self, code: str) -> Path:
        return self.home / "store" / code

    def keys_dir(self, code: str) -> Path:
        return self.home / "keys" / code

    @property
    def agencies(self) -> tuple[Agency, ...]:
        return self.settings.agencies

    def agency(self, code: str) -> Agency:
        for a in self.settings.agencies:
            if a.code == code:
                return a
        raise ConfigError(f"unknown agency {code!r}; known: {', '.join(a.code for a in self.agencies) or 'none'}")

    def with_agency(self, agency: Agency) -> Workspace:
        """Add (or replace) an agency and write govarc.toml."""
        others = tuple(a for a in self.agencies if a.code != agency.code)
        settings = replace(self.settings, agencies=others + (agency,))
        write_settings(settings)
        return Workspace(self.home, settings)
