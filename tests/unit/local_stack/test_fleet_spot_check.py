"""The Spot figure's check (bench figure (d)): an interrupted run must re-run on on-demand, unless its ingestion
had completed when the interruption came (the runner's SUCCESS came first: the reconciler finds the run final)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from local_stack.fleet_load import Outcome, check_spot
from local_stack.gms_standin import GmsStandIn

RUNS = {
    "urn:li:dataHubExecutionRequest:spot-finished-first": ["FARGATE_SPOT"],
    "urn:li:dataHubExecutionRequest:spot-reran": ["FARGATE_SPOT", None],
    "urn:li:dataHubExecutionRequest:spot-not-rerun": ["FARGATE_SPOT"],
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
        tasks_per_run={urn: len(providers) for urn, providers in RUNS.items()},
        longest_wait_s=1.0,
        launch_rate_per_s=1.0,
        dlq=0,
        refused={},
        interrupted=3,
        extra={"interrupted_runs": sorted(RUNS), "capacity_per_run": RUNS},
    )


def test_spot_check_accepts_no_rerun_only_for_a_run_whose_ingestion_completed_before_its_interruption():
    # GIVEN three interrupted Spot runs: one's ingestion had completed (SUCCESS first); one was cut (the runner's
    # CANCELLED) and re-ran on on-demand; one was cut and ended SUCCESS without a re-run
    cut = ["RUNNING", "CANCELLED", "PENDING", "RUNNING", "SUCCESS"]
    stack = _stack_with_results({urn: ["RUNNING", "SUCCESS"] if "finished-first" in urn else cut for urn in RUNS})

    # THEN only the last breaks the figure
    assert check_spot(_outcome(), stack) == [
        "urn:li:dataHubExecutionRequest:spot-not-rerun: tasks on ['FARGATE_SPOT'], expected ['FARGATE_SPOT', None]"
    ]
