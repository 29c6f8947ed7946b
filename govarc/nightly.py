"""The nightly archiving job: for every agency, ingest its drop folder, then package what is new.

Holds the workspace lock (a second run exits 7 at once), writes a run log, and is safe to re-run
after a crash at any point: ingest is keyed by content digest, packages are built atomically and
adopted when a crash came between build and catalog update.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from govarc.catalog.identity import open_workspace_catalog
from govarc.errors import EXIT_INVALID, EXIT_OK, ConfigError, GovarcError
from govarc.ingest.pipeline import IngestReport, ingest
from govarc.lock import run_lock
from govarc.package.build import Signer
from govarc.package.pending import Packaged, package_pending
from govarc.workspace import Agency, Workspace


@dataclass(frozen=True)
class AgencyRun:
    """One agency's part of a run; ``error`` when it stopped early (the other agencies went on)."""

    code: str
    ingest: IngestReport | None
    packaged: tuple[Packaged, ...]
    error: str | None = None
    error_exit: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.code,
            "ingest": self.ingest.as_dict() if self.ingest else None,
            "packaged": [p.as_dict() for p in self.packaged],
            "error": self.error,
        }


@dataclass(frozen=True)
class NightlyReport:
    started_at: str
    finished_at: str
    agencies: tuple[AgencyRun, ...]
    log_path: str

    @property
    def refused(self) -> bool:
        return any(a.ingest is not None and a.ingest.refused for a in self.agencies)

    @property
    def exit_code(self) -> int:
        """The first failed agency's exit code; else 3 when any document was refused; else 0."""
        for a in self.agencies:
            if a.error is not None:
                return a.error_exit
        return EXIT_INVALID if self.refused else EXIT_OK

    @property
    def status(self) -> str:
        return "error" if any(a.error for a in self.agencies) else ("refused" if self.refused else "ok")

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at, "finished_at": self.finished_at, "log": self.log_path,
            "refused": self.refused, "status": self.status, "agencies": [a.as_dict() for a in self.agencies],
        }


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_log(ws: Workspace, report: dict[str, Any], stamp: str) -> str:
    ws.logs_dir.mkdir(parents=True, exist_ok=True)
    path = ws.logs_dir / f"nightly-{stamp}-{os.getpid()}.json"
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return str(path)


def run_nightly(
    ws: Workspace,
    *,
    signer_for: Callable[[Agency], Signer | None] | None = None,
    workers: int = 0,
    on_agency: Callable[[str, str], None] | None = None,
) -> NightlyReport:
    """Run the nightly job for every agency of ``ws``; ``on_agency(code, step)`` reports progress.

    An agency that fails (a missing drop folder, a record that cannot be packaged) is reported in
    its :class:`AgencyRun` and the run goes on with the others: in a city of a hundred agencies
    one broken export must not stop the rest. Signing keys are loaded before anything changes.
    """
    with run_lock(ws.lock_path), open_workspace_catalog(ws) as cat:
        # Load every signer first: a wrong passphrase stops the run before it changes anything.
        signers = {a.code: signer_for(a) if signer_for else None for a in ws.agencies}
        started = _now()
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        with cat.write() as conn:
            run_id = conn.execute("INSERT INTO runs (kind, started_at, status) VALUES ('nightly', ?, 'running')", (started,)).lastrowid
        runs = []
        for agency in ws.agencies:
            report = None
            try:
                if agency.drop is not None:
                    if not agency.drop.is_dir():
                        raise ConfigError(f"drop folder of agency {agency.code} does not exist", str(agency.drop))
                    if on_agency:
                        on_agency(agency.code, "ingest")
                    report = ingest(cat, ws.objects_dir, agency, [agency.drop], workers=workers or ws.settings.workers)
                if on_agency:
                    on_agency(agency.code, "package")
                packaged = package_pending(
                    cat, ws.objects_dir, ws.store_dir(agency.code), ws.tmp_dir, agency.code,
                    signer=signers[agency.code], unsigned=agency.unsigned, keys=ws.keys_dir(agency.code),
                    zip=ws.settings.package_zip, sm3=ws.settings.package_sm3,
                )
            except GovarcError as e:
                runs.append(AgencyRun(agency.code, report, (), str(e), e.exit_code))
                continue
            runs.append(AgencyRun(agency.code, report, tuple(packaged)))
        finished = _now()
        result = NightlyReport(started, finished, tuple(runs), "")
        log = _write_log(ws, result.as_dict(), stamp)
        summary = {a.code: {"registered": a.ingest.count("registered") if a.ingest else 0,
                            "refused": a.ingest.count("refused") if a.ingest else 0,
                            "packaged": len(a.packaged), "error": a.error} for a in runs}
        with cat.write() as conn:
            conn.execute("UPDATE runs SET finished_at=?, status=?, summary=? WHERE id=?",
                         (finished, result.status, json.dumps(summary, ensure_ascii=False), run_id))
        return NightlyReport(started, finished, tuple(runs), log)
