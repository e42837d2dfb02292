"""Helpers for the forwarder tests against moto SQS (the fixtures are in forwarder_aws_fixtures.py)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

REGION = "eu-west-1"
PLUGIN_NAME = "aws_sqs_executor_forwarder"
FAST_RETRY = {"max_attempts": 3, "base_delay_seconds": 0.01, "max_delay_seconds": 0.02, "connect_timeout_seconds": 0.5}


def queued_messages(queue_url: str) -> list[dict[str, Any]]:
    response = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    return response.get("Messages", [])


def inject_sqs_failures(client: Any, count: int, *, status: int = 400, code: str = "ThrottlingException") -> list[int]:
    """Make the next `count` SendMessage calls of `client` fail as SQS would, before anything reaches moto.

    Answers botocore's `before-call` hook (the mechanism botocore's own Stubber uses), so the
    client raises the same ClientError a real throttled or failing call raises and nothing is
    queued. Returns a one-element call counter.
    """
    calls = [0]

    def _fail(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        calls[0] += 1
        if calls[0] > count:
            return None
        http = AWSResponse("https://sqs.invalid/", status, {}, None)
        parsed = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return http, parsed

    client.meta.events.register_first("before-call.sqs.SendMessage", _fail)
    return calls
