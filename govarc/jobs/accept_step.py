"""The ``accept`` step of an archives workspace: answer every complete batch in the inbox (as ``govarc accept``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from govarc.errors import ConfigError, GovarcError
from govarc.jobs.steps import Archives, Party, StepContext, StepFailed, StepResult
from govarc.lock import LockScope
from govarc.workspace import CONFIG_NAME, Workspace

COUNTS = ("batches", "accepted", "rejected", "duplicate")


@dataclass(frozen=True)
class AcceptStep:
    """Accept what the agencies transferred to ``[holdings] inbox`` (:func:`govarc.accept.run.accept`).

    Runs for the archives only, under the workspace lock the job holds (a ``govarc accept`` by hand
    meanwhile exits 7). Counts ``batches`` (answered by this step), ``accepted``, ``rejected`` and
    ``duplicate`` (packages); run-log field ``accept``: per batch its state and counts. A refused
    batch (a list whose signature is not its agency's, or that cannot be read) fails the step with
    its one line and exit code (4 or 3) after the other batches are answered. Without an inbox or
    a key of the archives' own, the step fails with exit 6.
    """

    name: str = "accept"
    needs: tuple[str, ...] = ()
    lock: LockScope = LockScope.WORKSPACE  # writes the catalog, holdings/, rejected/, receipts/

    @property
    def empty(self) -> StepResult:
        return StepResult(dict.fromkeys(COUNTS, 0), log={"accept": None})

    def applies(self, party: Party) -> bool:
        return isinstance(party, Archives)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.holdings_dir, ws.rejected_dir, ws.receipts_dir, ws.tmp_dir, ws.home

    def run(self, ctx: StepContext) -> StepResult:
        from govarc.accept.checks import Settings
        from govarc.accept.run import ArchivesIdentity, accept
        from govarc.sign.agency import workspace_policy
        from govarc.transport import open_transport

        ws = ctx.ws
        h = ws.holdings
        if not h.inbox:
            raise ConfigError("no inbox: set `inbox` in [holdings] for the nightly job", str(ws.home / CONFIG_NAME))
        if ctx.key is None:
            raise ConfigError(f"archives {h.code} has no key: run `govarc pki issue {h.code}` or "
                              f"`govarc pki import {h.code}`", str(ws.keys_dir(h.code)))
        me = ArchivesIdentity(h.code, h.name, ctx.key)
        settings = Settings(policy=workspace_policy(ws), accepted_formats=h.accepted_formats, virus_scan=h.virus_scan)
        with open_transport(h.inbox, base=ws.home) as transport:
            report = accept(ctx.catalog, ws.home, transport, me, settings, progress=lambda _: ctx.progress.advance(1))
        answered = [b for b in report.batches if b.state == "answered"]
        result = StepResult(
            {"batches": len(answered), "accepted": sum(b.accepted for b in answered),
             "rejected": sum(b.rejected for b in answered), "duplicate": sum(b.duplicate for b in answered)},
            log={"accept": report.as_dict()}, report=report,
        )
        refused = [b for b in report.batches if b.state == "refused"]
        if refused:
            first = refused[0]
            error = GovarcError(f"refused {first.agency}/{first.batch_id}: {first.message}"
                                + (f" (and {len(refused) - 1} more batches)" if len(refused) > 1 else ""))
            error.exit_code = report.exit_code
            raise StepFailed(result) from error
        return result
