"""The ``exchange-receive`` step: receive the agency's messages from the exchange hub and hand them to its OA.

Runs only when govarc.toml has ``[exchange]`` (else it has nothing to do and returns its empty
result), under the agency's lock (a ``govarc receive`` run by hand for the same agency meanwhile
is refused with exit 7). See :mod:`govarc.exchange.receive`.
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
class ExchangeReceiveStep:
    """Receive every complete envelope in the agency's inbox and retry failed OA hand-overs.

    Counts ``exchange_received`` (messages kept this run), ``exchange_refused`` (envelopes refused)
    and ``oa_failed``; run-log field ``exchange_receive``: the report. A refused message or a failed
    hand-over fails the step with its one line after the others were received.
    """

    name: str = "exchange-receive"
    needs: tuple[str, ...] = ()
    lock: LockScope = LockScope.AGENCY

    @property
    def empty(self) -> StepResult:
        return StepResult({"exchange_received": 0, "exchange_refused": 0, "oa_failed": 0},
                          log={"exchange_receive": None})

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.home / "incoming", ws.home

    def run(self, ctx: StepContext) -> StepResult:
        from govarc.exchange.receive import detached, open_hub, receive, receive_settings

        if ctx.ws.settings.exchange is None:
            return self.empty
        sign = detached(ctx.signer) if ctx.signer is not None else None
        with open_hub(ctx.ws) as hub:
            report = receive(ctx.ws, ctx.catalog, hub, ctx.agency, receive_settings(ctx.ws), sign=sign)
        kept = report.count("received", "handed_over", "signed_for", "oa_failed")
        result = StepResult({"exchange_received": kept, "exchange_refused": report.count("refused"),
                             "oa_failed": report.count("oa_failed")},
                            log={"exchange_receive": report.as_dict()}, report=report)
        bad = [m for m in report.messages if m.exit_code]
        if bad:
            worst = max(bad, key=lambda m: m.exit_code)
            error = GovarcError(f"{len(bad)} message(s) not received or not handed over; {worst.line()}")
            error.exit_code = report.exit_code
            raise StepFailed(result) from error
        return result
