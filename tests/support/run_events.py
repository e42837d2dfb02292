"""Catch the "Ingestion Run State Change" events put on a moto EventBridge bus (a rule -> an SQS queue)."""

from __future__ import annotations

import json
from typing import Any

from executor_common.run_event import DETAIL_TYPE, EVENT_SOURCE


def catch_run_events(events: Any, sqs: Any, bus: str = "default") -> str:
    """A rule on `bus` for the executor's events, targeting a new queue; returns the queue URL."""
    queue_url = sqs.create_queue(QueueName="run-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [EVENT_SOURCE], "detail-type": [DETAIL_TYPE]}
    events.put_rule(Name="run-events", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="run-events", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def caught_run_events(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """The events delivered so far (EventBridge envelopes with `detail`)."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]
