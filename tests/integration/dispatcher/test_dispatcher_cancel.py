"""A KILL signal stops the run's task with a reason naming the actor, or records CANCELLED; never lost.

Routed by whether this stack runs the request (a task with its startedBy in our cluster), not by
the signal's executorId alone: DataHub sets that from the source's *current* executor.

Dispatcher behaviour 8 in docs/architecture.md.
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber
from dispatcher_helpers import failed_ids, kill_body, run_body, sqs_event, urn_of

from tests.conftest import load_event

RUN_ID = "3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"


def test_handler_kill_stops_the_running_task_with_the_actor_in_the_reason(dispatcher_stack):
    # GIVEN the run from events/run_ingest.json is running
    dispatcher_stack.invoke(load_event("run_ingest.json"))

    # WHEN events/cancel.json (KILL by urn:li:corpuser:jdoe) arrives
    response = dispatcher_stack.invoke(load_event("cancel.json"))

    # THEN the task is stopped with the agreed reason; the runner (or reconciler) writes CANCELLED
    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert task["desiredStatus"] == "STOPPED"
    assert task["stoppedReason"] == "Cancelled in DataHub by urn:li:corpuser:jdoe"
    assert [r["status"] for r in dispatcher_stack.gms.history(urn_of(RUN_ID))] == ["RUNNING"]


def test_handler_kill_for_unknown_run_writes_cancelled_when_datahub_shows_it_open(dispatcher_stack):
    # GIVEN DataHub shows the run as RUNNING but no task exists (e.g. it never launched)
    dispatcher_stack.gms.seed_result(urn_of("open-run"), {"status": "RUNNING", "report": "", "startTimeMs": 1})

    response = dispatcher_stack.invoke(sqs_event(kill_body("open-run")))

    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("open-run"))
    assert result["status"] == "CANCELLED"
    assert "Cancelled by urn:li:corpuser:jdoe" in result["report"]


def test_handler_kill_for_finished_run_writes_nothing(dispatcher_stack):
    dispatcher_stack.gms.seed_result(urn_of("done-run"), {"status": "SUCCESS", "report": "done"})

    response = dispatcher_stack.invoke(sqs_event(kill_body("done-run")))

    assert failed_ids(response) == []
    assert [r["status"] for r in dispatcher_stack.gms.history(urn_of("done-run"))] == ["SUCCESS"]


def test_handler_kill_that_cannot_be_recorded_comes_back_and_the_run_never_launches(dispatcher_stack):
    # GIVEN a KILL for a run not launched yet, arriving while GMS answers 503
    # (this test used to pin "consumed without recording": issue 10 item 8, that lost the cancel)
    from dispatcher.handler import dependencies

    dispatcher_stack.gms.fail_next(3, status=503)  # the read and the session's two quick retries

    response = dispatcher_stack.invoke(sqs_event(kill_body("kill-before-run")))

    # THEN the KILL comes back instead of being consumed with nothing recorded
    assert failed_ids(response) == ["00000000-0000-4000-8000-000000000000"]
    assert dispatcher_stack.gms.result(urn_of("kill-before-run")) is None

    # WHEN GMS is back, the KILL is redelivered (later than the breaker's 15 s: a fresh container here),
    # and then the run message arrives
    dependencies.cache_clear()
    assert failed_ids(dispatcher_stack.invoke(sqs_event(kill_body("kill-before-run")))) == []
    dispatcher_stack.invoke(sqs_event(run_body("kill-before-run")))

    # THEN DataHub shows CANCELLED and no task was launched
    assert dispatcher_stack.gms.result(urn_of("kill-before-run"))["status"] == "CANCELLED"
    assert dispatcher_stack.tasks() == []


def test_handler_kill_with_a_permanent_ecs_error_is_reported_not_looped(dispatcher_stack, capsys):
    # GIVEN the dispatcher's role may not list tasks (AccessDenied: no retry can help)
    from dispatcher.handler import dependencies

    with Stubber(dependencies().ecs.client) as stub:
        stub.add_client_error(
            "list_tasks",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: ecs:ListTasks",
            expected_params={"cluster": "datahub-executor-RunnerCluster", "startedBy": "cancel-denied"},
        )
        response = dispatcher_stack.invoke(sqs_event(kill_body("cancel-denied")))

    # THEN the KILL is consumed (not looped into the DLQ), with an error log and a CancelsFailed metric
    assert failed_ids(response) == []
    errors = [r for r in dispatcher_stack.log_records() if r.get("level") == "ERROR"]
    assert errors and errors[0]["message"] == "Could not cancel the run"
    assert "not authorized to perform: ecs:ListTasks" in errors[0]["reason"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(m.get("CancelsFailed") == [1.0] for m in emf)


def test_handler_kill_naming_another_executor_stops_the_task_this_stack_runs(dispatcher_stack):
    # GIVEN a run launched here, whose source was then moved to another executor id
    dispatcher_stack.invoke(sqs_event(run_body("moved-source")))
    body = json.loads(kill_body("moved-source"))
    body["aspect"]["executorId"] = "default"

    # WHEN the cancel (carrying the source's current executor id) arrives
    response = dispatcher_stack.invoke(sqs_event(json.dumps(body)))

    # THEN the task is ours, so it is stopped
    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert task["desiredStatus"] == "STOPPED"


def test_handler_kill_for_another_executor_without_a_task_here_writes_nothing(dispatcher_stack):
    dispatcher_stack.gms.seed_result(urn_of("not-ours"), {"status": "RUNNING", "report": "", "startTimeMs": 1})
    body = json.loads(kill_body("not-ours"))
    body["aspect"]["executorId"] = "default"

    response = dispatcher_stack.invoke(sqs_event(json.dumps(body)))

    assert failed_ids(response) == []
    assert dispatcher_stack.gms.statuses(urn_of("not-ours")) == ["RUNNING"]
    assert any("Misrouted" in r.get("message", "") for r in dispatcher_stack.log_records())


def test_handler_kill_during_launch_stops_the_new_task_and_never_writes_running(dispatcher_stack):
    # GIVEN a KILL processed by another dispatcher between this run's status read and its RunTask
    from dispatcher.handler import dependencies
    from dispatcher.logic import handle_message

    deps = dependencies()

    def kill_arrives(**_: object) -> None:
        handle_message(kill_body("kill-in-window"), deps)

    deps.ecs.client.meta.events.register_first("before-call.ecs.RunTask", kill_arrives)
    try:
        response = dispatcher_stack.invoke(sqs_event(run_body("kill-in-window")))
    finally:
        deps.ecs.client.meta.events.unregister("before-call.ecs.RunTask", kill_arrives)

    # THEN the task that RunTask started is stopped at once, and DataHub keeps CANCELLED (no RUNNING over it)
    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert task["desiredStatus"] == "STOPPED"
    assert task["stoppedReason"].startswith("Cancelled in DataHub")
    assert dispatcher_stack.gms.statuses(urn_of("kill-in-window")) == ["CANCELLED"]


def _signal_without_executor_id(execution_id: str) -> str:
    body = json.loads(kill_body(execution_id))
    del body["aspect"]["executorId"]
    return json.dumps(body)


def _contract_accepts_a_signal_without_executor_id() -> bool:
    from executor_common.contract import parse_command

    try:
        parse_command(_signal_without_executor_id("probe"))
    except ValueError:
        return False
    return True


@pytest.mark.skipif(
    not _contract_accepts_a_signal_without_executor_id(),
    reason="contract.py still requires executorId on a signal (it is optional in ExecutionRequestSignal.pdl)",
)
def test_handler_kill_without_executor_id_stops_our_task_and_ignores_others(dispatcher_stack):
    # GIVEN one run launched here; DataHub's cancel resolver may leave executorId out
    dispatcher_stack.invoke(sqs_event(run_body("ours-no-executor-id")))

    ours = dispatcher_stack.invoke(sqs_event(_signal_without_executor_id("ours-no-executor-id")))
    other = dispatcher_stack.invoke(sqs_event(_signal_without_executor_id("someone-elses")))

    # THEN our task is stopped; the other request (no task here) gets nothing written, not a FAILURE
    assert failed_ids(ours) == [] and failed_ids(other) == []
    (task,) = dispatcher_stack.tasks()
    assert task["desiredStatus"] == "STOPPED"
    assert dispatcher_stack.gms.history(urn_of("someone-elses")) == []
