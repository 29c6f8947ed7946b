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
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.errors import ConfigError
from govarc.domain import DEFAULT_ACCEPTED, Agency, is_agency_code, is_code_part

if TYPE_CHECKING:  # the stores (and the TOML writer) load when used: `govarc verify` needs neither
    from govarc.store.objects import ObjectStore
    from govarc.store.packages import PackageStore

CONFIG_NAME = "govarc.toml"
CONFIG_SCHEMA = 1


ARCHIVES_KEYS = ("code", "name", "url", "receipt_overdue_days", "send_unsigned", "transport")
ARCHIVES_TRANSPORT_KEYS = ("identity_file", "known_hosts", "endpoint_url", "region", "profile", "create")
MAX_OVERDUE_DAYS = 3650


@dataclass(frozen=True)
class ArchivesConfig:
    """``[archives]``: the archives this workspace's agencies transfer to, and the transfer policy.

    ``code`` is the identity its certificate carries (receipts must be signed by it); ``url`` the
    transport (a folder, ``file:///…``, ``sftp://…`` or ``s3://…``); ``transport`` the per-scheme
    options (``[archives.transport]``); a packaged record is due when signed (or ``send_unsigned``)
    and not transferred yet; a published batch without a receipt after ``receipt_overdue_days`` is
    flagged overdue.
    """

    code: str
    url: str
    name: str | None = None
    receipt_overdue_days: int = 14
    send_unsigned: bool = False
    transport: tuple[tuple[str, str | bool], ...] = ()

    def transport_options(self) -> dict[str, object]:
        return dict(self.transport)

    def as_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "url": self.url}
        if self.name is not None:
            out["name"] = self.name
        out["receipt_overdue_days"] = self.receipt_overdue_days
        out["send_unsigned"] = self.send_unsigned
        if self.transport:
            out["transport"] = dict(self.transport)
        return out


def parse_archives(raw: Any, where: str) -> ArchivesConfig:
    """The ``[archives]`` table, checked key by key (a typo is an error naming it)."""
    if not isinstance(raw, dict):
        raise ConfigError("`archives` must be a table ([archives])", where)
    _unknown(raw, ARCHIVES_KEYS, "[archives]", where)
    code = raw.get("code")
    if not isinstance(code, str) or not is_agency_code(code):
        raise ConfigError(f"`archives.code` must be 1-32 letters, digits or hyphens, not {code!r}", where)
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("`archives.url` must name the transport (a folder, file:///…, sftp://… or s3://…)", where)
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"`archives.name` must be a non-empty string, not {name!r}", where)
    days = raw.get("receipt_overdue_days", 14)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_OVERDUE_DAYS:
        raise ConfigError(f"`archives.receipt_overdue_days` must be a whole number from 1 to {MAX_OVERDUE_DAYS}, "
                          f"not {days!r}", where)
    send_unsigned = _bool(raw, "send_unsigned", "archives.send_unsigned", where)
    return ArchivesConfig(code=code, url=url.strip(), name=name.strip() if isinstance(name, str) else None,
                          receipt_overdue_days=days, send_unsigned=send_unsigned,
                          transport=parse_transport_options(raw, "archives", where))


def parse_transport_options(raw: dict[str, Any], table: str, where: str) -> tuple[tuple[str, str | bool], ...]:
    """``[<table>.transport]``: the transport's options (identity_file, known_hosts, endpoint_url, …)."""
    opts = raw.get("transport", {})
    if not isinstance(opts, dict):
        raise ConfigError(f"`{table}.transport` must be a table ([{table}.transport])", where)
    _unknown(opts, ARCHIVES_TRANSPORT_KEYS, f"[{table}.transport]", where)
    transport: list[tuple[str, str | bool]] = []
    for key in ARCHIVES_TRANSPORT_KEYS:
        if key not in opts:
            continue
        value = opts[key]
        if key == "create":
            value = _bool(opts, key, f"{table}.transport.create", where)
        elif not isinstance(value, str) or not value.strip():
            raise ConfigError(f"`{table}.transport.{key}` must be a non-empty string, not {value!r}", where)
        transport.append((key, value))
    return tuple(transport)


EXCHANGE_KEYS = ("url", "duplicate_window_days", "transport", "groups")
MAX_WINDOW_DAYS = 3650
MAX_GROUP_NAME_CHARS = 64
MAX_GROUPS = 1000


