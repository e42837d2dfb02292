"""The Spot figure's check (bench figure (d)): an interrupted run must re-run on on-demand, unless its ingestion
had completed when the interruption came (the runner's SUCCESS came first: the reconciler finds the run final)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from local_stack.fleet_load import Outcome, check_spot
from local_stack.gms_standin import GmsStandIn

CUT_RERUN = ["RUNNING", "CANCELLED", "PENDING", "RUNNING", "SUCCESS"]  # the runner's CANCELLED, the re-run's
#: urn -> (its DataHub history, the capacity providers of its tasks)
RUNS = {
    "urn:li:dataHubExecutionRequest:spot-finished-first": (["RUNNING", "SUCCESS"], ["FARGATE_SPOT"]),
    "urn:li:dataHubExecutionRequest:spot-reran": (CUT_RERUN, ["FARGATE_SPOT", None]),
    # killed before the runner wrote anything final: the reconciler's PENDING is the first after RUNNING
    "urn:li:dataHubExecutionRequest:spot-killed-reran": (
        ["RUNNING", "PENDING", "RUNNING", "SUCCESS"],
        ["FARGATE_SPOT", None],
    ),
    "urn:li:dataHubExecutionRequest:spot-not-rerun": (CUT_RERUN, ["FARGATE_SPOT"]),
    "urn:li:dataHubExecutionRequest:spot-reran-after-success": (
        ["RUNNING", "SUCCESS", "PENDING", "RUNNING", "SUCCESS"],
        ["FARGATE_SPOT", None],
    ),
}


def _stack_with_results(histories: dict[str, list[str]]) -> Any:
    gms = GmsStandIn()
    for urn, statuses in histories.items():
        for status in statuses:
            gms.seed_result(urn, {"status": status, "startTimeMs": 1_800_000_000_000})
    return SimpleNamespace(gms=gms)


def _outcome() -> Outcome:
    return Outcome(
        name="spot",
        requests=len(RUNS),
        seconds=10.0,
        final=dict.fromkeys(RUNS, "SUCCESS"),
        most_live=3,
        most_live_per_group=1,
        tasks_per_run={urn: len(providers) for urn, (_, providers) in RUNS.items()},
        longest_wait_s=1.0,
        launch_rate_per_s=1.0,
        dlq=0,
        refused={},
        interrupted=len(RUNS),
        extra={"interrupted_runs": sorted(RUNS), "capacity_per_run": {urn: run[1] for urn, run in RUNS.items()}},
    )


def test_spot_check_wants_a_rerun_exactly_for_the_interrupted_runs_that_had_not_completed():
    # GIVEN interrupted Spot runs: one had completed (SUCCESS first), two were cut and re-ran on on-demand (the
    # runner's CANCELLED or nothing final before the reconciler's re-run PENDING), one was cut and not re-run, and
    # one was re-run although it had ended SUCCESS
    stack = _stack_with_results({urn: history for urn, (history, _) in RUNS.items()})

    # THEN only the last two break the figure
    assert check_spot(_outcome(), stack) == [
        "urn:li:dataHubExecutionRequest:spot-not-rerun: tasks on ['FARGATE_SPOT'], expected ['FARGATE_SPOT', None]",
        "urn:li:dataHubExecutionRequest:spot-reran-after-success: re-run on on-demand after it had ended SUCCESS",
    ]
