"""The exchange's nightly steps: ``exchange-receive`` (the recipient's) and ``exchange-status`` (the sender's).

``exchange-receive`` receives the agency's messages from the hub and hands them to its OA (see
:mod:`govarc.exchange.receive`). ``exchange-status`` finishes the agency's sends a crash left
``sending`` and collects and verifies the receipts (签收/退回) of its messages (see
:mod:`govarc.exchange.supervise`). Both run only when govarc.toml has ``[exchange]`` (else they
have nothing to do and return their empty result), under the agency's lock (``govarc receive``,
``govarc send`` or ``govarc exchange status`` run by hand for the same agency meanwhile wait for
it or are refused with exit 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govarc.errors import EXIT_INVALID, EXIT_SIGNATURE, GovarcError, InvalidInputError
from govarc.jobs.report import _SEVERITY  # the failure reported first, ranked as the run's exit code
from govarc.jobs.steps import Party, StepContext, StepFailed, StepResult
from govarc.lock import LockScope
from govarc.domain import Agency
from govarc.workspace import Workspace

if TYPE_CHECKING:
    from govarc.catalog.db import Catalog
    from govarc.catalog.messages import Message
    from govarc.sign.signer import Signer
    from govarc.sign.validate import SignaturePolicy
    from govarc.transport import Transport


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


@dataclass(frozen=True)
class Resent:
    """A send a crash left ``sending``, finished by the step (``error`` None) or not (its one line)."""

    message_id: str
    envelopes_written: int = 0
    envelopes_already: int = 0
    error: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "envelopes_written": self.envelopes_written,
                "envelopes_already": self.envelopes_already, "error": self.error, "exit_code": self.exit_code}


def finish_send(ws: Workspace, catalog: Catalog, agency: Agency, m: Message, hub: Transport,
                signer: Signer | None, policy: SignaturePolicy) -> Resent:
    """Finish message ``m`` (``sending``) under its own id, as re-running its ``govarc send`` would.

    Only when the package its source names (``m.source``: an archival code, or a path) is still the
    one recorded (same SHA-256): otherwise nothing is sent and the message is reported, exit 3 (a
    re-packaged record, a path that names another file now). Its recipients are the recorded codes
    in their roles, so the send resumes the message rather than making a new one.
    """
    from govarc.catalog import messages as cm
    from govarc.errors import from_os_error
    from govarc.exchange.documents import Role
    from govarc.exchange.send import OUTGOING_DIR, prepare_package, send

    try:
        prepared = prepare_package(ws, catalog, agency, m.source)
        if prepared.path.parent == ws.home / OUTGOING_DIR / agency.code:
            prepared.path.unlink(missing_ok=True)  # a folder package's zip: send() makes it again
        if prepared.sha256 != m.package_sha256:
            raise InvalidInputError(f"now another package ({prepared.sha256[:12]}…, not the "
                                    f"{m.package_sha256[:12]}… recorded): the send cannot be finished; send the "
                                    "document again by hand", m.source)
        rows = cm.recipients(catalog, m.id)
        report = send(ws, catalog, agency, m.source, hub,
                      to=[r.recipient for r in rows if r.role == Role.TO.value],
                      cc=[r.recipient for r in rows if r.role == Role.CC.value], signer=signer, policy=policy)
        if report.message_id != m.id:  # cannot happen: the same package and addressees resume m
            raise GovarcError(f"finishing message {m.id} sent {report.message_id} instead")
    except GovarcError as e:
        return Resent(m.id, error=f"message {m.id}: {e}", exit_code=e.exit_code)
    except OSError as e:
        err = from_os_error(e)
        return Resent(m.id, error=f"message {m.id}: {err}", exit_code=err.exit_code)
    return Resent(m.id, report.envelopes_written, report.envelopes_already)


@dataclass(frozen=True)
class ExchangeStatusStep:
    """The sender's side: finish sends left ``sending`` by a crash, then collect the receipts.

    Counts ``exchange_resent`` (messages finished), ``exchange_answered`` (receipts verified and
    counted this run), ``exchange_receipts_refused`` and ``exchange_overdue`` (recipients past the
    deadline without an answer, over all the agency's messages; a count, not a failure). Run-log
    field ``exchange_status``: ``resent``, ``receipts`` (``counted``, ``refused``) and ``overdue``,
    or None. A send that cannot be finished or a refused receipt fails the step with its one line
    (exit 5, 4 or 3) after the rest is done. Nothing to do (no message sending or waiting for an
    answer): the hub is not contacted.
    """

    name: str = "exchange-status"
    needs: tuple[str, ...] = ()
    lock: LockScope = LockScope.AGENCY

    @property
    def empty(self) -> StepResult:
        return StepResult({"exchange_resent": 0, "exchange_answered": 0, "exchange_receipts_refused": 0,
                           "exchange_overdue": 0}, log={"exchange_status": None})

    def applies(self, party: Party) -> bool:
        return isinstance(party, Agency)

    def folders(self, ws: Workspace, party: Party) -> tuple[Path, ...]:
        return ws.home / "exchange-outgoing", ws.home

    def run(self, ctx: StepContext) -> StepResult:
        from govarc.catalog import messages as cm
        from govarc.exchange.send import open_hub
        from govarc.exchange.supervise import collect_receipts, exchange_status
        from govarc.findings import Kind
        from govarc.sign.agency import workspace_policy

        if ctx.ws.settings.exchange is None:
            return self.empty
        code = ctx.agency.code
        mine = cm.messages(ctx.catalog, code)
        sending = [m for m in mine if m.state is cm.MessageState.SENDING]
        waiting = [m for m in mine if m.state is not cm.MessageState.SENDING
                   and any(r.state not in cm.ANSWERED for r in cm.recipients(ctx.catalog, m.id))]
        if not sending and not waiting:
            return StepResult(self.empty.counts, log={"exchange_status": {"resent": [], "receipts": None,
                                                                          "overdue": []}})
        policy = workspace_policy(ctx.ws)
        with open_hub(ctx.ws) as hub:
            resent = [finish_send(ctx.ws, ctx.catalog, ctx.agency, m, hub, ctx.signer, policy) for m in sending]
            collected = collect_receipts(ctx.catalog, code, hub, policy)
        late = [{"message_id": s.message.id, "recipients": list(s.overdue)}
                for s in exchange_status(ctx.catalog, sender=code, overdue_only=True)]
        result = StepResult(
            {"exchange_resent": sum(1 for r in resent if r.error is None), "exchange_answered": len(collected.counted),
             "exchange_receipts_refused": len(collected.refused),
             "exchange_overdue": sum(len(m["recipients"]) for m in late)},
            log={"exchange_status": {"resent": [r.as_dict() for r in resent], "receipts": collected.as_dict(),
                                     "overdue": late}},
            report=collected)
        failed = [r for r in resent if r.error is not None]
        lines = [(r.error or "", r.exit_code) for r in failed]
        lines += [(f"{f.code}: {f.path}: {f.message}", EXIT_SIGNATURE if f.kind is Kind.SIGNATURE else EXIT_INVALID)
                  for f in collected.refused]
        if lines:
            worst = min(lines, key=lambda x: _SEVERITY.index(x[1]) if x[1] in _SEVERITY else len(_SEVERITY))
            what = []
            if failed:
                what.append(f"{len(failed)} send(s) not finished")
            if collected.refused:
                what.append(f"{len(collected.refused)} receipt(s) refused")
            error = GovarcError(f"{', '.join(what)}; {worst[0]}")
            error.exit_code = worst[1]
            raise StepFailed(result) from error
        return result
