"""Retries that end (issue 14 item 4): a transient launch failure backs off exponentially on the message's
own visibility, and the last attempt writes a FAILURE that tells the history instead of parking the run
in the DLQ while DataHub shows it Pending.

The command queue is a moto queue with template.yaml's redrive policy; each test receives the message
the way Lambda's poller does (so the record carries a real receipt handle and ApproximateReceiveCount)
and hands the record to the handler. RunTask answers through botocore's Stubber (moto cannot fail it).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from dispatcher_helpers import REGION, failed_ids, kill_body, run_body, sqs_event, urn_of

from tests.support.aws_harness import ACCOUNT_ID

QUEUE = "datahub-executor-CommandQueue-RETRY"
DLQ = "datahub-executor-CommandDeadLetterQueue-RETRY"
AGENT_FAILURE = {"tasks": [], "failures": [{"reason": "AGENT"}]}


@pytest.fixture
def command_queue(dispatcher_stack: Any) -> Any:
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={
            "VisibilityTimeout": "390",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
    )["QueueUrl"]
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq_url)


def _deliver(sqs: Any, url: str, body: str, receives: int) -> dict[str, Any]:
    """The event Lambda's poller builds on the `receives`-th delivery of `body` (earlier ones failed fast)."""
    sqs.send_message(QueueUrl=url, MessageBody=body)
    for _ in range(receives):
        message = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=390)
    event = sqs_event(body)
    record = event["Records"][0]
    record["messageId"] = message["MessageId"]
    record["receiptHandle"] = message["ReceiptHandle"]
    record["attributes"] = copy.deepcopy(message["Attributes"])
    record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{QUEUE}"
    return event


def _seconds_until_visible(url: str) -> float:
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[ACCOUNT_ID][REGION].queues[url.rsplit("/", 1)[-1]]
    (message,) = queue._messages
    return (message.visible_at - unix_time_millis()) / 1000


def _invoke_with_runtask_answers(stack: Any, event: dict[str, Any], *answers: dict[str, Any]) -> dict[str, Any]:
    from dispatcher.handler import dependencies

    with Stubber(dependencies().ecs.client) as stub:
        for answer in answers:
            stub.add_response("run_task", answer)
        return stack.invoke(event)


@pytest.mark.parametrize(("receives", "low", "high"), [(1, 48, 72), (2, 96, 144), (4, 384, 576)])
def test_handler_transient_failure_backs_off_exponentially_on_the_message(
    dispatcher_stack, command_queue, receives, low, high
):
    # GIVEN a run whose RunTask fails transiently (no ECS agent) on its `receives`-th delivery
    sqs, url = command_queue
    event = _deliver(sqs, url, run_body(f"backoff-{receives}"), receives)

    # WHEN the dispatcher handles it
    response = _invoke_with_runtask_answers(dispatcher_stack, event, AGENT_FAILURE)

    # THEN the record fails (it comes back) after 60 s * 2^(attempt-1) +-20 %, not the queue's fixed 390 s
    assert len(failed_ids(response)) == 1
    assert low - 2 <= _seconds_until_visible(url) <= high + 1
    assert dispatcher_stack.gms.result(urn_of(f"backoff-{receives}")) is None


def test_handler_last_attempt_writes_failure_with_history_and_consumes(dispatcher_stack, command_queue):
    from dispatcher.handler import dependencies

    # GIVEN the 5th (last, per the redrive policy) delivery of a run, first received 32 minutes ago
    sqs, url = command_queue
    event = _deliver(sqs, url, run_body("last-attempt"), 5)
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
    sqs, url = command_queue
    event = _deliver(sqs, url, run_body("unreportable"), 5)
    dispatcher_stack.gms.fail_next(100, status=502)

    # WHEN the dispatcher handles it
    response = dispatcher_stack.invoke(event)

    # THEN the record fails: SQS moves it to the DLQ, the one place for what could not even be reported
    assert len(failed_ids(response)) == 1


def test_handler_last_attempt_of_a_cancel_is_not_reported_as_a_run_failure(dispatcher_stack, command_queue):
    from dispatcher.handler import dependencies

    # GIVEN the last delivery of a KILL whose ListTasks keeps being throttled
    sqs, url = command_queue
    event = _deliver(sqs, url, kill_body("cancel-last"), 5)
    with Stubber(dependencies().ecs.client) as stub:
        stub.add_client_error("list_tasks", service_error_code="ThrottlingException", service_message="Rate exceeded")
        response = dispatcher_stack.invoke(event)

    # THEN it goes to the DLQ (nothing was reported as a FAILURE of the run)
    assert len(failed_ids(response)) == 1
    assert dispatcher_stack.gms.result(urn_of("cancel-last")) is None
