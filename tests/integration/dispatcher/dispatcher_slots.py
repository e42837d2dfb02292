"""A run's task ends the way it ends on AWS: ECS stops it, and its STOPPED event reaches the reconciler's handler
(which frees the run slot and the source lease the task held). The reconciler reads the dispatcher's environment
(the same cluster, DataHub stand-in and run bucket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from dispatcher_helpers import CLUSTER, REGION

from local_stack.event_shapes import task_state_change_event
from tests.support.aws_harness import ACCOUNT_ID, lambda_context


def stop_and_reconcile(
    ecs: Any, task_arn: str, reason: str = "Essential container in task exited", **detail: Any
) -> dict[str, Any]:
    """Stop the task in ECS and hand its STOPPED event to the reconciler's Lambda handler; its answer.

    `detail`: fields ECS sets that moto does not (e.g. stopCode="SpotInterruption"); `stoppedAt` is now unless
    given (ECS sets it on every stopped task; a test replaying an earlier event gives it)."""
    from reconciler import handler
    from reconciler.settings import get_settings

    ecs.stop_task(cluster=CLUSTER, task=task_arn, reason=reason)
    (task,) = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
    task.update({"lastStatus": "STOPPED", "stoppedAt": datetime.now(UTC), **detail})
    event = task_state_change_event(task, account=ACCOUNT_ID, region=REGION, version=3)
    get_settings.cache_clear()
    handler.get_ports.cache_clear()
    try:
        return handler.lambda_handler(event, lambda_context("ReconcilerFunction", REGION))
    finally:
        get_settings.cache_clear()
        handler.get_ports.cache_clear()


CONTAINERS = 5  # template.yaml's DispatcherMaxConcurrency default
#: RunTask takes a moment on AWS (moto answers at once): the window in which a ListTasks count goes stale.
RUN_TASK_SECONDS = 0.3


def _slow_run_task(client: Any, seconds: float) -> None:
    original = client.run_task

    def run_task(**request: Any) -> Any:
        time.sleep(seconds)
        return original(**request)

    client.run_task = run_task


def burst_on_containers(
    stack: Any,
    queue: Any,
    monkeypatch: pytest.MonkeyPatch,
    bodies: list[str],
    *,
    without: tuple[str, ...] = (),
    prepare: Callable[[Any], None] | None = None,
    keep_running: bool = False,
    **environment: str,
) -> tuple[int, list[str]]:
    """`bodies` through CONTAINERS dispatcher containers at once (each its own adapters, as a cold start builds
    them, RunTask slowed), tasks ending as they run (STOPPED to the reconciler), until the queue is empty and
    nothing runs (`keep_running`: no task ends before the queue is empty). `without`: adapters left out
    (`slots`, `leases`, `vcpus`: the controls); `prepare` gets each container's Dependencies (a test may watch
    its calls). (Most RUNNING seen, the startedBy of every task launched.)"""
    from dispatcher import handler
    from dispatcher.settings import get_settings

    for name, value in {**environment, "DISPATCHER_MAX_CONCURRENCY": str(CONTAINERS)}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    containers = [handler.dependencies.__wrapped__() for _ in range(CONTAINERS)]
    for deps in containers:
        _slow_run_task(deps.ecs.client, RUN_TASK_SECONDS)
        for name in without:
            setattr(deps, name, None)
        if prepare is not None:
            prepare(deps)
    mine = threading.local()
    monkeypatch.setattr(handler, "dependencies", lambda: mine.deps)
    for body in bodies:
        queue.send(body)

    done = threading.Event()
    most_running = 0
    errors: list[BaseException] = []

    def sample() -> None:  # ECS's own view every 5 ms (a busy loop would hold the GIL from the containers)
        nonlocal most_running
        ecs = boto3.client("ecs", region_name=REGION)
        while not done.wait(0.005):
            running = ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
            most_running = max(most_running, len(running))

    def container(index: int) -> None:
        mine.deps = containers[index]
        sqs = boto3.client("sqs", region_name=REGION)
        try:
            while not done.is_set():
                event = queue.receive_event(wait_seconds=1, max_records=3)
                if not event["Records"]:
                    continue
                processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
                response = process_partial_response(
                    event=event,
                    record_handler=handler.record_handler,
                    processor=processor,
                    context=lambda_context("DispatcherFunction", REGION),
                )
                failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
                for record in event["Records"]:
                    if record["messageId"] not in failed:
                        sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"])
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)

    threads = [threading.Thread(target=sample)] + [
        threading.Thread(target=container, args=(i,)) for i in range(CONTAINERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline and not errors:
            running = [t for t in stack.tasks() if t["desiredStatus"] == "RUNNING"]
            waiting = queue.all_messages()
            if not running and not waiting:
                break
            for task in [] if keep_running and waiting else running[:2]:  # runs end while others launch
                stop_and_reconcile(stack.ecs, task["taskArn"])
            time.sleep(0.2)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == [], [repr(error) for error in errors]
    return most_running, [t["startedBy"] for t in stack.tasks()]
