"""The default MaxConcurrentVcpus (quota) through the whole local stack (issue 14 item 1).

The local agent is told the account's Fargate On-Demand vCPU quota (`--vcpu-quota`, FargateConditions); the
moto server's Service Quotas answers it; the deployed dispatcher reads it with GetServiceQuota and holds its
runs to it with the vCPU ledger, so RunTask is never asked for more than the quota allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(600)

QUOTA = 2


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local_stack.stack import LocalStack

    # The template's defaults (MaxConcurrentVcpus=quota, no MaxConcurrentRuns), runs of 2 s, short waits
    local = LocalStack(
        log_level="ERROR",
        function_environment={"DispatcherFunction": {"WAIT_CHECK_SECONDS": "2"}},
        quick_ingest_seconds=2.0,
    ).start()
    try:
        yield local
    finally:
        local.stop()


def test_the_accounts_vcpu_quota_is_the_default_limit_and_runtask_is_never_refused(stack: Any) -> None:
    from local_stack.aws_fidelity import FargateConditions
    from local_stack.fleet_load import burst, check_burst

    # GIVEN an account whose Fargate On-Demand vCPU quota is 2 (each run asks for 1 vCPU)
    # WHEN 6 runs are requested at once
    outcome = burst(stack, 6, name="t-quota", fargate=FargateConditions(on_demand_vcpu_quota=QUOTA), timeout=300)

    print(f"\nquota {QUOTA}: {outcome.figures()}")

    # THEN all SUCCESS, never more than 2 at once, and no RunTask was refused: the stack waited before asking
    assert check_burst(outcome, limit=QUOTA) == [], outcome.figures()
    assert outcome.refused == {}, outcome.refused
    assert outcome.longest_wait_s > 0.5
