"""The Spot figure's check (bench figure (d)): an interrupted run must re-run on on-demand, unless its final
status was already in DataHub when the interruption came (the runner had finished; nothing is left to do)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from local_stack.fleet_load import Outcome, check_spot
from local_stack.gms_standin import GmsStandIn

INTERRUPTED_AT = 1_800_000_000.0  # epoch s
RUNS = {
    "urn:li:dataHubExecutionRequest:spot-finished-first": ["FARGATE_SPOT"],
    "urn:li:dataHubExecutionRequest:spot-reran": ["FARGATE_SPOT", None],
    "urn:li:dataHubExecutionRequest:spot-not-rerun": ["FARGATE_SPOT"],
}


def _stack_with_results(ended_before: dict[str, bool]) -> Any:
    gms = GmsStandIn()
    for urn, before in ended_before.items():
        end_ms = int(INTERRUPTED_AT * 1000) + (-500 if before else 500)
        gms.seed_result(urn, {"status": "SUCCESS", "startTimeMs": end_ms - 4_000, "durationMs": 4_000})
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
        extra={"interrupted_at": dict.fromkeys(RUNS, INTERRUPTED_AT), "capacity_per_run": RUNS},
    )


def test_spot_check_accepts_no_rerun_only_for_a_run_that_had_finished_before_its_interruption():
    # GIVEN three interrupted Spot runs: one had written SUCCESS before the interruption, one re-ran on
    # on-demand, one wrote SUCCESS after it without a re-run
    stack = _stack_with_results({urn: "finished-first" in urn for urn in RUNS})

    # THEN only the last breaks the figure
    assert check_spot(_outcome(), stack) == [
        "urn:li:dataHubExecutionRequest:spot-not-rerun: tasks on ['FARGATE_SPOT'], expected ['FARGATE_SPOT', None]"
    ]
