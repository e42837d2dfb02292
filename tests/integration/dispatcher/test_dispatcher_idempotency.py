"""Behaviour 5: redelivery never launches a second task (the startedBy guard; clientToken is unit-tested)."""

from __future__ import annotations

import pytest
from dispatcher_helpers import failed_ids, run_body, sqs_event

from tests.conftest import load_event


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_one_hundred_deliveries_of_one_message_launch_one_task(dispatcher_stack):
    # GIVEN the same message delivered 100 times (10 batches of 10, as SQS at-least-once may)
    body = load_event("run_ingest.json")["Records"][0]["body"]

    for _ in range(10):
        response = dispatcher_stack.invoke(sqs_event(*[body] * 10))
        assert failed_ids(response) == []

    # THEN moto holds exactly one task for the run
    tasks = dispatcher_stack.tasks()
    assert len(tasks) == 1
    assert tasks[0]["startedBy"] == "3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"
    duplicates = [r for r in dispatcher_stack.log_records() if "already launched" in r.get("message", "")]
    assert len(duplicates) == 99


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_redelivery_after_the_task_stopped_but_run_still_open_launches_again(dispatcher_stack):
    # GIVEN a run whose task was stopped by ECS (e.g. capacity reclaimed) while DataHub still shows RUNNING
    body = run_body("relaunch-after-stop")
    dispatcher_stack.invoke(sqs_event(body))
    (task,) = dispatcher_stack.tasks()
    dispatcher_stack.ecs.stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason="Spot interruption")

    # WHEN the message comes back (e.g. its visibility timed out)
    dispatcher_stack.invoke(sqs_event(body))

    # THEN the run is launched again (the guard only covers pending/running tasks)
    assert len(dispatcher_stack.tasks()) == 2
