"""Retries that end (issue 14 item 4): a transient launch failure backs off exponentially on the message's
own visibility, and the last attempt writes a FAILURE that tells the history instead of parking the run
in the DLQ while DataHub shows it Pending.

The command queue is a moto queue with template.yaml's redrive policy; each test receives the message
the way Lambda's poller does (so the record carries a real receipt handle and ApproximateReceiveCount)
and hands the record to the handler. RunTask answers through botocore's Stubber (moto cannot fail it).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from dispatcher_helpers import REGION, failed_ids, kill_body, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture

from tests.support.aws_harness import lambda_context

AGENT_FAILURE = {"tasks": [], "failures": [{"reason": "AGENT"}]}


def _invoke_with_runtask_answers(stack: Any, event: dict[str, Any], *answers: dict[str, Any]) -> dict[str, Any]:
    from dispatcher.handler import dependencies

    with Stubber(dependencies().ecs.client) as stub:
        for answer in answers:
            stub.add_response("run_task", answer)
        return stack.invoke(event)  # a failed record stays; nothing here succeeds


@pytest.mark.parametrize(("receives", "low", "high"), [(1, 48, 72), (2, 96, 144), (4, 384, 576)])
def test_handler_transient_failure_backs_off_exponentially_on_the_message(
    dispatcher_stack, command_queue, receives, low, high
):
    # GIVEN a run whose RunTask fails transiently (no ECS agent) on its `receives`-th delivery
    event = command_queue.deliver(run_body(f"backoff-{receives}"), receives)

    # WHEN the dispatcher handles it
    response = _invoke_with_runtask_answers(dispatcher_stack, event, AGENT_FAILURE)

    # THEN the record fails (it comes back) after 60 s * 2^(attempt-1) +-20 %, not the queue's fixed 390 s
    assert len(failed_ids(response)) == 1
    assert low - 2 <= command_queue.seconds_until_visible() <= high + 1
    assert dispatcher_stack.gms.result(urn_of(f"backoff-{receives}")) is None


@pytest.mark.parametrize("receives", [1, 5])
def test_handler_record_left_for_lack_of_time_is_sent_back_in_seconds_without_spending_an_attempt(
    dispatcher_stack, command_queue, receives
):
    from dispatcher.waiting import THROTTLED_RETRY_SECONDS
    from moto.core.utils import unix_time_millis

    context = lambda_context("DispatcherFunction", REGION)
    context.get_remaining_time_in_millis = lambda: 5_000  # earlier records of the batch used the invocation up
    # GIVEN a run's `receives`-th delivery (5: the queue's last) reaches an invocation with too little time left
    body = run_body(f"no-time-{receives}")
    event = command_queue.deliver(body, receives)

    # WHEN the dispatcher handles it
    response = command_queue.handle(dispatcher_stack, event, context)

    # THEN nothing was tried (no task, nothing in DataHub, not even "gave up" on the last receive): the record is
    # not failed, and the run is back on the queue as a new message within seconds, no backoff
    assert failed_ids(response) == []
    assert dispatcher_stack.tasks() == []
    assert dispatcher_stack.gms.history(urn_of(f"no-time-{receives}")) == []
    (message,) = command_queue.all_messages()
    assert message.body == body
    assert 0 < (message.delayed_until - unix_time_millis()) / 1000 <= THROTTLED_RETRY_SECONDS * 1.5 + 0.5

    # WHEN it comes back, THEN as a first attempt
    event = command_queue.receive_event(wait_seconds=5)
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1"


def test_handler_last_attempt_writes_failure_with_history_and_consumes(dispatcher_stack, command_queue):
    from dispatcher.handler import dependencies

    # GIVEN the 5th (last, per the redrive policy) delivery of a run, first received 32 minutes ago
    event = command_queue.deliver(run_body("last-attempt"), 5)
    first = int(event["Records"][0]["attributes"]["ApproximateFirstReceiveTimestamp"])
    dependencies().clock_ms = lambda: first + 32 * 60_000

    # WHEN RunTask fails transiently once more
    response = _invoke_with_runtask_answers(dispatcher_stack, event, AGENT_FAILURE)

    # THEN the record is consumed, and DataHub shows a FAILURE that tells what happened
    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("last-attempt"))
    assert result["status"] == "FAILURE"
    assert "tried 5 times over 32 minutes: ECS could not start the task" in result["report"]
    assert "reason=AGENT" in result["report"]


def test_handler_last_attempt_with_datahub_down_goes_to_the_dlq(dispatcher_stack, command_queue):
    # GIVEN the last delivery of a run, and DataHub answering 502 to everything
    event = command_queue.deliver(run_body("unreportable"), 5)
    dispatcher_stack.gms.fail_next(100, status=502)

    # WHEN the dispatcher handles it
    response = command_queue.handle(dispatcher_stack, event)

    # THEN the record fails: SQS moves it to the DLQ, the one place for what could not even be reported
    assert len(failed_ids(response)) == 1


def test_handler_last_attempt_of_a_cancel_is_not_reported_as_a_run_failure(dispatcher_stack, command_queue):
    from dispatcher.handler import dependencies

    # GIVEN the last delivery of a KILL whose ListTasks keeps being throttled
    event = command_queue.deliver(kill_body("cancel-last"), 5)
    with Stubber(dependencies().ecs.client) as stub:
        stub.add_client_error("list_tasks", service_error_code="ThrottlingException", service_message="Rate exceeded")
        response = command_queue.handle(dispatcher_stack, event)

    # THEN it goes to the DLQ (nothing was reported as a FAILURE of the run)
    assert len(failed_ids(response)) == 1
    assert dispatcher_stack.gms.result(urn_of("cancel-last")) is None
