"""RunTask outcomes classified by the ECS adapter. Retryable -> batch item failure; permanent -> FAILURE
+ consumed; ConflictException (clientToken already used) -> already launched, never FAILURE.

Dispatcher behaviour 7 in docs/architecture.md.

moto cannot produce these errors, so botocore's Stubber answers for the ECS client of the
handler's own dependencies (S3, Secrets Manager and GMS stay real). Stubber validates each
request the handler makes against ECS's service model; RunTask is the only ECS call.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from dispatcher_helpers import PG_RECIPE, REGION, failed_ids, run_body, sqs_event, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture

from tests.support.aws_harness import lambda_context

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/datahub-executor-RunnerCluster/0123456789abcdef"


def _run_with_ecs_answer(stack, execution_id: str, answer) -> dict:
    from dispatcher.handler import dependencies

    ecs_client = dependencies().ecs.client
    with Stubber(ecs_client) as stub:
        answer(stub)
        response = stack.invoke(sqs_event(run_body(execution_id)))
        stub.assert_no_pending_responses()
    return response


def _error(code: str, message: str, status: int = 400):
    return lambda stub: stub.add_client_error(
        "run_task", service_error_code=code, service_message=message, http_status_code=status
    )


def _failures(*failures: dict):
    return lambda stub: stub.add_response("run_task", {"tasks": [], "failures": list(failures)})


#: Capacity and quota answers are not here: the run waits instead (test_dispatcher_admission.py, issue 14).
RETRYABLE = {
    "server": _error("ServerException", "Service unavailable", 500),
    "resource-memory": _failures({"reason": "RESOURCE:MEMORY"}),
    "agent": _failures({"reason": "AGENT"}),
}
PERMANENT = {
    "cluster-not-found": (_error("ClusterNotFoundException", "Cluster not found."), "ClusterNotFoundException"),
    "access-denied": (
        _error("AccessDeniedException", "User is not authorized to perform: ecs:RunTask"),
        "not authorized to perform: ecs:RunTask",
    ),
    "invalid-parameter": (
        _error("InvalidParameterException", "Task definition does not support launch_type FARGATE."),
        "does not support launch_type FARGATE",
    ),
    "inactive-task-definition": (
        _error("ClientException", "TaskDefinition is inactive"),
        "TaskDefinition is inactive",
    ),
    "other-failure": (
        _failures({"arn": TASK_ARN, "reason": "MISSING", "detail": "The subnet was deleted"}),
        f"reason=MISSING, detail=The subnet was deleted, arn={TASK_ARN}",
    ),
}


#: Throttling sends the run back to the command queue in seconds (test_dispatcher_rate.py); here there is no
#: command queue to send it to, so the record fails and comes back by its visibility: still never lost.
THROTTLED = {
    "throttling": _error("ThrottlingException", "Rate exceeded"),
    "invalid-parameter-throttling": _error("InvalidParameterException", "Throttling: Rate exceeded"),
}


@pytest.mark.parametrize("answer", [*RETRYABLE.values(), *THROTTLED.values()], ids=[*RETRYABLE, *THROTTLED])
def test_handler_retryable_runtask_outcome_is_a_batch_item_failure(dispatcher_stack, answer):
    execution_id = "retryable-outcome"
    response = _run_with_ecs_answer(dispatcher_stack, execution_id, answer)

    assert failed_ids(response) == ["00000000-0000-4000-8000-000000000000"]
    assert dispatcher_stack.gms.result(urn_of(execution_id)) is None  # nothing final: the message comes back


@pytest.mark.parametrize(("answer", "expected"), PERMANENT.values(), ids=PERMANENT.keys())
def test_handler_permanent_runtask_outcome_writes_failure_and_consumes(dispatcher_stack, answer, expected):
    execution_id = "permanent-outcome"
    response = _run_with_ecs_answer(dispatcher_stack, execution_id, answer)

    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of(execution_id))
    assert result["status"] == "FAILURE"
    assert expected in result["report"]


def test_handler_ecs_endpoint_unreachable_is_retried(dispatcher_stack, monkeypatch):
    from dispatcher.handler import dependencies

    client = dependencies().ecs.client

    def unreachable(**_: object) -> dict:
        raise EndpointConnectionError(endpoint_url="https://ecs.us-east-1.amazonaws.com/")

    monkeypatch.setattr(client, "run_task", unreachable)

    response = dispatcher_stack.invoke(sqs_event(run_body("unreachable")))

    assert len(failed_ids(response)) == 1


def test_handler_gms_unavailable_before_launch_is_retried_and_launches_nothing(dispatcher_stack):
    dispatcher_stack.gms.fail_next(100, status=502)

    response = dispatcher_stack.invoke(sqs_event(run_body("gms-down")))

    assert len(failed_ids(response)) == 1
    assert dispatcher_stack.tasks() == []


def test_handler_one_bad_record_never_fails_the_others(dispatcher_stack):
    # GIVEN a batch where the middle record hits a throttled Secrets Manager lookup
    from dispatcher.handler import dependencies

    from tests.conftest import load_event

    pg_body = load_event("run_ingest.json")["Records"][0]["body"]
    sm_client = dependencies().secrets.adapter.client
    with Stubber(sm_client) as stub:
        stub.add_client_error("list_secrets", service_error_code="ThrottlingException", http_status_code=400)
        response = dispatcher_stack.invoke(sqs_event(run_body("first"), pg_body, run_body("third")))

    # THEN only the throttled record comes back; the others launched
    assert failed_ids(response) == ["00000000-0000-4000-8000-000000000001"]
    assert sorted(t["startedBy"] for t in dispatcher_stack.tasks()) == ["first", "third"]


def test_handler_deregistered_derived_revision_is_retried_then_registered_afresh(dispatcher_stack):
    # GIVEN a run launched on a derived revision, which someone then deregistered
    from dispatcher.handler import dependencies

    from tests.conftest import load_event

    event = load_event("run_ingest.json")
    dispatcher_stack.invoke(sqs_event(run_body("first-run", PG_RECIPE)))
    (first,) = dispatcher_stack.tasks()
    dispatcher_stack.ecs.deregister_task_definition(taskDefinition=first["taskDefinitionArn"])

    # WHEN ECS refuses the cached revision as inactive (moto would still run it, so Stubber answers)
    with Stubber(dependencies().ecs.client) as stub:
        stub.add_client_error(
            "run_task", service_error_code="ClientException", service_message="TaskDefinition is inactive"
        )
        response = dispatcher_stack.invoke(event)

    # THEN the message comes back, and its next delivery runs on a freshly registered revision
    assert len(failed_ids(response)) == 1
    assert failed_ids(dispatcher_stack.invoke(event)) == []
    second = next(t for t in dispatcher_stack.tasks() if t["startedBy"] != "first-run")
    assert second["taskDefinitionArn"] == first["taskDefinitionArn"].rsplit(":", 1)[0] + ":2"


def test_handler_gms_down_fails_the_rest_of_the_batch_fast(dispatcher_stack):
    # GIVEN GMS answers 503 to everything and a batch of five runs
    dispatcher_stack.gms.fail_next(1000, status=503)
    event = sqs_event(*[run_body(f"gms-down-{i}") for i in range(5)])

    response = dispatcher_stack.invoke(event)

    # THEN all five come back, nothing launched, and only the first three records spent time on GMS
    # (issue 10 item 7: the breaker opens on a sustained outage, three consecutive failures, not on one)
    assert len(failed_ids(response)) == 5
    assert dispatcher_stack.tasks() == []
    assert len(dispatcher_stack.gms.requests) == 3 * 3  # three calls, each with the session's two quick retries


def test_handler_gms_refusing_the_token_keeps_the_message_and_launches_nothing(dispatcher_stack, monkeypatch):
    # GIVEN the stack's GMS token is wrong (e.g. rotated in DataHub but not in Secrets Manager)
    from dispatcher.handler import dependencies

    monkeypatch.setenv("DATAHUB_GMS_TOKEN", "a-revoked-token")
    dependencies.cache_clear()

    response = dispatcher_stack.invoke(sqs_event(run_body("token-refused")))

    # THEN the message comes back (and after maxReceiveCount lands in the alarmed DLQ) instead of vanishing
    assert len(failed_ids(response)) == 1
    assert dispatcher_stack.tasks() == []


def test_handler_runtask_conflict_is_already_launched_never_a_failure(dispatcher_stack):
    # GIVEN ECS answers ConflictException: the clientToken launched a task before, with other parameters
    # (a redelivery after a stack update, or a spec that carries its launch time)
    def conflict(stub):
        stub.add_client_error(
            "run_task",
            service_error_code="ConflictException",
            service_message="The specified client token is already in use with a different RunTask request.",
            modeled_fields={"resourceIds": [TASK_ARN]},
        )

    response = _run_with_ecs_answer(dispatcher_stack, "conflict", conflict)

    # THEN the message is consumed, DataHub gets nothing (no FAILURE over a run that is running), the log names the task
    assert failed_ids(response) == []
    assert dispatcher_stack.gms.history(urn_of("conflict")) == []
    (record,) = [r for r in dispatcher_stack.log_records() if "already launched" in r.get("message", "")]
    assert record["task_arns"] == [TASK_ARN]


def test_handler_runtask_conflict_without_resource_ids_finds_the_task_by_started_by(dispatcher_stack):
    def conflict_then_list(stub):
        stub.add_client_error("run_task", service_error_code="ConflictException", service_message="in use")
        stub.add_response(
            "list_tasks",
            {"taskArns": [TASK_ARN]},
            {"cluster": "datahub-executor-RunnerCluster", "startedBy": "conflict-no-ids"},
        )
        stub.add_response("describe_tasks", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "RUNNING"}]})

    response = _run_with_ecs_answer(dispatcher_stack, "conflict-no-ids", conflict_then_list)

    assert failed_ids(response) == []
    assert dispatcher_stack.gms.history(urn_of("conflict-no-ids")) == []
    (record,) = [r for r in dispatcher_stack.log_records() if "already launched" in r.get("message", "")]
    assert record["task_arns"] == [TASK_ARN]


def test_handler_replayed_runtask_returning_a_stopped_task_writes_nothing(dispatcher_stack):
    # GIVEN ECS replays the clientToken and returns the run's task, which has stopped since; the
    # reconciler's final word is still on its way, so DataHub shows nothing yet
    def stopped_replay(stub):
        stub.add_response(
            "run_task", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "STOPPED", "desiredStatus": "STOPPED"}]}
        )

    response = _run_with_ecs_answer(dispatcher_stack, "replayed", stopped_replay)

    # THEN nothing is written: a RUNNING now could land after the reconciler's FAILURE and stay forever
    assert failed_ids(response) == []
    assert dispatcher_stack.gms.history(urn_of("replayed")) == []


def test_handler_runtask_access_denied_names_the_call_in_the_failure(dispatcher_stack):
    response = _run_with_ecs_answer(
        dispatcher_stack, "denied", _error("AccessDeniedException", "User is not authorized to perform: ecs:RunTask")
    )

    assert failed_ids(response) == []
    report = dispatcher_stack.gms.result(urn_of("denied"))["report"]
    assert "Starting the ECS task (RunTask) failed: AccessDeniedException" in report


def test_handler_records_without_time_to_finish_come_back_before_the_deadline(dispatcher_stack, command_queue):
    # GIVEN an invocation whose remaining time runs out: each look at the clock finds 8 s less
    context = lambda_context("DispatcherFunction", REGION)
    left = iter(range(35_000, -1, -8_000))
    context.get_remaining_time_in_millis = lambda: next(left, 0)
    bodies = [run_body("in-time"), run_body("late-1"), run_body("late-2")]
    for body in bodies:
        command_queue.send(body)
    event = command_queue.receive_event(max_records=3)
    assert [record["body"] for record in event["Records"]] == bodies

    # WHEN the dispatcher handles the batch
    response = command_queue.handle(dispatcher_stack, event, context)

    # THEN the first record launched; the others come back untouched (no task, nothing in DataHub), as new
    # messages: not failed records, so no attempt is spent on them
    assert failed_ids(response) == []
    assert [t["startedBy"] for t in dispatcher_stack.tasks()] == ["in-time"]
    assert dispatcher_stack.gms.history(urn_of("late-1")) == []
    assert sorted(message.body for message in command_queue.all_messages()) == sorted(bodies[1:])
    sent_back = [r for r in dispatcher_stack.log_records() if str(r.get("message")).startswith("Too little")]
    assert "s of this invocation are left" in sent_back[0]["reason"]


def test_handler_runtask_conflict_naming_no_task_anywhere_comes_back_not_consumed(dispatcher_stack):
    # GIVEN ECS says the token is in use but names no task, and none is listed for the run (yet)
    def conflict_nothing_listed(stub):
        stub.add_client_error("run_task", service_error_code="ConflictException", service_message="in use")
        stub.add_response("list_tasks", {"taskArns": []})

    response = _run_with_ecs_answer(dispatcher_stack, "conflict-unproven", conflict_nothing_listed)

    # THEN nothing proves a launch: the message comes back (and the DLQ alarm speaks if it persists)
    assert len(failed_ids(response)) == 1
    assert dispatcher_stack.gms.history(urn_of("conflict-unproven")) == []
