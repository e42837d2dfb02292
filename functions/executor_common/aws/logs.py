"""The CloudWatch Logs adapter: the last lines of one run's log stream.

A stream that does not exist (the container never started, so awslogs never created it) is
simply "no lines"; any other failure is a `RetryableError` that the caller may note and ignore,
because log lines are a courtesy in a report and must never block a terminal status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from executor_common.aws import make_client
from executor_common.aws.classify import error_code, error_summary
from executor_common.errors import RetryableError

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_logs import CloudWatchLogsClient

#: GetLogEvents returns at most 10,000 events per call.
MAX_EVENTS_PER_CALL = 10_000


def make_logs_client(region_name: str | None = None) -> CloudWatchLogsClient:
    return make_client("logs", region_name)


class LogsAdapter:
    """Reads log streams. Create once per container; pass a botocore client (real, moto, or stubbed)."""

    def __init__(self, client: CloudWatchLogsClient) -> None:
        self.client = client

    def tail(self, log_group: str, log_stream: str, lines: int) -> list[str]:
        """The last `lines` messages of the stream, oldest first; [] when the group or stream is missing."""
        from botocore.exceptions import BotoCoreError, ClientError

        if lines <= 0:
            return []
        try:
            response = self.client.get_log_events(
                logGroupName=log_group,
                logStreamName=log_stream,
                startFromHead=False,
                limit=min(lines, MAX_EVENTS_PER_CALL),
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []
            # Retryable whatever the cause (AccessDenied included): the caller notes it and goes on.
            raise RetryableError(
                f"Reading the log stream {log_stream!r} (GetLogEvents) failed: {error_summary(exc)}"
            ) from None
        events = response.get("events", [])
        return [str(event.get("message", "")) for event in events][-lines:]
