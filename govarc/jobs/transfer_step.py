"""The ``transfer`` and ``receipts`` steps: send the agency's due packages, import the archives' receipts.

Both run only when govarc.toml has ``[archives]`` (else they have nothing to do and return their
empty result), under the agency's lock (a ``govarc transfer`` run by hand for the same agency
meanwhile is refused with exit 7, and the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from govarc.errors import GovarcError
from govarc.jobs.steps import Party, StepContext, StepFailed, StepResult
from govarc.lock import LockScope
from govarc.domain import Agency
from govarc.workspace import Workspace


@dataclass(frozen=True)
class TransferStep:
    """Send the agency's due packages as one signed batch (or finish its unfinished batch).

    Counts ``transferred`` (packages in the batch published by this step); run-log field
    ``transfer``: the batch id, packages and uploads, or None.
    """

    name: str = "transfer"
    needs: tuple[str, ...] = ("package",)
    lock: LockScope = LockScope.AGENCY

    @property
    def empty(self) -> StepResult:
        return StepResult({"transferred": 0}, log={"transfer": None})

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.home / "transfers", ws.home

    def run(self, ctx: StepContext) -> StepResult:
        from govarc.transfer.run import open_archives_transport, transfer_run

        if ctx.ws.settings.archives is None:
            return self.empty
        report = transfer_run(ctx.ws, ctx.catalog, ctx.agency, open_archives_transport(ctx.ws), signer=ctx.signer)
        if report.batch_id is None:
            return self.empty
        return StepResult({"transferred": len(report.items)},
                          log={"transfer": {"batch": report.batch_id, "packages": len(report.items),
                                            "uploaded": report.uploaded, "resumed": report.resumed}},
                          report=report)


@dataclass(frozen=True)
class ReceiptsStep:
    """Import the archives' receipts for the agency's published batches.

    Counts ``receipted`` (batches), ``rejected`` (packages the archives rejected); a refused receipt
    fails the step with its one line (the good ones are imported). Run-log field ``receipts``.
    """

    name: str = "receipts"
    needs: tuple[str, ...] = ("package",)
    lock: LockScope = LockScope.AGENCY

    @property
    def empty(self) -> StepResult:
        return StepResult({"receipted": 0, "rejected": 0}, log={"receipts": None})

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.home / "transfers", ws.home

    def run(self, ctx: StepContext) -> StepResult:
        from govarc.sign.agency import workspace_policy
        from govarc.transfer.receipts import import_receipts
        from govarc.transfer.run import open_archives_transport

        if ctx.ws.settings.archives is None:
            return self.empty
        report = import_receipts(ctx.ws, ctx.catalog, ctx.agency, open_archives_transport(ctx.ws),
                                 workspace_policy(ctx.ws))
        result = StepResult({"receipted": len(report.imported), "rejected": sum(i.rejected for i in report.imported)},
                            log={"receipts": report.as_dict()}, report=report)
        if report.refused:
            first = report.refused[0]
            error = GovarcError(first.message)
            error.exit_code = first.exit_code
            raise StepFailed(result) from error
        return result
