"""LogsAdapter.tail: the last N lines, [] for a missing stream, a RetryableError for anything else."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from executor_common.aws.logs import LogsAdapter
from executor_common.errors import RetryableError


@pytest.fixture
def stubbed():
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield LogsAdapter(client), stubber


def test_logs_tail_asks_for_the_end_of_the_stream(stubbed):
    adapter, stubber = stubbed
    stubber.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": "line 1"}, {"timestamp": 2, "message": "line 2"}]},
        {"logGroupName": "g", "logStreamName": "runs/runner/t1", "startFromHead": False, "limit": 50},
    )

    assert adapter.tail("g", "runs/runner/t1", 50) == ["line 1", "line 2"]


def test_logs_tail_missing_stream_is_no_lines(stubbed):
    adapter, stubber = stubbed
    stubber.add_client_error("get_log_events", "ResourceNotFoundException", "The specified log stream does not exist.")

    assert adapter.tail("g", "s", 50) == []


def test_logs_tail_other_errors_are_retryable(stubbed):
    adapter, stubber = stubbed
    stubber.add_client_error("get_log_events", "ThrottlingException", "Rate exceeded")

    with pytest.raises(RetryableError, match="ThrottlingException"):
        adapter.tail("g", "s", 50)


def test_logs_tail_zero_lines_makes_no_call(stubbed):
    adapter, _ = stubbed

    assert adapter.tail("g", "s", 0) == []
