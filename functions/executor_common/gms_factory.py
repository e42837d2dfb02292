"""Builds the Lambdas' GMS client: the URL from settings, the token per request from `gms_token`."""

from __future__ import annotations

from executor_common.gms import GmsClient
from executor_common.gms_token import token_provider


def make_gms_client(server: str, token_secret_arn: str | None, *, timeout: float = 5.0) -> GmsClient:
    return GmsClient(server, token_provider(token_secret_arn), timeout=timeout)
