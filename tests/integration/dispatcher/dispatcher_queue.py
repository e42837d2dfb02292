"""The stack's command queue in moto, and records handed over the way Lambda's SQS poller hands them.

A record built from a real receive carries a real receipt handle, `ApproximateReceiveCount` and the
message attributes (the dispatcher's `waitingSince`), so retries and waiting act on a real queue.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from dispatcher_helpers import REGION, sqs_event

from tests.support.aws_harness import ACCOUNT_ID

QUEUE = "datahub-executor-CommandQueue-FLEET"
DLQ = "datahub-executor-CommandDeadLetterQueue-FLEET"


@dataclass
class CommandQueue:
    sqs: Any
    url: str

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{QUEUE}"

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def receive_event(self, *, receives: int = 1, wait_seconds: int = 0, max_records: int = 10) -> dict[str, Any]:
        """The event Lambda builds from what is visible now (earlier receives, if any, failed fast)."""
        messages: list[dict[str, Any]] = []
        for attempt in range(receives):
            messages = self.sqs.receive_message(
                QueueUrl=self.url,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                MaxNumberOfMessages=max_records,
                VisibilityTimeout=0 if attempt < receives - 1 else 390,
                WaitTimeSeconds=wait_seconds,
            ).get("Messages", [])
        return self.event_of(messages)

    def event_of(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        template = sqs_event("{}")["Records"][0]
        records = []
        for message in messages:
            record = copy.deepcopy(template)
            record["messageId"] = message["MessageId"]
            record["receiptHandle"] = message["ReceiptHandle"]
            record["body"] = message["Body"]
            record["attributes"] = copy.deepcopy(message["Attributes"])
            record["messageAttributes"] = {
                name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
                for name, value in message.get("MessageAttributes", {}).items()
            }
            record["eventSourceARN"] = self.arn
            records.append(record)
        return {"Records": records}

    def handle(self, stack: Any, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Invoke the handler as Lambda's poller does: records not reported failed are deleted afterwards."""
        response = stack.invoke(event, context)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])
        return response

    def deliver(self, body: str, receives: int = 1) -> dict[str, Any]:
        self.send(body)
        return self.receive_event(receives=receives)

    def all_messages(self) -> list[dict[str, Any]]:
        """Every message in the queue, delayed or invisible ones included (moto's view)."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT_ID][REGION].queues[QUEUE]
        return list(queue._messages)

    def seconds_until_visible(self) -> float:
        from moto.core.utils import unix_time_millis

        (message,) = self.all_messages()
        return (message.visible_at - unix_time_millis()) / 1000


@pytest.fixture
def command_queue(dispatcher_stack: Any) -> Iterator[CommandQueue]:
    """GIVEN the command queue with template.yaml's redrive policy (5 receives, then the DLQ)."""
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
    try:
        yield CommandQueue(sqs, url)
    finally:
        sqs.delete_queue(QueueUrl=url)
        sqs.delete_queue(QueueUrl=dlq_url)
