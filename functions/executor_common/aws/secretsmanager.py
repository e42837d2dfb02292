"""The Secrets Manager adapter: finds secrets' ARNs by name, in bulk, without ever reading a value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from executor_common.aws import make_client
from executor_common.aws.classify import aws_call

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_secretsmanager import SecretsManagerClient

#: ListSecrets takes at most 10 values per filter and returns at most 100 secrets per page.
MAX_FILTER_VALUES = 10
PAGE_SIZE = 100


def make_secretsmanager_client(region_name: str | None = None) -> SecretsManagerClient:
    return make_client("secretsmanager", region_name)


class SecretsManagerAdapter:
    """ListSecrets only: the dispatcher needs ARNs for the task definition, never values."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self.client = client

    def find_secret_arns(self, secret_names: Iterable[str], common_prefix: str = "") -> dict[str, str]:
        """Name -> ARN for each of `secret_names` that exists and is not scheduled for deletion.

        One listing however many names (ListSecrets pages through 100 at a time): up to 10 names
        are asked for by name; more, by `common_prefix`, which every name must start with.
        The name filter matches prefixes, so only exact names are kept.
        """
        wanted = set(secret_names)
        if not wanted:
            return {}
        if len(wanted) <= MAX_FILTER_VALUES:
            values = sorted(wanted)
        else:
            if any(not name.startswith(common_prefix) for name in wanted):
                raise ValueError("every secret name must start with the common prefix")
            values = [common_prefix] if common_prefix else []
        kwargs: dict[str, Any] = {"MaxResults": PAGE_SIZE}
        if values:
            kwargs["Filters"] = [{"Key": "name", "Values": values}]
        found: dict[str, str] = {}
        with aws_call(f"Listing secrets in Secrets Manager ({len(wanted)} name(s), ListSecrets)"):
            for page in self.client.get_paginator("list_secrets").paginate(**kwargs):
                for secret in page.get("SecretList", []):
                    name = secret.get("Name")
                    if name in wanted and not secret.get("DeletedDate"):
                        found[name] = str(secret["ARN"])
        return found
