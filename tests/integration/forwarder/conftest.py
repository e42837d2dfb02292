"""Fixtures for the forwarder against moto SQS (in-process, no network)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from datahub_actions.action.action_registry import action_registry
from datahub_actions.pipeline.pipeline_context import PipelineContext
from executor_forwarder.action import SqsExecutorForwarderAction
from moto import mock_aws

REGION = "eu-west-1"
PLUGIN_NAME = "aws_sqs_executor_forwarder"
FAST_RETRY = {"max_attempts": 3, "base_delay_seconds": 0.01, "max_delay_seconds": 0.02, "connect_timeout_seconds": 0.5}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    yield


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def command_queue(aws: None) -> str:
    return boto3.client("sqs", region_name=REGION).create_queue(QueueName="datahub-executor-commands")["QueueUrl"]


@pytest.fixture
def make_action(command_queue: str) -> Callable[..., SqsExecutorForwarderAction]:
    """Create the action the way datahub-actions does: by plugin name, from a config dict."""

    def _make(**config: Any) -> SqsExecutorForwarderAction:
        config_dict = {"queue_url": command_queue, "aws_region": REGION, "retry": FAST_RETRY, **config}
        action = action_registry.get(PLUGIN_NAME).create(config_dict, PipelineContext("forwarder-test", None))
        assert isinstance(action, SqsExecutorForwarderAction)
        return action

    return _make


def queued_messages(queue_url: str) -> list[dict[str, Any]]:
    response = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
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


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: SQS unreachable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
