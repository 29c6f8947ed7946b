"""The ``ingest`` step: register what the agency's drop folder holds that the catalog does not know."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from govarc.domain import Agency
from govarc.errors import ConfigError
from govarc.findings import Level
from govarc.ingest.pipeline import ingest
from govarc.ingest.report import Outcome
from govarc.jobs.steps import Party, StepContext, StepResult
from govarc.lock import LockScope
from govarc.workspace import Workspace

COUNTS = ("registered", "duplicate", "refused")


@dataclass(frozen=True)
class IngestStep:
    """Ingest the drop folder of agencies that have one (a missing folder is a configuration error, 6).

    Its counts are ``registered``, ``duplicate`` and ``refused`` (a refused document makes the run
    exit 3, and the step still succeeds: the good documents go on to packaging); its findings are
    every warning of every document, spooled (:attr:`StepResult.warnings`); its run-log field is
    ``ingest`` (the ingest report, its ``items`` spooled); its report the
    :class:`~govarc.ingest.report.IngestReport` (counts and the first outcomes).
    """

    name: str = "ingest"
    needs: tuple[str, ...] = ()
    lock: LockScope = LockScope.WORKSPACE  # writes the catalog and the object store

    @property
    def empty(self) -> StepResult:
        return StepResult(dict.fromkeys(COUNTS, 0), log={"ingest": None})

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency) and party.drop is not None

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.objects_dir, ws.tmp_dir, ws.home

    def run(self, ctx: StepContext) -> StepResult:
        ws, agency = ctx.ws, ctx.agency
        assert agency.drop is not None  # applies() said so
        if not agency.drop.is_dir():
            raise ConfigError(f"drop folder of agency {agency.code} does not exist", str(agency.drop))
        items, warnings = ctx.spool(), ctx.spool()
        codes: Counter[str] = Counter()

        def outcome(o: Outcome) -> None:
            # Each item's outcome goes to the run log's spool as it comes: memory stays flat.
            items.append(o.as_dict())
            for f in o.findings:
                if f.level is Level.WARNING:
                    warnings.append(f.as_dict())
                    codes[f.code] += 1

        report = ingest(ctx.catalog, ws.objects, agency, [agency.drop], workers=ctx.workers or ws.settings.workers,
                        progress=ctx.progress.advance, on_total=ctx.progress.total, on_outcome=outcome)
        log = {"agency": report.agency, **{c: report.count(c) for c in COUNTS}, "items": items.finish()}
        return StepResult(
            {c: report.count(c) for c in COUNTS},
            log={"ingest": log},
            report=report,
            warnings=warnings.finish(),
            warning_counts=dict(sorted(codes.items())),
        )