@dataclass(frozen=True)
class ExchangeConfig:
    """``[exchange]``: the hub of the document exchange (公文交换) and its distribution groups.

    ``url`` is the hub's transport (a folder, ``file:///…``, ``sftp://…`` or ``s3://…``), untrusted
    storage: everything on it is signed end to end. ``transport`` are the per-scheme options
    (``[exchange.transport]``, as ``[archives.transport]``). A message id seen within
    ``duplicate_window_days`` is a duplicate, an envelope older than that a replay. ``groups``
    (``[exchange.groups]``) name lists of agency codes (``"全市各委办局" = ["CZJ", "DAJ"]``); the
    codes of the workspace's agencies and of every group are the recipients a send may name.
    """

    url: str
    duplicate_window_days: int = 30
    transport: tuple[tuple[str, str | bool], ...] = ()
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def transport_options(self) -> dict[str, object]:
        return dict(self.transport)

    def group(self, name: str) -> tuple[str, ...] | None:
        """The codes of group ``name``, or None when there is no such group."""
        return dict(self.groups).get(name)

    @property
    def group_codes(self) -> frozenset[str]:
        """Every agency code some group names."""
        return frozenset(c for _, codes in self.groups for c in codes)

    def as_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "duplicate_window_days": self.duplicate_window_days}
        if self.transport:
            out["transport"] = dict(self.transport)
        if self.groups:
            out["groups"] = {name: list(codes) for name, codes in self.groups}
        return out


def parse_exchange(raw: Any, where: str) -> ExchangeConfig:
    """The ``[exchange]`` table, checked key by key (a typo is an error naming it)."""
    from govarc.limits import MAX_RECIPIENTS

    if not isinstance(raw, dict):
        raise ConfigError("`exchange` must be a table ([exchange])", where)
    _unknown(raw, EXCHANGE_KEYS, "[exchange]", where)
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("`exchange.url` must name the hub (a folder, file:///…, sftp://… or s3://…)", where)
    days = raw.get("duplicate_window_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise ConfigError(f"`exchange.duplicate_window_days` must be a whole number from 1 to {MAX_WINDOW_DAYS}, "
                          f"not {days!r}", where)
    transport = parse_transport_options(raw, "exchange", where)
    groups_raw = raw.get("groups", {})
    if not isinstance(groups_raw, dict):
        raise ConfigError("`exchange.groups` must be a table ([exchange.groups])", where)
    if len(groups_raw) > MAX_GROUPS:
        raise ConfigError(f"[exchange.groups] names {len(groups_raw)} groups; at most {MAX_GROUPS}", where)
    groups: list[tuple[str, tuple[str, ...]]] = []
    for name, codes in groups_raw.items():
        if (not name.strip() or name != name.strip() or len(name) > MAX_GROUP_NAME_CHARS
                or any(ord(ch) < 0x20 or ch == "\x7f" for ch in name)):
            raise ConfigError(f"[exchange.groups]: group name {name[:80]!r} must be 1-{MAX_GROUP_NAME_CHARS} "
                              "characters without control characters or surrounding spaces", where)
        if not isinstance(codes, list) or not codes:
            raise ConfigError(f"[exchange.groups] {name}: must be a non-empty list of agency codes", where)
        if len(codes) > MAX_RECIPIENTS:
            raise ConfigError(f"[exchange.groups] {name}: {len(codes)} codes; at most {MAX_RECIPIENTS} "
                              "(MAX_RECIPIENTS)", where)
        for c in codes:
            if not isinstance(c, str) or not is_agency_code(c):
                raise ConfigError(f"[exchange.groups] {name}: {str(c)[:80]!r} is not an agency code "
                                  "(1-32 letters, digits or hyphens)", where)
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ConfigError(f"[exchange.groups] {name}: {', '.join(dupes)} listed twice", where)
        groups.append((name, tuple(codes)))
    return ExchangeConfig(url=url.strip(), duplicate_window_days=days, transport=transport, groups=tuple(groups))


ROLE_AGENCY = "agency"
ROLE_ARCHIVES = "archives"
ROLES = (ROLE_AGENCY, ROLE_ARCHIVES)

