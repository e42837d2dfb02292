"""Builds the Lambdas' GMS client: the URL from settings, the token per request from `gms_token`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from executor_common.gms_token import token_provider

if TYPE_CHECKING:  # the client (and requests under it) is imported when one is made, not at init
    from executor_common.gms import GmsClient


def make_gms_client(server: str, token_secret_arn: str | None, *, timeout: float = 5.0) -> GmsClient:
    from executor_common.gms import GmsClient

    return GmsClient(server, token_provider(token_secret_arn), timeout=timeout)
