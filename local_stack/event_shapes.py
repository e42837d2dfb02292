"""Pure builders of the events AWS would deliver, so the handlers see exactly what Lambda gives them.

- `sqs_event`: what the SQS event-source mapping hands a function (one batch of `Records`).
- `records_to_delete`: which records the mapping deletes after the function returns.
- `eventbridge_event`: the envelope of every EventBridge event.
- `task_state_change_event`: the EventBridge "ECS Task State Change" event of a described task.
- `scheduled_event`: the event a schedule rule sends its target.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

#: Fields of a described task that ECS also puts in the event's `detail` (timestamps become ISO strings).
TASK_DETAIL_FIELDS = (
    "attachments",
    "attributes",
    "availabilityZone",
    "capacityProviderName",
    "clusterArn",
    "connectivity",
    "connectivityAt",
    "containers",
    "cpu",
    "createdAt",
    "desiredStatus",
    "enableExecuteCommand",
    "ephemeralStorage",
    "executionStoppedAt",
    "group",
    "launchType",
    "lastStatus",
    "memory",
    "overrides",
    "platformVersion",
    "platformFamily",
    "pullStartedAt",
    "pullStoppedAt",
    "startedAt",
    "startedBy",
    "stopCode",
    "stoppedAt",
    "stoppedReason",
    "stoppingAt",
    "taskArn",
    "taskDefinitionArn",
    "updatedAt",
    "version",
)
CONTAINER_DETAIL_FIELDS = (
    "containerArn",
    "lastStatus",
    "name",
    "image",
    "imageDigest",
    "runtimeId",
    "taskArn",
    "networkInterfaces",
    "cpu",
    "memory",
    "exitCode",
    "reason",
)


def _message_attributes(attributes: dict[str, Any] | None) -> dict[str, Any]:
    """SQS API shape (`StringValue`, `DataType`) -> Lambda event shape (`stringValue`, `dataType`, list fields)."""
    converted: dict[str, Any] = {}
    for name, value in (attributes or {}).items():
        item: dict[str, Any] = {
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType", "String"),
        }
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = value["BinaryValue"]
        converted[name] = item
    return converted


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One `ReceiveMessage` message (with `AttributeNames=["All"]`) as a Lambda SQS event record."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _message_attributes(message.get("MessageAttributes")),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def records_to_delete(messages: list[dict[str, Any]], response: Any) -> list[dict[str, Any]]:
    """The messages Lambda deletes after a successful invocation with `ReportBatchItemFailures`.

    As AWS documents it: an empty or missing `batchItemFailures` deletes the whole batch; an
    entry whose `itemIdentifier` is empty or not in the batch fails the whole batch (nothing deleted).
    """
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return list(messages)
    ids = {m["MessageId"] for m in messages}
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in ids:
            return []
        failed.add(identifier)
    return [m for m in messages if m["MessageId"] not in failed]


def iso_time(value: Any) -> Any:
    """A boto3 datetime (or epoch seconds) as ECS events write it: `2026-11-26T08:41:35.870Z`."""
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


def task_state_change_event(task: dict[str, Any], *, account: str, region: str, version: int) -> dict[str, Any]:
    """The EventBridge event ECS emits for `task` (a DescribeTasks entry), with `detail.version` = `version`."""
    detail: dict[str, Any] = {k: iso_time(task[k]) for k in TASK_DETAIL_FIELDS if task.get(k) not in (None, "")}
    detail["containers"] = [
        {k: c[k] for k in CONTAINER_DETAIL_FIELDS if c.get(k) not in (None, "")} for c in task.get("containers", [])
    ]
    detail["version"] = version
    detail.setdefault("updatedAt", iso_time(datetime.now(tz=UTC)))
    return eventbridge_event(
        "ECS Task State Change", "aws.ecs", task["taskArn"], detail, account=account, region=region
    )


def scheduled_event(rule_arn: str, *, account: str, region: str) -> dict[str, Any]:
    """The event EventBridge sends a schedule rule's target."""
    return eventbridge_event("Scheduled Event", "aws.events", rule_arn, {}, account=account, region=region)


def eventbridge_event(
    detail_type: str, source: str, resource: str, detail: dict[str, Any], *, account: str, region: str
) -> dict[str, Any]:
    """The EventBridge envelope around `detail`, stamped now."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": detail,
    }
