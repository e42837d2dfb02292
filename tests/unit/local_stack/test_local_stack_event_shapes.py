"""The events the local stack hands the handlers must be the ones AWS would deliver."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from reconciler.task_event import TaskStateChangeEvent, is_task_state_change

from local_stack.event_shapes import iso_time, records_to_delete, sqs_event, task_state_change_event

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:commands"


def _message(message_id: str, body: str = '{"a": 1}') -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"handle-{message_id}",
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1764140000000"},
        "MessageAttributes": {"trace": {"StringValue": "abc", "DataType": "String"}},
    }


def test_sqs_event_record_has_every_field_lambda_sets() -> None:
    event = sqs_event([_message("m1")], QUEUE_ARN, "us-east-1")

    record = event["Records"][0]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "handle-m1",
        "body": '{"a": 1}',
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1764140000000"},
        "messageAttributes": {
            "trace": {"stringValue": "abc", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
        },
        "md5OfBody": hashlib.md5(b'{"a": 1}').hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize(
    ("response", "deleted"),
    [
        (None, ["m1", "m2", "m3"]),
        ({}, ["m1", "m2", "m3"]),
        ({"batchItemFailures": []}, ["m1", "m2", "m3"]),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ["m1", "m3"]),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, ["m2"]),
        # AWS: an identifier that is empty or not in the batch fails the whole batch.
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, []),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, []),
    ],
)
def test_records_to_delete_follows_report_batch_item_failures(response: Any, deleted: list[str]) -> None:
    messages = [_message("m1"), _message("m2"), _message("m3")]

    assert [m["MessageId"] for m in records_to_delete(messages, response)] == deleted


def test_iso_time_writes_milliseconds_and_z_like_ecs_events() -> None:
    assert iso_time(datetime(2026, 11, 26, 8, 41, 35, 870123, tzinfo=UTC)) == "2026-11-26T08:41:35.870Z"
    assert iso_time("already a string") == "already a string"


def test_task_state_change_event_is_what_the_reconciler_parses() -> None:
    # GIVEN a task as DescribeTasks returns it through boto3 (datetimes, containers, overrides)
    stopped = datetime(2026, 11, 26, 8, 41, 35, tzinfo=UTC)
    task = {
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/cluster/abc123",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/cluster",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/runner:1",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppedAt": stopped,
        "startedBy": "run-1",
        "overrides": {"containerOverrides": [{"name": "runner", "environment": [{"name": "A", "value": "b"}]}]},
        "containers": [{"name": "runner", "lastStatus": "STOPPED", "exitCode": 137, "taskArn": "x", "cpu": "0"}],
        "tags": [{"key": "k", "value": "v"}],
    }

    # WHEN the agent turns it into an event
    event = task_state_change_event(task, account="123456789012", region="us-east-1", version=4)

    # THEN it has EventBridge's envelope and ECS's detail, and the reconciler's own model reads it
    assert is_task_state_change(event)
    assert event["resources"] == [task["taskArn"]]
    assert event["detail"]["stoppedAt"] == "2026-11-26T08:41:35.000Z"
    assert "tags" not in event["detail"]
    parsed = TaskStateChangeEvent.model_validate(event)
    assert parsed.detail.version == 4
    assert parsed.detail.containers[0].exitCode == 137
    assert parsed.detail.overrides.containerOverrides[0].environment[0].value == "b"
