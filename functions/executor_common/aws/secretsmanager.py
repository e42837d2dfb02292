"""The Secrets Manager adapter: finds a secret's ARN by name without ever reading its value."""

from __future__ import annotations

from typing import Any

from executor_common.aws import make_client


def make_secretsmanager_client(region_name: str | None = None) -> Any:
    return make_client("secretsmanager", region_name)


class SecretsManagerAdapter:
    """DescribeSecret only: the dispatcher needs ARNs for the task definition, never values."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def find_secret_arn(self, secret_id: str) -> str | None:
        """The secret's ARN, or None when it does not exist or is scheduled for deletion.

        Other errors (throttling, access denied) propagate for the caller to classify.
        """
        from botocore.exceptions import ClientError

        try:
            described = self.client.describe_secret(SecretId=secret_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        if described.get("DeletedDate"):
            return None
        return str(described["ARN"])
