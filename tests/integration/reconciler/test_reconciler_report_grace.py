"""The report grace is a delivery delay on the reconciler's own queue (moto SQS), never a sleep in Lambda.

A runner that exited 0 may still be landing its final status; the reconciler sends the event back
with DelaySeconds and handles the second delivery at once.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import boto3
import pytest
from reconciler_stack import REGION, sqs_batch

from tests.conftest import load_event

GRACE_SECONDS = 1


@pytest.fixture
def delay_queue(reconciler_stack: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """GIVEN the reconciler's SQS buffer, configured as template.yaml configures it (RECONCILER_QUEUE_URL)."""
    from reconciler.handler import get_ports, get_queue
    from reconciler.settings import get_settings

    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="reconciler-buffer")["QueueUrl"]
    monkeypatch.setenv("RECONCILER_QUEUE_URL", url)
    monkeypatch.setenv("REPORT_GRACE_SECONDS", str(GRACE_SECONDS))
    for cache in (get_settings, get_ports, get_queue):
        cache.cache_clear()
    return url


def _exited_zero_event(stack: Any) -> tuple[dict[str, Any], str]:
    event = copy.deepcopy(load_event("ecs_task_stopped_after_success.json"))
    urn = f"urn:li:dataHubExecutionRequest:{uuid.uuid4()}"
    event["detail"]["overrides"]["containerOverrides"][0]["environment"][0]["value"] = urn
    stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 1})
    return event, urn


def _receive_delayed(url: str) -> list[dict[str, Any]]:
    """What SQS delivers once the delay is over, as the Lambda event source would pass it on."""
    sqs = boto3.client("sqs", region_name=REGION)
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None  # still delayed
    time.sleep(GRACE_SECONDS + 0.2)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    records = []
    for message in messages:
        record = sqs_batch({})["Records"][0]
        record.update(messageId=message["MessageId"], body=message["Body"])
        record["messageAttributes"] = {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(record)
    return records


def test_reconciler_clean_exit_is_delayed_on_the_queue_then_reported(reconciler_stack, delay_queue):
    # GIVEN a full batch of runs whose runner exited 0 and whose status DataHub has not received yet
    runs = [_exited_zero_event(reconciler_stack) for _ in range(10)]

    # WHEN the batch arrives
    started = time.monotonic()
    response = reconciler_stack.invoke(sqs_batch(*(event for event, _ in runs)))
    took = time.monotonic() - started

    # THEN the Lambda does not wait (10 graces would be 10 s with a sleep), writes nothing yet, loses nothing
    assert response == {"batchItemFailures": []}
    assert took < GRACE_SECONDS * 5
    assert all(reconciler_stack.gms.statuses(urn) == ["RUNNING"] for _, urn in runs)

    # AND the runner of the first run lands its SUCCESS during the grace
    first_urn = runs[0][1]
    reconciler_stack.gms.seed_result(first_urn, {"status": "SUCCESS", "report": "done", "startTimeMs": 1})

    # WHEN SQS delivers the delayed events (marked as already delayed)
    records = _receive_delayed(delay_queue)
    assert len(records) == 10
    assert reconciler_stack.invoke({"Records": records}) == {"batchItemFailures": []}

    # THEN the run that reported keeps its status, the others say their status never arrived
    assert reconciler_stack.gms.statuses(first_urn) == ["RUNNING", "SUCCESS"]
    for _, urn in runs[1:]:
        result = reconciler_stack.gms.result(urn)
        assert result["status"] == "FAILURE" and "never reached DataHub" in result["report"]
    # AND nothing was delayed twice
    assert boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=delay_queue).get("Messages") is None


def test_reconciler_other_failures_are_not_delayed(reconciler_stack, delay_queue):
    event = load_event("ecs_task_stopped_oom.json")
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    urn = env[0]["value"]
    reconciler_stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 1})

    assert reconciler_stack.invoke(sqs_batch(event)) == {"batchItemFailures": []}

    assert reconciler_stack.gms.result(urn)["status"] == "FAILURE"
    assert boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=delay_queue).get("Messages") is None


def test_reconciler_delay_that_cannot_be_sent_brings_the_record_back(reconciler_stack, delay_queue):
    event, urn = _exited_zero_event(reconciler_stack)
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=delay_queue)

    response = reconciler_stack.invoke(sqs_batch(event))

    assert len(response["batchItemFailures"]) == 1
    assert reconciler_stack.gms.statuses(urn) == ["RUNNING"]
