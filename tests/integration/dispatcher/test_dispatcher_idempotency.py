"""Redelivery never launches a second task, and a launched run costs exactly one ECS call.

What protects real users is RunTask's deterministic `clientToken`: ECS keeps it idempotent for
24 hours per cluster (same parameters -> the same task, in its current state; other parameters ->
ConflictException naming the task), longer than a message can be retried before the DLQ. The
status read from DataHub stops a redelivery after the run ended. moto 5.2.5 ignores the token;
every test runs against `local_stack.aws_fidelity`, which honours it as ECS does. The last test
plays raw moto to show that the token, not anything else, is what keeps a redelivery from
starting a second task.

Dispatcher behaviour 5 in docs/architecture.md.
"""

from __future__ import annotations

import json

from dispatcher_helpers import BUCKET, PG_RECIPE, failed_ids, run_body, sqs_event, urn_of

from tests.conftest import load_event


def test_handler_one_hundred_deliveries_of_one_message_launch_one_task(dispatcher_stack):
    # GIVEN the same message delivered 100 times (10 batches of 10, as SQS at-least-once may)
    body = load_event("run_ingest.json")["Records"][0]["body"]

    for _ in range(10):
        response = dispatcher_stack.invoke(sqs_event(*[body] * 10))
        assert failed_ids(response) == []

    # THEN moto holds exactly one task for the run, and DataHub got one RUNNING
    tasks = dispatcher_stack.tasks()
    assert len(tasks) == 1
    assert tasks[0]["startedBy"] == "3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"
    duplicates = [r for r in dispatcher_stack.log_records() if "already launched" in r.get("message", "")]
    assert len(duplicates) == 99
    assert dispatcher_stack.gms.statuses(urn_of("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f")) == ["RUNNING"]
    # AND no ListTasks before RunTask: redeliveries are told apart by the clientToken alone
    assert dispatcher_stack.ecs_calls.calls["ListTasks"] == 0


def test_handler_launched_run_makes_exactly_one_ecs_call_in_steady_state(dispatcher_stack):
    # GIVEN a warm container (the recipe's secret set already has its task definition)
    dispatcher_stack.invoke(sqs_event(run_body("warm-up", PG_RECIPE)))
    dispatcher_stack.ecs_calls.calls.clear()

    # WHEN the next run arrives
    response = dispatcher_stack.invoke(sqs_event(run_body("steady-state", PG_RECIPE)))

    # THEN it launched with one ECS call: RunTask
    assert failed_ids(response) == []
    assert dict(dispatcher_stack.ecs_calls.calls) == {"RunTask": 1}
    assert len(dispatcher_stack.tasks()) == 2


def test_handler_redelivery_after_the_task_stopped_launches_nothing_and_writes_nothing(dispatcher_stack):
    # GIVEN a run whose task stopped (e.g. capacity reclaimed) while DataHub still shows RUNNING
    # (this test used to pin "launched again": that relied on moto ignoring clientToken; ECS never does that)
    body = run_body("relaunch-after-stop")
    dispatcher_stack.invoke(sqs_event(body))
    (task,) = dispatcher_stack.tasks()
    dispatcher_stack.ecs.stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason="Spot interruption")

    # WHEN the message comes back (e.g. its visibility timed out)
    response = dispatcher_stack.invoke(sqs_event(body))

    # THEN no second task; the reconciler, seeing the STOPPED task, writes the final status
    assert failed_ids(response) == []
    assert len(dispatcher_stack.tasks()) == 1
    assert dispatcher_stack.gms.statuses(urn_of("relaunch-after-stop")) == ["RUNNING"]


def test_handler_redelivery_of_a_spec_in_s3_replays_the_token_and_writes_running_once(dispatcher_stack):
    # GIVEN a large recipe: the spec travels through S3, so a redelivery sends identical RunTask parameters
    event = load_event("large_recipe.json")
    urn = json.loads(event["Records"][0]["body"])["entityUrn"]

    dispatcher_stack.invoke(event)
    response = dispatcher_stack.invoke(event)

    # THEN ECS returns the same task (a replay), and DataHub's RUNNING is not written a second time
    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert dispatcher_stack.gms.statuses(urn) == ["RUNNING"]
    assert dispatcher_stack.s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    assert task["startedBy"] == urn.rsplit(":", 1)[-1]


def test_handler_one_hundred_deliveries_without_the_client_token_bridge_launch_one_task_each(
    dispatcher_stack, monkeypatch
):
    """The same 100 deliveries against raw moto, which ignores RunTask's clientToken.

    Every delivery launches: while DataHub shows RUNNING nothing else in the dispatcher tells a
    redelivery from the first delivery (no ListTasks, by design: one ECS call per launch). What protects
    real users is ECS itself: it keeps a clientToken idempotent for 24 hours per cluster, longer than a
    message can be retried before the DLQ (maxReceiveCount x visibility timeout), and the GMS read stops
    any redelivery after the run ended. So the local stack must honour the token (local_stack.aws_fidelity,
    on in every other test) to stand for ECS; without it, it shows the worst case the token prevents.
    """
    from local_stack import aws_fidelity

    # GIVEN an ECS that ignored clientToken (raw moto): only the dispatcher's own checks remain
    monkeypatch.setattr(aws_fidelity, "honour_client_token", False)
    body = load_event("run_ingest.json")["Records"][0]["body"]

    # WHEN the message is delivered 100 times (10 batches of 10) while DataHub still shows RUNNING
    for _ in range(10):
        assert failed_ids(dispatcher_stack.invoke(sqs_event(*[body] * 10))) == []

    # THEN 100 tasks: the clientToken, not anything else, is what keeps a redelivery from launching again
    assert len(dispatcher_stack.tasks()) == 100
    assert dispatcher_stack.ecs_calls.calls["ListTasks"] == 0
