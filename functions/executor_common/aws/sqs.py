"""The SQS adapter: sends one message back to a queue with a delivery delay (the reconciler's report grace)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from executor_common.aws import make_client
from executor_common.errors import RetryableError

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_sqs import SQSClient

#: SQS's largest DelaySeconds.
MAX_DELAY_SECONDS = 900


def make_sqs_client(region_name: str | None = None) -> SQSClient:
    return make_client("sqs", region_name)


class SqsAdapter:
    """SendMessage only. Create once per container; pass a botocore client (real, moto, or stubbed)."""

    def __init__(self, client: SQSClient) -> None:
        self.client = client

    def send_delayed(self, queue_url: str, body: str, delay_seconds: int, attributes: dict[str, str]) -> None:
        """Send `body` to be delivered in `delay_seconds`; any failure is a `RetryableError` (the input comes back)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.send_message(
                QueueUrl=queue_url,
                MessageBody=body,
                DelaySeconds=max(0, min(int(delay_seconds), MAX_DELAY_SECONDS)),
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            raise RetryableError(f"SQS SendMessage (delaying an event) failed: {code}") from None
        except BotoCoreError as exc:
            raise RetryableError(f"SQS unreachable (delaying an event): {type(exc).__name__}") from None