DEFAULT_LONG_TERM_FORMATS = ("PDF/A", "application/pdf", "application/ofd", "image/tiff", "image/jpeg", "image/png")
"""What an archives keeps for the long term unless ``[holdings] accepted_formats`` says otherwise."""


@dataclass(frozen=True)
class HoldingsSettings:
    """``[holdings]`` of an archives workspace: who the archives are, what they keep, where batches arrive.

    ``code`` is the archives' agency code (the organizationIdentifier of its certificate, which
    countersigns packages and signs receipts); ``inbox`` the transport URL batches are read from
    (``inbound/<AGENCY>/<BATCH>/``) and receipts written to; ``accepted_formats`` the MIME types or
    format names (``PDF/A``) suitable for long-term keeping; ``clamscan`` whether to scan for
    viruses when ``clamscan`` is installed; ``transport`` the inbox's options
    (``[holdings.transport]``, as ``[archives.transport]``: an SFTP key and known_hosts, an S3 endpoint).
    """

    code: str
    name: str
    inbox: str | None = None
    accepted_formats: tuple[str, ...] = DEFAULT_LONG_TERM_FORMATS
    virus_scan: bool = True
    transport: tuple[tuple[str, str | bool], ...] = ()

    def transport_options(self) -> dict[str, object]:
        return dict(self.transport)

    def as_toml(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "name": self.name, "accepted_formats": list(self.accepted_formats),
                             "virus_scan": self.virus_scan}
        if self.inbox is not None:
            d["inbox"] = self.inbox
        if self.transport:
            d["transport"] = dict(self.transport)
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
    archives: ArchivesConfig | None = None  # [archives]: where the agencies transfer to (None: nowhere)
    role: str = ROLE_AGENCY
    holdings: HoldingsSettings | None = None  # the archives' own identity and policy (role "archives")
    exchange: ExchangeConfig | None = None  # [exchange]: the hub of the document exchange (None: none)

    def to_toml(self) -> dict[str, Any]:
        ws: dict[str, Any] = {"schema": CONFIG_SCHEMA, "workers": self.workers}
        if self.role != ROLE_AGENCY:
            ws["role"] = self.role
        out: dict[str, Any] = {
            "workspace": ws,
            "package": {"zip": self.package_zip, "sm3": self.package_sm3},
            "pki": {"identity_oid": self.identity_oid, "key_algorithm": self.key_algorithm},
        }
        if self.archives is not None:
            out["archives"] = self.archives.as_toml()
        if self.holdings is not None:
            out["holdings"] = self.holdings.as_toml()
        if self.exchange is not None:
            out["exchange"] = self.exchange.as_toml()
        out["agency"] = [a.as_toml() for a in self.agencies]
        return out


# Every key govarc.toml may hold, per table: a typo is an error naming the key, never a silent default.
SECTIONS: dict[str, tuple[str, ...]] = {
    "workspace": ("schema", "workers", "role"),
    "package": ("zip", "sm3"),
    "pki": ("identity_oid", "key_algorithm"),
}
HOLDINGS_KEYS = ("code", "name", "inbox", "accepted_formats", "virus_scan", "transport")
AGENCY_KEYS = ("code", "name", "fonds", "fonds_name", "unit", "category", "drop", "accepted_formats",
               "allow_classified", "unsigned", "oa_command", "oa_drop", "oa_timeout", "auto_sign_for")
MAX_OA_TIMEOUT = 86_400
MAX_OA_ARGS = 64
KEY_ALGORITHMS = ("ec-p256", "rsa3072")
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def _unknown(keys: Any, known: tuple[str, ...] | list[str], table: str, where: str, noun: str = "key") -> None:
    """Refuse a key that is not in ``known``, suggesting the nearest known one."""
    for key in keys:
        if key not in known:
            import difflib

            near = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean `{near[0]}`?)" if near else f"; known: {', '.join(known)}"
            raise ConfigError(f"unknown {noun} `{key}` in {table}{hint}", where)


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"`{name}` must be a table ([{name}])", where)
    return value


def _bool(table: dict[str, Any], key: str, label: str, where: str, default: bool = False) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"`{label}` must be true or false, not {value!r}", where)
    return value


