"""The ``package`` step: build (and sign) a package for every registered record of the agency."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from govarc.archiving.pending import Packaged, package_pending
from govarc.catalog.runs import unpackaged_count
from govarc.domain import Agency
from govarc.jobs.spool import Spool
from govarc.jobs.steps import Party, StepContext, StepFailed, StepResult
from govarc.lock import LockScope
from govarc.workspace import Workspace


def _result(packaged: Spool | None) -> StepResult:
    rows = packaged.finish() if packaged is not None else Spool(None)
    return StepResult({"packaged": rows.count}, log={"packaged": rows}, report=rows)


@dataclass(frozen=True)
class PackageStep:
    """Package what the agency has registered and not packaged yet, with the agency's signer.

    Needs ``ingest`` (a drop folder that could not be read is not packaged around); it also runs
    for agencies without a drop folder, whose records come from ``govarc ingest``. Its count is
    ``packaged``; its run-log field ``packaged`` lists the packages built, also those built before
    a failure (spooled); its report is that :class:`~govarc.jobs.spool.Spool` (rows of
    :meth:`~govarc.archiving.pending.Packaged.as_dict`: a count and the first rows in memory).
    Builds on the workspace's ``workers`` processes (0: one per core), forked after the agency's
    signer was loaded (see :func:`~govarc.archiving.pending.package_pending`).
    """

    name: str = "package"
    needs: tuple[str, ...] = ("ingest",)
    lock: LockScope = LockScope.WORKSPACE  # writes the catalog and the package store

    @property
    def empty(self) -> StepResult:
        return _result(None)

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.store_dir(party.code), ws.objects_dir, ws.tmp_dir, ws.home

    def run(self, ctx: StepContext) -> StepResult:
        ws, code = ctx.ws, ctx.agency.code
        ctx.progress.total(unpackaged_count(ctx.catalog, code))
        packaged = ctx.spool()

        def built(p: Packaged) -> None:
            packaged.append(p.as_dict())  # to the run log's spool: memory stays flat
            ctx.progress.advance(1)

        try:
            package_pending(
                ctx.catalog, ws.objects, ws.package_store(code), ws.tmp_dir, code,
                signer=ctx.signer, unsigned=ctx.agency.unsigned, keys=ws.keys_dir(code),
                zip=ws.settings.package_zip, sm3=ws.settings.package_sm3, on_package=built, keep=False,
                workers=ctx.workers or ws.settings.workers or (os.cpu_count() or 1),
            )
        except Exception as e:
            raise StepFailed(_result(packaged)) from e
        return _result(packaged)
