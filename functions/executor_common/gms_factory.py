"""Builds the GMS client for a Lambda: URL from settings, token from Secrets Manager via powertools Parameters."""

from __future__ import annotations

import os

from executor_common.gms import GmsClient

#: Cache the token for 5 minutes: a rotated token is picked up without a redeploy.
TOKEN_CACHE_SECONDS = 300


def checked_gms_url(value: str) -> str:
    """The Lambdas' DATAHUB_GMS_URL without a trailing slash; ValueError unless it is an http(s) URL ending in /gms."""
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or not value.endswith("/gms"):
        raise ValueError("DATAHUB_GMS_URL must be an http(s) URL ending in /gms")
    return value


def gms_token(token_secret_arn: str | None) -> str | None:
    """The GMS token: from the secret (cached by powertools), or DATAHUB_GMS_TOKEN for local runs."""
    if token_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(token_secret_arn, max_age=TOKEN_CACHE_SECONDS)
        return value if isinstance(value, str) else value.decode()
    return os.environ.get("DATAHUB_GMS_TOKEN") or None


def make_gms_client(server: str, token_secret_arn: str | None, *, timeout: float = 5.0) -> GmsClient:
    return GmsClient(server, gms_token(token_secret_arn), timeout=timeout)
