"""The nightly job as a list of steps: per-step results in the run log and the runs row, the step list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govarc.admin import init_workspace
from govarc.catalog.db import open_catalog
from govarc.errors import ConfigError
from govarc.jobs.nightly import NIGHTLY_STEPS, run_nightly, steps_named
from govarc.jobs.steps import StepResult
from tests.citykit import make_city
from tests.jobs.conftest import FakeStep, Progress, raises


def log_of(report) -> dict:
    return json.loads(Path(report.log_path).read_text(encoding="utf-8"))


def runs_rows(ws) -> list[tuple[str, dict]]:
    with open_catalog(ws.catalog_path) as cat:
        return [(s, json.loads(j)) for s, j in cat.conn.execute("SELECT status, summary FROM runs ORDER BY id")]


def test_every_agency_runs_the_job_steps_in_order(ws):
    calls: list[tuple[str, str]] = []
    progress = Progress()
    report = run_nightly(ws, steps=[FakeStep("a", calls), FakeStep("b", calls)], progress=progress)
    assert report.exit_code == 0 and report.status.value == "ok"
    assert calls == [("SZF", "a"), ("SZF", "b"), ("CZJ", "a"), ("CZJ", "b")]
    assert progress.heard == [("step", "SZF", "a"), ("step", "SZF", "b"), ("done", "SZF"),
                              ("step", "CZJ", "a"), ("step", "CZJ", "b"), ("done", "CZJ")]
    data = log_of(report)
    assert data["log_version"] == 1 and data["steps"] == ["a", "b"]
    szf = data["agencies"][0]
    assert [(s["step"], s["status"], s["counts"], s["error"]) for s in szf["steps"]] == [
        ("a", "ok", {"done": 1}, None), ("b", "ok", {"done": 1}, None)]
    assert all(isinstance(s["seconds"], float) and s["started_at"] for s in szf["steps"])


def test_a_failed_step_is_recorded_for_its_agency_and_the_others_go_on(ws, tmp_path):
    calls: list[tuple[str, str]] = []
    steps = [FakeStep("a", calls, raises(ConfigError("not there", str(tmp_path / "x")), on="SZF")),
             FakeStep("b", calls, needs=("a",)), FakeStep("c", calls)]
    report = run_nightly(ws, steps=steps)
    assert report.exit_code == 6 and report.status.value == "failed"
    assert calls == [("SZF", "a"), ("SZF", "c"), ("CZJ", "a"), ("CZJ", "b"), ("CZJ", "c")]
    szf, czj = report.agencies
    assert (szf.error, szf.error_exit, szf.error_path) == (f"{tmp_path / 'x'}: not there", 6, str(tmp_path / "x"))
    assert [s.step for s in szf.failed] == ["a"] and czj.error is None
    entry = log_of(report)["agencies"][0]
    # The flat fields of log version 1, then each step; a step's log fields are there even when it did not run.
    assert list(entry)[:2] == ["agency", "a"] and entry["a"] is None and entry["b"] is None
    assert (entry["error"], entry["exit_code"], entry["error_path"]) == (szf.error, 6, str(tmp_path / "x"))
    assert [(s["step"], s["status"]) for s in entry["steps"]] == [("a", "failed"), ("b", "skipped"), ("c", "ok")]
    ((status, summary),) = runs_rows(ws)
    assert status == "failed" and summary["exit_code"] == 6
    assert summary["agencies"]["SZF"] == {"done": 1, "error": szf.error,
                                          "steps": {"a": "failed", "b": "skipped", "c": "ok"}}
    assert summary["agencies"]["CZJ"]["done"] == 3


def test_a_refused_count_makes_the_run_exit_3_without_stopping_anything(ws):
    calls: list[tuple[str, str]] = []
    steps = [FakeStep("a", calls, lambda ctx: StepResult({"refused": 1})), FakeStep("b", calls, needs=("a",))]
    report = run_nightly(ws, steps=steps)
    assert report.refused and report.exit_code == 3 and len(calls) == 4


def test_an_interrupt_records_every_step_and_is_raised_again(ws):
    calls: list[tuple[str, str]] = []
    steps = [FakeStep("a", calls), FakeStep("b", calls, raises(KeyboardInterrupt(), on="SZF")), FakeStep("c", calls)]
    with pytest.raises(KeyboardInterrupt):
        run_nightly(ws, steps=steps)
    assert calls == [("SZF", "a"), ("SZF", "b")]
    ((status, summary),) = runs_rows(ws)
    assert status == "interrupted"
    (log,) = ws.logs_dir.glob("nightly-*.json")
    data = json.loads(log.read_text(encoding="utf-8"))
    assert data["status"] == "interrupted" and data["exit_code"] == 130
    assert [(a["agency"], a["error"], a["exit_code"]) for a in data["agencies"]] == [
        ("SZF", "interrupted before it finished", 130), ("CZJ", "not started", 130)]
    assert [[s["status"] for s in a["steps"]] for a in data["agencies"]] == [
        ["ok", "interrupted", "not_started"], ["not_started"] * 3]


def test_steps_are_named_as_a_later_setting_would_name_them():
    assert steps_named(["ingest", "package", "transfer", "receipts", "exchange-receive",
                        "exchange-status"]) == NIGHTLY_STEPS
    assert [s.name for s in steps_named(["package"])] == ["package"]
    with pytest.raises(ConfigError, match="unknown step 'exchange'; known: ingest, package, transfer, receipts"):
        steps_named(["ingest", "exchange"])
    with pytest.raises(ConfigError, match="listed twice"):
        steps_named(["ingest", "ingest"])
    with pytest.raises(ConfigError, match="'package' needs ingest, which must come before it"):
        steps_named(["package", "ingest"])


def test_the_real_steps_in_the_run_log(tmp_path):
    city = make_city(tmp_path, n=2)
    with open(city, "a", encoding="utf-8") as f:  # an agency without a drop folder: nothing to ingest
        f.write('\n[[agency]]\ncode = "CZJ"\nname = "柳州市财政局"\nfonds = "0035"\nunsigned = true\n')
    ws, _ = init_workspace(tmp_path / "home", city)
    report = run_nightly(ws)
    assert report.exit_code == 0
    szf, czj = log_of(report)["agencies"]
    assert [(s["step"], s["status"], s["counts"]) for s in szf["steps"]] == [
        ("ingest", "ok", {"registered": 2, "duplicate": 0, "refused": 0}), ("package", "ok", {"packaged": 2}),
        # without [archives] the transfer steps have nothing to do
        ("transfer", "ok", {"transferred": 0}), ("receipts", "ok", {"receipted": 0, "rejected": 0}),
        # without [exchange] neither has the exchange
        ("exchange-receive", "ok", {"exchange_received": 0, "exchange_refused": 0, "oa_failed": 0}),
        ("exchange-status", "ok", {"exchange_resent": 0, "exchange_answered": 0, "exchange_receipts_refused": 0,
                                   "exchange_overdue": 0})]
    assert szf["ingest"]["registered"] == 2 and len(szf["packaged"]) == 2
    assert [(s["step"], s["status"]) for s in czj["steps"]] == [("ingest", "not_applicable"), ("package", "ok"),
                                                                ("transfer", "ok"), ("receipts", "ok"),
                                                                ("exchange-receive", "ok"), ("exchange-status", "ok")]
    assert czj["ingest"] is None and czj["packaged"] == []
    assert report.agencies[0].counts == {"registered": 2, "duplicate": 0, "refused": 0, "packaged": 2,
                                         "transferred": 0, "receipted": 0, "rejected": 0, "exchange_received": 0,
                                         "exchange_refused": 0, "oa_failed": 0, "exchange_resent": 0,
                                         "exchange_answered": 0, "exchange_receipts_refused": 0, "exchange_overdue": 0}
