"""The Lambdas' GMS token: read per request from Secrets Manager through powertools' cache.

The token is read per request through powertools' cache (`TOKEN_CACHE_SECONDS`), so a rotated token is
used within that time by a client built once per container. A token secret that cannot be read is
a `GmsTokenUnreadable` naming the secret's ARN and the likely fix.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from executor_common.errors import GmsError, GmsTokenUnreadable

if TYPE_CHECKING:  # gms imports requests; the token provider must not at init
    from executor_common.gms import TokenProvider

logger = logging.getLogger(__name__)

#: Cache the token for 5 minutes: a rotated token is picked up without a redeploy.
TOKEN_CACHE_SECONDS = 300
#: Secrets Manager answers when the role may not read the secret or KMS refuses to decrypt it.
_ACCESS_CODES = frozenset({"AccessDeniedException", "AccessDenied", "DecryptionFailure", "KMSAccessDeniedException"})


def _unreadable(secret_arn: str, exc: Exception) -> GmsError:
    """The classified error for a failed read (the ClientError is powertools' GetParameterError's context)."""
    from botocore.exceptions import ClientError

    cause = exc.__cause__ or exc.__context__
    code, http_status = "", None
    if isinstance(cause, ClientError):
        code = str(cause.response.get("Error", {}).get("Code", ""))
        http_status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _ACCESS_CODES or http_status == 403:
        code = code if code in _ACCESS_CODES else "AccessDenied"
        message = (
            f"The DataHub token secret {secret_arn} cannot be read ({code}). Likely fix: allow this function's "
            "role secretsmanager:GetSecretValue on that secret and, when the secret is encrypted with a "
            "customer-managed KMS key, kms:Decrypt on that key with the condition kms:ViaService = "
            "secretsmanager.<region>.amazonaws.com (the stack's KMS key parameter grants it). Then redrive the "
            "dead-letter queue."
        )
    elif code == "ResourceNotFoundException":
        message = (
            f"The DataHub token secret {secret_arn} does not exist (or is scheduled for deletion). Likely fix: "
            "point the stack's DataHub token secret parameter at an existing secret, then redrive the "
            "dead-letter queue."
        )
    else:
        # Throttling, a network problem: an ordinary retryable failure, nothing to alarm about yet.
        return GmsError(f"Could not read the DataHub token secret {secret_arn}: {code or type(cause).__name__}")
    logger.error(message, extra={"secret_arn": secret_arn, "error_code": code})
    return GmsTokenUnreadable(message, secret_arn, code)


def read_token_secret(token_secret_arn: str) -> str:
    """The token, from powertools' cache or Secrets Manager; raises `GmsError` (`GmsTokenUnreadable`)."""
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(token_secret_arn, max_age=TOKEN_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        raise _unreadable(token_secret_arn, exc) from None
    return value if isinstance(value, str) else value.decode()


def token_provider(token_secret_arn: str | None) -> TokenProvider:
    """Per-request token: the secret (cached by powertools), or DATAHUB_GMS_TOKEN for local runs."""
    if token_secret_arn:
        return lambda: read_token_secret(token_secret_arn)
    return lambda: os.environ.get("DATAHUB_GMS_TOKEN") or None
