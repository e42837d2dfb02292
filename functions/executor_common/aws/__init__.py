"""One adapter per AWS service: boto3 lives here and nowhere else in the logic.

Each adapter returns the project's models and turns `ClientError` codes into
`PermanentError` / `RetryableError`.
"""

from __future__ import annotations

from typing import Any


def make_client(service: str, region_name: str | None = None, *, read_timeout: int = 10) -> Any:
    """A boto3 client with standard retries and bounded timeouts (boto3 imported lazily for cold starts)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=read_timeout)
    return boto3.client(service, region_name=region_name, config=config)
