"""Fixtures for the forwarder against moto SQS (in-process, no network), loaded through `pytest_plugins`.

A plugin module rather than a conftest.py: several test folders import `conftest` by its bare
name, and a second `conftest` module here would shadow theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from datahub_actions.action.action_registry import action_registry
from datahub_actions.pipeline.pipeline_context import PipelineContext
from executor_forwarder.action import SqsExecutorForwarderAction
from moto import mock_aws

from tests.conftest import unused_local_port
from tests.integration.forwarder.forwarder_aws import FAST_RETRY, PLUGIN_NAME, REGION
from tests.support.aws_harness import set_moto_aws_env


@pytest.fixture
def fwd_aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    set_moto_aws_env(monkeypatch, REGION)
    yield


@pytest.fixture
def fwd_aws(fwd_aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def fwd_queue(fwd_aws: None) -> str:
    return boto3.client("sqs", region_name=REGION).create_queue(QueueName="datahub-executor-commands")["QueueUrl"]


@pytest.fixture
def make_forwarder(fwd_queue: str) -> Callable[..., SqsExecutorForwarderAction]:
    """Create the action the way datahub-actions does: by plugin name, from a config dict."""

    def _make(**config: Any) -> SqsExecutorForwarderAction:
        config_dict = {"queue_url": fwd_queue, "aws_region": REGION, "retry": FAST_RETRY, **config}
        action = action_registry.get(PLUGIN_NAME).create(config_dict, PipelineContext("forwarder-test", None))
        assert isinstance(action, SqsExecutorForwarderAction)
        return action

    return _make


@pytest.fixture
def fwd_unreachable_sqs(fwd_aws_env: None) -> dict[str, Any]:
    """The action's config for an SQS endpoint on a local port nothing listens on: SQS unreachable."""
    endpoint = f"http://127.0.0.1:{unused_local_port()}"
    return {
        "queue_url": f"{endpoint}/123456789012/commands",
        "aws_region": REGION,
        "aws_endpoint_url": endpoint,
        "retry": FAST_RETRY,
    }
