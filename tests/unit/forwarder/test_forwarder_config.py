"""ForwarderConfig: the action's config block fails loudly at start when it is wrong."""

from __future__ import annotations

import pytest
from executor_forwarder.action import region_from_queue_url
from executor_forwarder.config import ForwarderConfig
from pydantic import ValidationError


def test_config_defaults_serve_the_remote_executor_id() -> None:
    config = ForwarderConfig.model_validate({"queue_url": "https://sqs.eu-west-1.amazonaws.com/123/q"})

    assert config.executor_ids == ["remote"]
    assert config.retry.max_attempts == 5
    assert config.message_attributes is True
    assert config.claim_test_connections_for == []  # test connections are claimed only when asked
    assert config.max_message_bytes == 1_048_576  # SQS's maximum, which the template sets on the queue


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({}, id="no-queue"),
        pytest.param({"queue_url": "https://q", "stack_name": "s"}, id="both"),
        pytest.param({"queue_url": "https://q", "executor_ids": []}, id="no-executor-ids"),
        pytest.param({"queue_url": "https://q", "executor_ids": [" "]}, id="blank-executor-id"),
        pytest.param({"queue_url": "https://q", "claim_test_connections_for": [""]}, id="blank-claimed-id"),
        pytest.param({"queue_url": "https://q", "queue": "typo"}, id="unknown-key"),
        pytest.param({"queue_url": "https://q", "retry": {"max_attempts": 0}}, id="zero-attempts"),
    ],
)
def test_config_invalid_is_refused(config: dict) -> None:
    with pytest.raises(ValidationError):
        ForwarderConfig.model_validate(config)


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/cmd", "eu-west-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/cmd", "cn-north-1"),
        ("https://ap-southeast-2.queue.amazonaws.com/123456789012/cmd", "ap-southeast-2"),
        ("http://localhost:5000/123456789012/cmd", None),
        (None, None),
    ],
)
def test_region_from_queue_url(url: str | None, region: str | None) -> None:
    assert region_from_queue_url(url) == region
