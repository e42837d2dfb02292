"""50 requests through the dispatcher and the reconciler under injected AWS and GMS faults, with SQS
redelivery up to maxReceiveCount (issue 10's figures; bench/bench_faults.py runs 1,000).

Each run has at most one task; each ends with a final status in DataHub once its task stopped, or is in
the DLQ because every one of its five deliveries hit a transient fault (then nothing started and DataHub
shows no status: the run stays Pending until issue 14's "retries that end" writes FAILURE on the last
attempt). The harness is dispatcher_faults.py.
"""

from __future__ import annotations

import contextlib
import io

from tests.integration.dispatcher.dispatcher_faults import FaultRates, run_under_faults


def test_dispatcher_faults_fifty_requests_none_lost_duplicated_or_stuck():
    # GIVEN a bad day: a fault on roughly one AWS or GMS call in five, some of them after the call took effect
    rates = FaultRates(
        throttling=0.08,
        capacity=0.05,
        access_denied=0.01,
        aws_lost_response=0.05,
        gms_5xx=0.08,
        gms_timeout=0.03,
        gms_lost_response=0.03,
    )

    # WHEN 50 requests go through the queue, the dispatcher, ECS, and the reconciler once their tasks stop
    with contextlib.redirect_stdout(io.StringIO()):  # the Lambdas' EMF metrics
        ledger = run_under_faults(50, rates, seed=50)

    # THEN the faults happened, and every request ended once, with the status DataHub shows
    assert sum(ledger.injected.values()) >= 10, ledger.injected
    assert ledger.lost() == []
    assert ledger.duplicated() == []
    assert ledger.stuck() == []
    assert ledger.dlq_not_failed() == []  # retries that end: the last attempt writes FAILURE (issue 14.4)
    assert ledger.reconciler_dlq == 0
    finished = {urn: status for urn, status in ledger.status.items() if urn not in ledger.in_dlq}
    assert set(finished.values()) == {"FAILURE"}  # each runner "died": the reconciler's word, or a refusal


def test_dispatcher_faults_oracle_sees_duplicates_when_ecs_ignores_the_client_token(monkeypatch):
    """The ledger can fail: with raw moto's RunTask (clientToken ignored), lost responses launch twice."""
    from local_stack import aws_fidelity

    monkeypatch.setattr(aws_fidelity, "honour_client_token", False)
    rates = FaultRates(
        throttling=0, capacity=0, access_denied=0, aws_lost_response=0.3, gms_5xx=0, gms_timeout=0, gms_lost_response=0
    )

    with contextlib.redirect_stdout(io.StringIO()):
        ledger = run_under_faults(20, rates, seed=7)

    assert ledger.injected["aws_lost_response"] > 0
    assert ledger.duplicated() != []
