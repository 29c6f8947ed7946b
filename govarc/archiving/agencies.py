"""Packaging and signing for the agencies of a workspace: ``govarc package`` and ``govarc sign --pending``.

Each is one call that takes the workspace's run lock, opens its catalog and goes over the
agencies, and returns a report whose ``exit_code`` the CLI applies. Progress is reported through
``progress(agency_code)``, a context manager the caller opens per agency (the CLI: a bar on a
terminal) that yields the callback to drive, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govarc.archiving.pending import (
    NO_KEY,
    Packaged,
    SignedPackage,
    SignFailure,
    package_pending,
    sign_pending,
    unsigned_packages,
)
from govarc.catalog.identity import open_workspace_catalog
from govarc.domain import Agency
from govarc.errors import EXIT_OK, ConfigError
from govarc.lock import run_lock
from govarc.package.hashing import Progress
from govarc.sign.signer import Signer
from govarc.workspace import Workspace

AgencyProgress = Callable[[str], AbstractContextManager[Any]]
"""``progress(agency_code)``: opened around one agency's work; yields its callback, or None."""


def _none(code: str) -> AbstractContextManager[None]:
    return nullcontext()


@dataclass(frozen=True)
class PackagingReport:
    """The packages ``govarc package`` built, every agency's in turn; building raises on failure."""

    packaged: tuple[Packaged, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def as_list(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.packaged]


def package_agencies(
    ws: Workspace,
    agencies: Sequence[Agency],
    signer_for: Callable[[Agency], Signer | None],
    *,
    progress: AgencyProgress | None = None,
) -> PackagingReport:
    """Package (and sign, with ``signer_for(agency)``) what each agency has registered; see :func:`package_pending`.

    Holds the run lock. ``progress`` yields a byte-progress callback per agency.
    """
    progress = progress or _none
    built: list[Packaged] = []
    with run_lock(ws.lock_path), open_workspace_catalog(ws) as cat:
        for agency in agencies:
            with progress(agency.code) as bytes_done:
                callback: Progress | None = bytes_done
                built += package_pending(
                    cat, ws.objects, ws.package_store(agency.code), ws.tmp_dir, agency.code,
                    signer=signer_for(agency), unsigned=agency.unsigned, keys=ws.keys_dir(agency.code),
                    zip=ws.settings.package_zip, sm3=ws.settings.package_sm3, progress=callback,
                )
    return PackagingReport(tuple(built))


@dataclass(frozen=True)
class AgencySigning:
    """One agency's part of ``govarc sign --pending``."""

    agency: str
    signed: tuple[SignedPackage, ...] = ()
    failed: tuple[SignFailure, ...] = ()
    unsigned_without_key: int = 0  # packages left unsigned because the agency has no key

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "signed": [p.as_dict() for p in self.signed],
                "failed": [f.as_dict() for f in self.failed], "unsigned_without_key": self.unsigned_without_key}


@dataclass(frozen=True)
class SigningReport:
    """What ``govarc sign --pending`` did, per agency; the exit code is the first failure's (0 without any)."""

    agencies: tuple[AgencySigning, ...]

    @property
    def exit_code(self) -> int:
        return next((f.exit_code for a in self.agencies for f in a.failed), EXIT_OK)

    def as_dict(self) -> dict[str, Any]:
        return {"agencies": [a.as_dict() for a in self.agencies], "exit_code": self.exit_code}


def sign_agencies(
    ws: Workspace,
    agencies: Sequence[Agency],
    load_key: Callable[[str], Any],
    sign: Callable[[Path, str, Any], object],
    *,
    only: bool = False,
    progress: AgencyProgress | None = None,
) -> SigningReport:
    """Sign, with each agency's stored key, every package of its store that lacks its signature.

    ``load_key(code)`` gives the agency's credentials, or None when it has none (asked only when it
    has packages to sign); ``sign(path, code, credentials)`` signs one package (see
    :func:`govarc.sign.cms.sign_package`). An agency without a key is reported and skipped, unless
    ``only`` (one agency was asked for): then :class:`ConfigError` starting ``PACKAGE_NO_KEY``.
    ``progress`` yields ``(advance, total)`` callbacks per agency, or ``(None, None)``. Holds the run lock.
    """
    progress = progress or (lambda code: nullcontext((None, None)))
    done: list[AgencySigning] = []
    with run_lock(ws.lock_path), open_workspace_catalog(ws) as cat:
        for a in agencies:
            store = ws.package_store(a.code)
            todo = unsigned_packages(cat, store, a.code)
            creds = load_key(a.code) if todo else None
            if todo and creds is None:
                if only:
                    raise ConfigError(f"{NO_KEY}: agency {a.code} has no signing key ({ws.keys_dir(a.code) / 'key.pem'} "
                                      f"does not exist); {len(todo)} package(s) stay unsigned")
                done.append(AgencySigning(a.code, unsigned_without_key=len(todo)))
                continue

            def one(path: Path, code: str = a.code, creds: Any = creds) -> object:
                return sign(path, code, creds)

            with progress(a.code) as (advance, total):
                if total:
                    total(len(todo))
                signed, failed = sign_pending(cat, store, a.code, one,
                                              on_package=(lambda _p: advance(1)) if advance else None)
            done.append(AgencySigning(a.code, tuple(signed), tuple(failed)))
    return SigningReport(tuple(done))
