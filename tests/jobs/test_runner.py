"""One agency's steps (govarc.jobs.runner): order, failure boundaries, dependencies, interrupts, locks."""

from __future__ import annotations

import pytest

from govarc.errors import ConfigError, LockedError
from govarc.jobs.runner import EXIT_INTERRUPTED, run_agency
from govarc.jobs.steps import StepContext, StepResult, StepStatus
from govarc.lock import LockScope, agency_lock, agency_lock_path
from tests.jobs.conftest import FakeStep, Progress, enospc, partly, raises


def statuses(runs) -> list[tuple[str, str]]:
    return [(r.step, r.status.value) for r in runs]


def test_steps_run_in_order_each_announced_and_timed(ctx_for):
    calls: list[tuple[str, str]] = []
    progress = Progress()
    steps = [FakeStep("a", calls), FakeStep("b", calls, needs=("a",)), FakeStep("c", calls)]
    runs, stop = run_agency(steps, ctx_for("SZF"), progress)
    assert stop is None
    assert calls == [("SZF", "a"), ("SZF", "b"), ("SZF", "c")]
    assert progress.heard == [("step", "SZF", "a"), ("step", "SZF", "b"), ("step", "SZF", "c")]
    assert statuses(runs) == [("a", "ok"), ("b", "ok"), ("c", "ok")]
    assert all(r.error is None and r.exit_code == 0 and r.started_at and r.seconds >= 0 for r in runs)
    assert runs[0].as_dict()["counts"] == {"done": 1}


def test_a_failed_step_is_one_line_with_its_file_and_exit_code_and_skips_only_what_needs_it(ctx_for, tmp_path):
    calls: list[tuple[str, str]] = []
    broken = tmp_path / "drop" / "GONE"
    steps = [
        FakeStep("fetch", calls, raises(ConfigError("drop folder does not exist", str(broken)))),
        FakeStep("build", calls, needs=("fetch",)),
        FakeStep("publish", calls, needs=("build",)),  # needs it through build: skipped too
        FakeStep("receipts", calls),  # needs nothing: goes on
    ]
    runs, stop = run_agency(steps, ctx_for("SZF"))
    assert stop is None
    assert statuses(runs) == [("fetch", "failed"), ("build", "skipped"), ("publish", "skipped"), ("receipts", "ok")]
    assert calls == [("SZF", "fetch"), ("SZF", "receipts")]
    fetch = runs[0]
    assert fetch.error == f"{broken}: drop folder does not exist"
    assert (fetch.exit_code, fetch.error_path, fetch.traceback) == (6, str(broken), None)
    assert runs[1].reason == "needs fetch, which did not succeed" and runs[1].error is None
    assert runs[1].result.counts == {"done": 0}  # a step that did not run reports its zeros


def test_an_unexpected_error_is_exit_1_with_its_traceback(ctx_for):
    runs, _ = run_agency([FakeStep("a", [], raises(RuntimeError("a bug")))], ctx_for("SZF"))
    (a,) = runs
    assert a.status is StepStatus.FAILED and a.exit_code == 1
    assert a.error == "unexpected error: RuntimeError: a bug"
    assert "Traceback" in (a.traceback or "") and "RuntimeError: a bug" in (a.traceback or "")


def test_a_failing_progress_hook_is_the_steps_failure(ctx_for):
    class Failing(Progress):
        def step(self, agency: str, step: str) -> None:
            raise RuntimeError("the display broke")

    calls: list[tuple[str, str]] = []
    runs, stop = run_agency([FakeStep("a", calls)], ctx_for("SZF"), Failing())
    assert stop is None and calls == [] and runs[0].error == "unexpected error: RuntimeError: the display broke"


