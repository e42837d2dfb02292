"""One adapter per AWS service: boto3 lives here and nowhere else in the logic.

Each adapter method returns plain data or the project's models and raises only the project's
errors, naming the call it made: `RetryableError` / `PermanentError` as `classify` decides (the
one table of AWS failure modes), and the typed errors of `errors` where callers branch
(`RunTaskConflict`, `TaskDefinitionInactive`). No code outside this package inspects an AWS
error code. Adapters may touch AWS only; they know nothing of DataHub or SQS messages.
"""

from __future__ import annotations

from typing import Any


def make_client(
    service: str,
    region_name: str | None = None,
    *,
    read_timeout: int = 10,
    connect_timeout: int = 5,
    max_attempts: int = 3,
) -> Any:
    """A boto3 client with standard retries and bounded timeouts (boto3 imported lazily for cold starts)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    # `service` is a runtime name, so no stub overload matches; each adapter's factory types its client.
    return boto3.client(service, region_name=region_name, config=config)  # type: ignore[call-overload]
