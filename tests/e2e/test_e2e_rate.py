"""Rate (issue 14 item 5) across real dispatcher processes: the local stack's dispatcher, one process per
concurrent invocation as Lambda runs them, polled by as many pollers as the event source's MaximumConcurrency.

AWS's side is the fidelity layer inside the local stack's moto server (same process): Fargate's RunTask
bucket of 20, refilled at 20 per second, timing every RunTask call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from executor_common.token_bucket import TokenBucket

from local_stack import aws_fidelity
from local_stack.commands import new_execution_urn, run_command, sqlite_recipe
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

RUNS = 80


@pytest.fixture(scope="module")
def bare_stack() -> Iterator[Any]:
    """The stack without its pollers and ECS agent: this test drives the dispatcher, and no runner starts."""
    from local_stack.stack import LocalStack

    local = LocalStack(log_level="ERROR", with_workers=False).start()
    try:
        yield local
    finally:
        local.stop()


def test_dispatcher_processes_together_stay_within_the_run_task_rate(bare_stack, monkeypatch) -> None:
    from local_stack.poller import MappingConfig, SqsPoller

    # GIVEN Fargate's RunTask bucket, and a backlog of 80 runs on the command queue
    monkeypatch.setattr(aws_fidelity, "run_task_throttle", TokenBucket(20, 20))
    aws_fidelity.run_task_calls.clear()
    for index in range(RUNS):
        bare_stack.send(run_command(new_execution_urn(f"rate{index}"), sqlite_recipe("/tmp/none.db")))
    (mapping,) = [
        m
        for m in bare_stack.aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        if bare_stack.info.queue_url.endswith(m["EventSourceArn"].rsplit(":", 1)[-1])
    ]
    containers = int(mapping["ScalingConfig"]["MaximumConcurrency"])
    dispatcher = bare_stack.functions["DispatcherFunction"]

    # WHEN the event source's MaximumConcurrency of pollers hand it batches, as Lambda does
    config = MappingConfig(
        bare_stack.info.queue_url, mapping["EventSourceArn"], bare_stack.aws.region, concurrency=containers
    )
    poller = SqsPoller(bare_stack.aws.client("sqs"), config, dispatcher.invoke, "rate").start()
    ecs = bare_stack.aws.client("ecs")
    try:
        wait_until(
            lambda: len(aws_fidelity.run_task_calls) >= RUNS or None, 240, f"{RUNS} RunTask calls from the dispatchers"
        )
    finally:
        poller.stop()

    # THEN several dispatcher processes launched every run, and AWS's bucket never throttled one RunTask
    calls = list(aws_fidelity.run_task_calls)
    assert len(dispatcher._all) >= 2, "the invocations ran in one process only"
    assert [throttled for _, throttled in calls].count(True) == 0
    arns = [
        a
        for page in ecs.get_paginator("list_tasks").paginate(cluster=bare_stack.info.cluster)
        for a in page["taskArns"]
    ]
    assert len(arns) == RUNS
    times = sorted(at for at, _ in calls)
    sustained = (len(times) - 10) / (times[-1] - times[0])
    print(
        f"\n{len(dispatcher._all)} dispatcher processes, {len(times)} RunTask calls, {sustained:.1f}/s after the burst"
    )
    assert sustained <= 20 * 1.1  # call times are taken on arrival at moto: a loaded machine adds jitter
