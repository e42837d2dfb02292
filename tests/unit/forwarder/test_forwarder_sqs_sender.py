"""SqsSender: the message is on the queue, or SendFailed is raised; transient errors are retried with jitter."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError
from executor_forwarder.config import RetrySettings
from executor_forwarder.sqs_sender import SendFailed, SqsSender, backoff_delay, is_retryable


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "nope"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendMessage"
    )


class ScriptedSqs:
    """A fake SQS client: raises the scripted errors in order, then accepts."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return {"MessageId": f"msg-{len(self.calls)}"}


def sender(client: ScriptedSqs, sleeps: list[float], **retry: Any) -> SqsSender:
    return SqsSender(client, "https://sqs.eu-west-1.amazonaws.com/1/q", RetrySettings(**retry), sleep=sleeps.append)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (client_error("ThrottlingException", 400), True),
        (client_error("AWS.SimpleQueueService.RequestThrottled", 403), True),
        (client_error("RequestThrottled", 403), True),
        (client_error("KmsThrottled", 400), True),
        (client_error("InternalError", 500), True),
        (client_error("ServiceUnavailable", 503), True),
        (client_error("Whatever", 502), True),
        (EndpointConnectionError(endpoint_url="https://sqs"), True),
        (ReadTimeoutError(endpoint_url="https://sqs"), True),
        (client_error("AccessDenied", 403), False),
        (client_error("AWS.SimpleQueueService.NonExistentQueue", 400), False),
        (client_error("QueueDoesNotExist", 400), False),
        (client_error("InvalidMessageContents", 400), False),
        (client_error("KmsAccessDenied", 400), False),
        (NoCredentialsError(), False),
    ],
    ids=lambda value: value if isinstance(value, bool) else type(value).__name__ + ":" + str(value)[:40],
)
def test_is_retryable_classifies_sqs_errors(error: Exception, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_backoff_delay_stays_within_the_exponential_cap() -> None:
    settings = RetrySettings(base_delay_seconds=0.25, max_delay_seconds=2.0)
    rng = random.Random(7)

    for attempt, cap in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 2.0), (9, 2.0)]:
        delays = [backoff_delay(attempt, settings, rng) for _ in range(200)]
        assert all(0 <= delay <= cap for delay in delays)
        assert max(delays) > cap * 0.8  # jittered over the whole range, not a fixed step


def test_send_throttled_then_accepted_retries_and_returns_the_message_id() -> None:
    # GIVEN SQS throttles twice, then accepts
    client, sleeps = ScriptedSqs(client_error("ThrottlingException", 400), client_error("InternalError", 500)), []

    # WHEN
    message_id = sender(client, sleeps).send("{}", {"executorId": "remote"})

    # THEN the third attempt lands, after two jittered pauses
    assert message_id == "msg-3"
    assert len(client.calls) == 3 and len(sleeps) == 2
    assert sleeps[0] <= 0.25 and sleeps[1] <= 0.5
    assert client.calls[0]["MessageAttributes"] == {"executorId": {"DataType": "String", "StringValue": "remote"}}


def test_send_down_for_good_raises_after_max_attempts() -> None:
    client, sleeps = ScriptedSqs(*[EndpointConnectionError(endpoint_url="https://sqs")] * 10), []

    with pytest.raises(SendFailed) as raised:
        sender(client, sleeps, max_attempts=4).send("{}", label="dataHubExecutionRequestInput of urn:x")

    assert raised.value.attempts == 4 and raised.value.code == "EndpointConnectionError"
    assert len(client.calls) == 4 and len(sleeps) == 3
    assert "urn:x" in str(raised.value)


def test_send_access_denied_raises_at_once_without_retrying() -> None:
    client, sleeps = ScriptedSqs(client_error("AccessDenied", 403)), []

    with pytest.raises(SendFailed) as raised:
        sender(client, sleeps).send("{}")

    assert raised.value.code == "AccessDenied" and raised.value.attempts == 1
    assert sleeps == []


def test_send_failure_message_never_contains_the_body() -> None:
    client = ScriptedSqs(*[client_error("ServiceUnavailable", 503)] * 3)

    with pytest.raises(SendFailed) as raised:
        sender(client, [], max_attempts=3).send('{"password": "canary-secret-body"}')

    assert "canary-secret-body" not in str(raised.value)


def test_send_carries_the_ingestion_source_as_message_group_id() -> None:
    """SQS fair queues: the run's source is its tenant; a body that names no run is sent without a group."""
    from tests.conftest import load_event

    client, sleeps = ScriptedSqs(), []
    body = load_event("run_ingest.json")["Records"][0]["body"]
    sender(client, sleeps).send(body)
    sender(client, sleeps).send("{}")
    assert client.calls[0]["MessageGroupId"] == "urn:li:dataHubIngestionSource:b5e3a8e4-3c1f-4d5e-9a7b-2f6c8d9e0a11"
    assert "MessageGroupId" not in client.calls[1]
