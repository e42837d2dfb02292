"""Issue 14's figures, small, through the whole local stack (bench/bench_fleet.py runs them at full size).

One stack for the module, set up as `local_stack.fleet_load.fleet_stack` says (MaxConcurrentRuns=20, fast
container mode: the real runner per task with a one-second `datahub ingest` stand-in). Each test sends
requests as DataHub does, samples the cluster while they run, and waits until everything settled.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Any]:
    from local_stack.fleet_load import fleet_stack

    # Runs of 4 s: long enough that the first twenty are all live before the first ends, on a loaded machine too
    stack = fleet_stack(quick_ingest_seconds=4.0).start()
    try:
        yield stack
    finally:
        stack.stop()


def test_burst_over_the_limit_every_run_succeeds_never_above_the_limit(fleet: Any) -> None:
    from local_stack.fleet_load import LIMIT, burst, check_burst

    # GIVEN a limit of 20 WHEN 30 runs are requested at once
    outcome = burst(fleet, LIMIT + 10, name="t-burst", timeout=240)

    # THEN every run SUCCESS, launched once, never more than 20 at once; some waited; nothing in the DLQ
    assert check_burst(outcome) == [], outcome.figures()
    # the limit held (check_burst), and it was reached or nearly: on a loaded two-core machine a slot is
    # free again only once the reconciler has handled its task's STOPPED event
    assert LIMIT - 3 <= outcome.most_live <= LIMIT
    assert outcome.longest_wait_s > 0.5


def test_burst_under_capacity_refusals_and_the_vcpu_quota_still_succeeds(fleet: Any) -> None:
    from local_stack.aws_fidelity import FargateConditions
    from local_stack.fleet_load import burst, check_burst

    # GIVEN 30 % of RunTask calls refused for capacity and a vCPU quota of 3 (each run asks for 1 vCPU)
    refusing = FargateConditions(capacity_failure_rate=0.3, on_demand_vcpu_quota=3, seed=7)

    # WHEN 12 runs are requested at once
    outcome = burst(fleet, 12, name="t-refused", fargate=refusing, timeout=240)

    # THEN each refusal made its run wait: all SUCCESS, never above the quota, nothing failed or in the DLQ
    assert check_burst(outcome, limit=3) == [], outcome.figures()
    assert outcome.refused.get("capacity") and outcome.refused.get("vcpu-quota"), outcome.refused


@pytest.mark.parametrize("policy", ["queue", "skip"])
def test_runs_of_one_source_never_overlap_and_end_as_the_policy_says(fleet: Any, policy: str) -> None:
    from local_stack.fleet_load import check_one_source, one_source

    # WHEN 5 scheduled runs of one source arrive at once
    outcome = one_source(fleet, 5, policy, timeout=240)

    # THEN at most one runs at a time; queue: all SUCCESS in turn; skip: the others DUPLICATE, naming it
    assert check_one_source(outcome, policy, fleet) == [], outcome.figures()
    if policy == "skip":
        assert outcome.by_status.get("DUPLICATE", 0) >= 1


def test_spot_interruptions_rerun_on_demand_and_datahub_shows_one_run_each(fleet: Any) -> None:
    from local_stack.fleet_load import check_spot, spot

    # GIVEN runs on FARGATE_SPOT_WITH_FALLBACK, and Fargate reclaiming a third of the Spot tasks
    outcome = spot(fleet, 6, interruption_rate=0.34, timeout=300)

    # THEN each run SUCCESS; an interrupted one re-ran once on on-demand, as the same execution request
    assert check_spot(outcome, fleet) == [], outcome.figures()


def test_gms_outage_during_a_burst_loses_nothing(fleet: Any) -> None:
    from local_stack.fleet_load import burst, check_burst

    # WHEN GMS answers 503 to everything for 15 s while a burst of 10 runs
    outcome = burst(fleet, 10, name="t-outage", gms_outage_seconds=15, timeout=300)

    # THEN every run still reaches SUCCESS once GMS is back, launched once, nothing in the DLQ
    assert check_burst(outcome) == [], outcome.figures()
