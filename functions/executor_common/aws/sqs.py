"""The SQS adapter: a message sent back with a delivery delay (the reconciler's report grace, a run waiting
for room), a message's visibility changed (the dispatcher's backoff), a queue's URL from its ARN."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from executor_common.aws import make_client
from executor_common.errors import RetryableError

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_sqs import SQSClient

#: SQS's largest DelaySeconds.
MAX_DELAY_SECONDS = 900


def make_sqs_client(region_name: str | None = None) -> SQSClient:
    return make_client("sqs", region_name)


class SqsAdapter:
    """Create once per container; pass a botocore client (real, moto, or stubbed)."""

    def __init__(self, client: SQSClient) -> None:
        self.client = client

    @functools.cache  # noqa: B019 - one adapter per container; a queue's URL never changes
    def queue_url(self, queue_arn: str) -> str:
        """The URL of the queue `queue_arn` names (an SQS record carries the ARN, the API wants the URL)."""
        from botocore.exceptions import BotoCoreError, ClientError

        *_, account, name = queue_arn.split(":")
        try:
            return str(self.client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"SQS GetQueueUrl for {name!r} failed: {type(exc).__name__}") from None

    def change_visibility(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        """The received message becomes visible again in `seconds` (SQS allows 0..43200)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(int(seconds), 43200))
            )
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"SQS ChangeMessageVisibility failed: {type(exc).__name__}") from None

    def send_delayed(
        self, queue_url: str, body: str, delay_seconds: int, attributes: dict[str, str], *, group_id: str | None = None
    ) -> None:
        """Send `body` to be delivered in `delay_seconds`; any failure is a `RetryableError` (the input comes back).

        `group_id` is the message's fair-queue tenant (executor_common.fair_queue), when it has one.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {
            "QueueUrl": queue_url,
            "MessageBody": body,
            "DelaySeconds": max(0, min(int(delay_seconds), MAX_DELAY_SECONDS)),
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        }
        if group_id:
            request["MessageGroupId"] = group_id
        try:
            self.client.send_message(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            raise RetryableError(f"SQS SendMessage (delaying an event) failed: {code}") from None
        except BotoCoreError as exc:
            raise RetryableError(f"SQS unreachable (delaying an event): {type(exc).__name__}") from None

    def waiting_count(self, queue_url: str) -> int | None:
        """Messages visible or delayed in the queue (runs waiting, roughly); None when SQS cannot say."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            attributes = self.client.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
            )["Attributes"]
        except (ClientError, BotoCoreError):
            return None
        return int(attributes.get("ApproximateNumberOfMessages", "0")) + int(
            attributes.get("ApproximateNumberOfMessagesDelayed", "0")
        )
