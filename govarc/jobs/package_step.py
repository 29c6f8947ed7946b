"""The ``package`` step: build (and sign) a package for every registered record of the agency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from govarc.archiving.pending import Packaged, package_pending
from govarc.catalog.runs import unpackaged_count
from govarc.domain import Agency
from govarc.jobs.steps import Party, StepContext, StepFailed, StepResult
from govarc.lock import LockScope
from govarc.workspace import Workspace


def _result(packaged: Sequence[Packaged]) -> StepResult:
    return StepResult({"packaged": len(packaged)}, log={"packaged": [p.as_dict() for p in packaged]},
                      report=tuple(packaged))


@dataclass(frozen=True)
class PackageStep:
    """Package what the agency has registered and not packaged yet, with the agency's signer.

    Needs ``ingest`` (a drop folder that could not be read is not packaged around); it also runs
    for agencies without a drop folder, whose records come from ``govarc ingest``. Its count is
    ``packaged``; its run-log field ``packaged`` lists the packages built, also those built before
    a failure; its report is the tuple of :class:`~govarc.archiving.pending.Packaged`.
    """

    name: str = "package"
    needs: tuple[str, ...] = ("ingest",)
    lock: LockScope = LockScope.WORKSPACE  # writes the catalog and the package store

    @property
    def empty(self) -> StepResult:
        return _result(())

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.store_dir(party.code), ws.objects_dir, ws.tmp_dir, ws.home

    def run(self, ctx: StepContext) -> StepResult:
        ws, code = ctx.ws, ctx.agency.code
        ctx.progress.total(unpackaged_count(ctx.catalog, code))
        packaged: list[Packaged] = []

        def built(p: Packaged) -> None:
            packaged.append(p)
            ctx.progress.advance(1)

        try:
            package_pending(
                ctx.catalog, ws.objects, ws.package_store(code), ws.tmp_dir, code,
                signer=ctx.signer, unsigned=ctx.agency.unsigned, keys=ws.keys_dir(code),
                zip=ws.settings.package_zip, sm3=ws.settings.package_sm3, on_package=built,
            )
        except Exception as e:
            raise StepFailed(_result(packaged)) from e
        return _result(packaged)
