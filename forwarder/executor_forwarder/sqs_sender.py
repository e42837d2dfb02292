"""The SQS adapter: put one message on the command queue, retrying transient failures with jittered backoff.

botocore's own retries are switched off so that this loop alone decides how many attempts
are made and how long an event can block the pipeline. When it gives up it raises
`SendFailed`: the action lets it propagate so the event is not acknowledged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from executor_common.errors import RetryableError
from executor_common.fair_queue import message_group_id

from executor_forwarder.config import ForwarderConfig, RetrySettings

logger = logging.getLogger(__name__)

#: Error codes SQS (JSON and query protocols) and its KMS encryption return for a transient condition.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "RequestThrottled",
        "AWS.SimpleQueueService.RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "KmsThrottled",
        "KmsThrottlingException",
        "KMS.ThrottlingException",
    }
)


class SendFailed(RetryableError):
    """The message is not on the queue; the event that produced it must not be acknowledged."""

    def __init__(self, message: str, *, code: str | None, attempts: int) -> None:
        super().__init__(message)
        self.code = code
        self.attempts = attempts


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "Unknown")
    return type(error).__name__


def is_retryable(error: Exception) -> bool:
    """Throttling, 5xx and network failures may pass on a later attempt; access, queue or request errors never do."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or error_code(error) in RETRYABLE_CODES
    return isinstance(error, BotocoreConnectionError | HTTPClientError)


def backoff_delay(attempt: int, settings: RetrySettings, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], so restarted forwarders do not retry in step."""
    ceiling = min(settings.max_delay_seconds, settings.base_delay_seconds * (2 ** (attempt - 1)))
    return rng.uniform(0, ceiling)


def silence_botocore_debug() -> None:
    """botocore logs every request's parameters (the message body, so the recipe) at DEBUG: never let it.

    `datahub actions run --debug` sets the root logger to DEBUG, which would otherwise do it.
    """
    botocore_logger = logging.getLogger("botocore")
    if botocore_logger.level < logging.INFO:  # NOTSET (0) too: it would follow a later root DEBUG
        botocore_logger.setLevel(logging.INFO)


def make_sqs_client(session: Any, config: ForwarderConfig) -> Any:
    """An SQS client whose only retries are ours, with timeouts bounded so one event cannot stall the pipeline."""
    from botocore.config import Config

    silence_botocore_debug()

    client_config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=config.retry.connect_timeout_seconds,
        read_timeout=config.retry.read_timeout_seconds,
    )
    return session.client("sqs", endpoint_url=config.aws_endpoint_url, config=client_config)


class SqsSender:
    def __init__(
        self,
        client: Any,
        queue_url: str,
        retry: RetrySettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self.queue_url = queue_url
        self._retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def client(self) -> Any:
        """The boto3 SQS client (tests inject faults through its event hooks)."""
        return self._client

    def send(self, body: str, attributes: dict[str, str] | None = None, *, label: str = "message") -> str:
        """Send `body`; return SQS's MessageId. `label` names the message in logs (never the body).

        The message carries its ingestion source as `MessageGroupId`, which makes the command queue an SQS
        fair queue: one source's burst does not hold up the other sources' runs (executor_common.fair_queue).
        """
        request: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": body}
        group_id = message_group_id(body)
        if group_id:
            request["MessageGroupId"] = group_id
        if attributes:
            request["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            }
        attempts = self._retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return str(self._client.send_message(**request)["MessageId"])
            except Exception as exc:
                code = error_code(exc)
                if not is_retryable(exc):
                    raise SendFailed(
                        f"SQS refused {label} ({code}); not retrying", code=code, attempts=attempt
                    ) from exc
                if attempt == attempts:
                    raise SendFailed(
                        f"SQS send of {label} failed {attempts} times (last: {code})", code=code, attempts=attempt
                    ) from exc
                delay = backoff_delay(attempt, self._retry, self._rng)
                logger.warning(
                    "SQS send of %s failed (%s), attempt %d/%d; retrying in %.2fs",
                    label,
                    code,
                    attempt,
                    attempts,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):
            close()