def test_a_step_failing_part_way_keeps_the_part_done_and_names_the_fullest_folder(ctx_for, tmp_path):
    (tmp_path / "a").mkdir()
    runs, _ = run_agency([FakeStep("a", [], partly(3, enospc()), writes=(tmp_path / "a", tmp_path / "missing"))],
                         ctx_for("SZF"))
    (a,) = runs
    assert a.status is StepStatus.FAILED and a.exit_code == 8
    assert a.result.counts == {"done": 3} and a.result.log == {"what": "part"}
    assert a.error_path == str(tmp_path / "a")  # the folder that exists (and so has the least room)
    assert "No space left on device" in (a.error or "")


def test_a_step_with_nothing_to_do_does_not_hold_back_the_steps_that_need_it(ctx_for):
    calls: list[tuple[str, str]] = []
    steps = [FakeStep("ingest", calls, only=("CZJ",)), FakeStep("package", calls, needs=("ingest",))]
    runs, _ = run_agency(steps, ctx_for("SZF"), progress := Progress())
    assert statuses(runs) == [("ingest", "not_applicable"), ("package", "ok")]
    assert calls == [("SZF", "package")] and progress.heard == [("step", "SZF", "package")]


def test_a_needed_step_left_out_of_the_job_is_no_obstacle(ctx_for):
    runs, _ = run_agency([FakeStep("package", [], needs=("ingest",))], ctx_for("SZF"))
    assert statuses(runs) == [("package", "ok")]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), SystemExit(143)], ids=["ctrl-c", "exit"])
def test_an_interrupt_ends_the_agency_and_is_handed_back(ctx_for, interrupt):
    calls: list[tuple[str, str]] = []
    steps = [FakeStep("a", calls), FakeStep("b", calls, raises(interrupt)), FakeStep("c", calls)]
    runs, stop = run_agency(steps, ctx_for("SZF"))
    assert stop is interrupt
    assert statuses(runs) == [("a", "ok"), ("b", "interrupted"), ("c", "not_started")]
    assert calls == [("SZF", "a"), ("SZF", "b")]
    assert [(r.error, r.exit_code) for r in runs[1:]] == [
        ("interrupted before it finished", EXIT_INTERRUPTED), ("not started", EXIT_INTERRUPTED)]


def test_an_agency_step_holds_its_agencys_lock_while_it_runs(ctx_for, ws):
    seen: list[str] = []

    def try_the_lock(ctx: StepContext) -> StepResult:
        for code in ("SZF", "CZJ"):
            try:
                with agency_lock(ws.home, code):
                    seen.append(f"{code} free")
            except LockedError:
                seen.append(f"{code} held")
        return StepResult()

    runs, _ = run_agency([FakeStep("transfer", [], try_the_lock, lock=LockScope.AGENCY)], ctx_for("SZF"))
    assert statuses(runs) == [("transfer", "ok")]
    assert seen == ["SZF held", "CZJ free"]
    assert agency_lock_path(ws.home, "SZF") == ws.home / "locks" / "SZF.lock"
    # A workspace-scoped step takes no agency lock.
    seen.clear()
    run_agency([FakeStep("package", [], try_the_lock)], ctx_for("SZF"))
    assert seen == ["SZF free", "CZJ free"]


def test_an_agency_lock_held_elsewhere_fails_only_that_step_with_exit_7(ctx_for, ws):
    calls: list[tuple[str, str]] = []
    steps = [FakeStep("transfer", calls, lock=LockScope.AGENCY), FakeStep("receipts", calls),
             FakeStep("after", calls, needs=("transfer",))]
    with agency_lock(ws.home, "SZF"):  # a transfer run by hand for SZF
        runs, _ = run_agency(steps, ctx_for("SZF"))
        czj, _ = run_agency(steps, ctx_for("CZJ"))
    assert statuses(runs) == [("transfer", "failed"), ("receipts", "ok"), ("after", "skipped")]
    assert runs[0].exit_code == 7 and "another run holds the lock" in (runs[0].error or "")
    assert runs[0].error_path == str(ws.home / "locks" / "SZF.lock")
    assert statuses(czj) == [("transfer", "ok"), ("receipts", "ok"), ("after", "ok")]
