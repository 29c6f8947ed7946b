"""The ``ingest`` step: register what the agency's drop folder holds that the catalog does not know."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from govarc.domain import Agency
from govarc.errors import ConfigError
from govarc.ingest.pipeline import ingest
from govarc.jobs.steps import Party, StepContext, StepResult
from govarc.lock import LockScope
from govarc.workspace import Workspace

COUNTS = ("registered", "duplicate", "refused")


@dataclass(frozen=True)
class IngestStep:
    """Ingest the drop folder of agencies that have one (a missing folder is a configuration error, 6).

    Its counts are ``registered``, ``duplicate`` and ``refused`` (a refused document makes the run
    exit 3, and the step still succeeds: the good documents go on to packaging); its findings are
    every finding of every document; its run-log field is ``ingest`` (the ingest report).
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
        report = ingest(ctx.catalog, ws.objects, agency, [agency.drop], workers=ctx.workers or ws.settings.workers,
                        progress=ctx.progress.advance, on_total=ctx.progress.total)
        return StepResult(
            {c: report.count(c) for c in COUNTS},
            findings=tuple(f for o in report.outcomes for f in o.findings),
            log={"ingest": report.as_dict()},
            report=report,
        )