def check_accepted_formats(values: Any, label: str, where: str) -> tuple[str, ...]:
    """``accepted_formats`` as a tuple, each a MIME type or format name :mod:`govarc.formats` can answer."""
    if not isinstance(values, list) or not all(isinstance(a, str) for a in values):
        raise ConfigError(f"{label}: `accepted_formats` must be a list of MIME types or format names", where)
    unknown = [v for v in values if v not in DEFAULT_ACCEPTED]
    if unknown:
        import difflib

        from govarc.formats import known_formats

        known = known_formats()
        for value in unknown:
            if value not in known:
                near = difflib.get_close_matches(value, sorted(known), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ConfigError(f"{label}: `accepted_formats` names {value!r}, which is no MIME type or format name "
                                  f"govarc identifies{hint}", where)
    return tuple(values)


def _agency(raw: Any, base: Path, where: str) -> Agency:
    if not isinstance(raw, dict):
        raise ConfigError("each `agency` entry must be a table ([[agency]])", where)

    def need(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"agency entry needs a non-empty `{key}`", where)
        return value.strip()

    code = need("code")
    if not is_agency_code(code):
        raise ConfigError(f"agency code {code!r} must be 1-32 letters, digits or hyphens", where)
    _unknown(raw, AGENCY_KEYS, f"[[agency]] {code}", where)
    for key in ("fonds", "unit", "category"):
        if key in raw and not is_code_part(raw[key]):
            raise ConfigError(f"agency {code}: `{key}` {raw[key]!r} must be 1-16 letters or digits", where)
    for key in ("name", "fonds_name", "drop"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"agency {code}: `{key}` must be a string, not {raw[key]!r}", where)
    drop = raw.get("drop")
    accepted = check_accepted_formats(raw.get("accepted_formats", list(DEFAULT_ACCEPTED)), f"agency {code}", where)
    allow = _bool(raw, "allow_classified", f"agency {code}: allow_classified", where)
    unsigned = _bool(raw, "unsigned", f"agency {code}: unsigned", where)
    name = need("name")
    oa_command, oa_drop, oa_timeout = _oa(raw, code, base, where)
    return Agency(
        code=code, name=name, fonds=need("fonds"), fonds_name=str(raw.get("fonds_name") or name),
        unit=str(raw.get("unit", "BGS")), category=str(raw.get("category", "WS")),
        drop=(base / drop).resolve() if isinstance(drop, str) and drop else None,
        accepted_formats=accepted, allow_classified=allow, unsigned=unsigned,
        oa_command=oa_command, oa_drop=oa_drop, oa_timeout=oa_timeout,
        auto_sign_for=_bool(raw, "auto_sign_for", f"agency {code}: auto_sign_for", where),
    )


def _oa(raw: dict[str, Any], code: str, base: Path, where: str) -> tuple[tuple[str, ...] | None, Path | None, int]:
    """An agency's OA hand-over keys: ``oa_command`` (a list of strings, run without a shell) or
    ``oa_drop`` (a folder, resolved against ``base``), and ``oa_timeout`` (seconds)."""
    command = raw.get("oa_command")
    if command is not None:
        if (not isinstance(command, list) or not command or len(command) > MAX_OA_ARGS
                or not all(isinstance(a, str) and a and "\x00" not in a for a in command)):
            raise ConfigError(f"agency {code}: `oa_command` must be a list of 1-{MAX_OA_ARGS} non-empty strings "
                              f"(the program, then its arguments; no shell), not {command!r}", where)
        command = tuple(command)
    drop = raw.get("oa_drop")
    if drop is not None and (not isinstance(drop, str) or not drop.strip()):
        raise ConfigError(f"agency {code}: `oa_drop` must be a folder, not {drop!r}", where)
    if command is not None and drop is not None:
        raise ConfigError(f"agency {code}: give `oa_command` or `oa_drop`, not both", where)
    timeout = raw.get("oa_timeout", 60)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= MAX_OA_TIMEOUT:
        raise ConfigError(f"agency {code}: `oa_timeout` must be a whole number of seconds from 1 to {MAX_OA_TIMEOUT}, "
                          f"not {timeout!r}", where)
    return command, (base / drop).resolve() if isinstance(drop, str) else None, timeout


def parse_agencies(data: dict[str, Any], base: Path, where: str, *, city: bool = False) -> tuple[Agency, ...]:
    """The ``[[agency]]`` tables of a config; drop folders resolve against ``base``.

    With ``city`` (a city file for ``govarc init --config``) nothing but ``[[agency]]`` tables
    may appear; unknown keys are refused either way.
    """
    if city:
        _unknown(data, ("agency",), "the city file (only [[agency]] tables)", where, "section")
    raw = data.get("agency", [])
    if not isinstance(raw, list):
        raise ConfigError("`agency` must be an array of tables ([[agency]])", where)
    agencies = tuple(_agency(a, base, where) for a in raw)
    codes = [a.code for a in agencies]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ConfigError(f"agency code(s) listed twice: {', '.join(dupes)}", where)
    return agencies


MAX_CONFIG_BYTES = 4 * 1024 * 1024


def read_toml(path: Path) -> dict[str, Any]:
    """A configuration file's tables: opened without blocking (a FIFO is refused), at most 4 MiB."""
    import stat as _stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if _stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError
            if not _stat.S_ISREG(st.st_mode):
                raise ConfigError("is not a regular file (a FIFO, device or socket)", str(path))
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"is larger than {MAX_CONFIG_BYTES} bytes", str(path))
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError("configuration file not found", str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a configuration file", str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not valid TOML: not UTF-8 text", str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", str(path)) from None


def load_settings(home: Path) -> Settings:
    """Read and check govarc.toml: unknown sections or keys and wrong value types are ConfigErrors."""
    path = home / CONFIG_NAME
    data = read_toml(path)
    where = str(path)
    _unknown(data, list(SECTIONS) + ["agency", "archives", "holdings", "exchange"], CONFIG_NAME, where, "section")
    ws, pkg, pki = (_table(data, name, where) for name in SECTIONS)
    for name, table in (("workspace", ws), ("package", pkg), ("pki", pki)):
        _unknown(table, SECTIONS[name], f"[{name}]", where)
    schema = ws.get("schema", CONFIG_SCHEMA)
    if schema != CONFIG_SCHEMA or isinstance(schema, bool):
        raise ConfigError(f"config schema {schema!r} is not {CONFIG_SCHEMA}", where)
    workers = ws.get("workers", 0)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ConfigError(f"`workspace.workers` must be a whole number ≥ 0, not {workers!r}", where)
    identity_oid = pki.get("identity_oid", "2.5.4.97")
    if not isinstance(identity_oid, str) or not _OID.match(identity_oid):
        raise ConfigError(f"`pki.identity_oid` must be a dotted OID such as \"2.5.4.97\", not {identity_oid!r}", where)
    key_algorithm = pki.get("key_algorithm", "ec-p256")
    if key_algorithm not in KEY_ALGORITHMS:
        raise ConfigError(f"`pki.key_algorithm` must be one of {', '.join(KEY_ALGORITHMS)}, not {key_algorithm!r}", where)
    role = ws.get("role", ROLE_AGENCY)
    if role not in ROLES:
        raise ConfigError(f"`workspace.role` must be one of {', '.join(ROLES)}, not {role!r}", where)
    holdings = _holdings(data, where) if "holdings" in data else None
    agencies = parse_agencies(data, home, where)
    if role == ROLE_ARCHIVES and holdings is None:
        raise ConfigError("an archives workspace (`workspace.role = \"archives\"`) needs a [holdings] table "
                          "with its `code` and `name`", where)
    if role != ROLE_ARCHIVES and holdings is not None:
        raise ConfigError("[holdings] belongs to an archives workspace (`workspace.role = \"archives\"`)", where)
    return Settings(
        role=role, holdings=holdings,
        home=home, agencies=agencies,
        package_zip=_bool(pkg, "zip", "package.zip", where), package_sm3=_bool(pkg, "sm3", "package.sm3", where),
        identity_oid=identity_oid, key_algorithm=key_algorithm, workers=workers,
        archives=parse_archives(data["archives"], where) if "archives" in data else None,
        exchange=_exchange(data, where, agencies),
    )


def _exchange(data: dict[str, Any], where: str, agencies: tuple[Agency, ...]) -> ExchangeConfig | None:
    if "exchange" not in data:
        return None
    ex = parse_exchange(data["exchange"], where)
    codes = {a.code for a in agencies}
    clash = sorted(name for name, _ in ex.groups if name in codes)
    if clash:
        raise ConfigError(f"[exchange.groups]: {', '.join(clash)} is the code of an agency of this workspace; "
                          "a group needs a name of its own", where)
    return ex


def _holdings(data: dict[str, Any], where: str) -> HoldingsSettings:
    raw = _table(data, "holdings", where)
    _unknown(raw, HOLDINGS_KEYS, "[holdings]", where)
    code = raw.get("code")
    if not isinstance(code, str) or not is_agency_code(code):
        raise ConfigError(f"`holdings.code` must be the archives' code, 1-32 letters, digits or hyphens, not {code!r}", where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("`holdings.name` must be the archives' name (a non-empty string)", where)
    inbox = raw.get("inbox")
    if inbox is not None and (not isinstance(inbox, str) or not inbox.strip()):
        raise ConfigError(f"`holdings.inbox` must be a transport URL or folder, not {inbox!r}", where)
    formats = check_accepted_formats(raw.get("accepted_formats", list(DEFAULT_LONG_TERM_FORMATS)), "[holdings]", where)
    return HoldingsSettings(code=code, name=name.strip(), inbox=inbox, accepted_formats=formats,
                            virus_scan=_bool(raw, "virus_scan", "holdings.virus_scan", where, True),
                            transport=parse_transport_options(raw, "holdings", where))


def write_settings(settings: Settings) -> None:
    """Write govarc.toml atomically (temporary file, fsync, rename).

    When the workspace has a catalog, an audit event ``config-change`` naming the keys that changed
    follows the write (specs/audit-log.md); a new workspace's ``init`` event is written by its creator.
    """
    path = settings.home / CONFIG_NAME
    old: dict[str, Any] | None = None
    if path.is_file():
        try:
            old = read_toml(path)
        except ConfigError:
            old = None  # a file that does not read: every key counts as changed
    new = settings.to_toml()
    tmp = path.with_name(f".{CONFIG_NAME}.tmp-{os.getpid()}")
    import tomli_w

    with open(tmp, "wb") as f:
        tomli_w.dump(new, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if (settings.home / "catalog.sqlite").is_file():
        from govarc.audit.trail import record_config_change

        record_config_change(Workspace(settings.home, settings), old, new)


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
        from govarc.store.packages import STORE_DIR

        return self.home / STORE_DIR / code

    @property
    def objects(self) -> ObjectStore:
        """The content-addressed object store (below :attr:`objects_dir`)."""
        from govarc.store.objects import ObjectStore

        return ObjectStore(self.objects_dir)

    def package_store(self, code: str) -> PackageStore:
        """The package store of agency ``code`` (:meth:`store_dir`)."""
        from govarc.store.packages import PackageStore

        return PackageStore(self.home, code)

    def stored_packages(self) -> Iterator[Path]:
        """Every entry of every agency's store that is or claims to be a package (see :func:`store_packages`)."""
        from govarc.store.packages import store_packages

        return store_packages(self.home)

    def keys_dir(self, code: str) -> Path:
        return self.home / "keys" / code

    @property
    def is_archives(self) -> bool:
        return self.settings.role == ROLE_ARCHIVES

    @property
    def holdings(self) -> HoldingsSettings:
        """The ``[holdings]`` settings; ConfigError when this is not an archives workspace."""
        if self.settings.holdings is None:
            raise ConfigError("this is an agency workspace; `govarc init --archives CODE --name NAME` creates an "
                              "archives workspace", str(self.home / CONFIG_NAME))
        return self.settings.holdings

    @property
    def holdings_dir(self) -> Path:
        """The archives' holdings: accepted packages, content-addressed (``holdings/<sha256[:2]>/<sha256>.zip``)."""
        return self.home / "holdings"

    @property
    def rejected_dir(self) -> Path:
        """Rejected deliveries with their reasons (``rejected/<AGENCY>/<BATCH>/``)."""
        return self.home / "rejected"

    @property
    def receipts_dir(self) -> Path:
        """Receipts the archives issued, with their printable registration forms (``receipts/<AGENCY>/<BATCH>/``)."""
        return self.home / "receipts"

    def signer_name(self, code: str) -> str:
        """The name of the body whose key ``code`` is: an agency, or (in an archives workspace) the archives."""
        h = self.settings.holdings
        if h is not None and code == h.code:
            return h.name
        return self.agency(code).name

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
