"""Retryable or permanent: the one place that decides what an AWS error means.

Only the adapters in this package call it: each adapter method turns what botocore raised
into the project's `RetryableError` (the input comes back: throttling, capacity, an endpoint
having a moment) or `PermanentError` (a retry cannot help: access denied, bad parameter),
naming what it was doing. A GMS error carries its own rule (`GmsError.retryable`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from executor_common.errors import PermanentError, RetryableError


class Verdict(StrEnum):
    RETRY = "RETRY"
    FAIL = "FAIL"


RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
        "ServerException",
        "InternalFailure",
        "InternalServiceError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
PERMANENT_CODES = frozenset(
    {
        "ClusterNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "UnauthorizedOperation",
        "InvalidParameterException",
        "ClientException",
        "UnsupportedFeatureException",
        "PlatformUnknownException",
        "PlatformTaskDefinitionIncompatibilityException",
        "BlockedException",
        "ResourceNotFoundException",
        "NoSuchBucket",
        "InvalidRequestException",
        "DecryptionFailure",
    }
)
#: Some services signal throttling inside an otherwise-permanent code (ECS does with InvalidParameterException).
THROTTLING_HINTS = ("throttl", "rate exceeded", "too many concurrent attempts")
#: RunTask `failures[].reason` values a later attempt can overcome.
RETRYABLE_FAILURE_REASONS = ("AGENT", "Capacity is unavailable", "Capacity unavailable")
#: RunTask answers (a failure reason or an error message) that mean "no room now": capacity or a quota.
CAPACITY_HINTS = ("capacity is unavailable", "capacity unavailable", "reached the limit on the number of")
#: botocore exceptions that mean "the network or endpoint is having a moment".
RETRYABLE_BOTOCORE_ERRORS = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ConnectionError",
        "ProxyConnectionError",
        "HTTPClientError",
    }
)


def classify_error_code(code: str, message: str = "", http_status: int | None = None) -> Verdict:
    """A ClientError's code (and message) -> verdict. Unknown codes: 5xx retry, anything else fails."""
    if code in RETRYABLE_CODES or any(hint in message.lower() for hint in THROTTLING_HINTS):
        return Verdict.RETRY
    if code in PERMANENT_CODES:
        return Verdict.FAIL
    return Verdict.RETRY if http_status is not None and http_status >= 500 else Verdict.FAIL


#: Error codes that mean "too many calls now" (the others in RETRYABLE_CODES are the service having a moment).
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException"}
)


def is_throttling(code: str | None, message: str = "") -> bool:
    """A throttling answer: a throttling code, or ECS's throttling inside another code ("Rate exceeded")."""
    lowered = message.lower()
    return code in THROTTLING_CODES or any(hint in lowered for hint in ("throttl", "rate exceeded"))


def classify_failure(failure: Mapping[str, Any]) -> Verdict:
    reason = str(failure.get("reason", ""))
    if reason.startswith("RESOURCE:") or any(reason.startswith(r) for r in RETRYABLE_FAILURE_REASONS):
        return Verdict.RETRY
    return Verdict.FAIL


def is_capacity_answer(text: str) -> bool:
    """A RunTask failure reason or error message that says there is no room now (capacity, vCPU/task quota)."""
    lowered = text.lower()
    return any(hint in lowered for hint in CAPACITY_HINTS)


def all_capacity_failures(failures: Iterable[Mapping[str, Any]]) -> bool:
    listed = list(failures)
    return bool(listed) and all(is_capacity_answer(f"{f.get('reason', '')} {f.get('detail', '')}") for f in listed)


def classify_failures(failures: Iterable[Mapping[str, Any]]) -> Verdict:
    """RunTask `failures[]` -> retry only when every failure is one a later attempt can overcome."""
    verdicts = [classify_failure(f) for f in failures]
    return Verdict.RETRY if verdicts and all(v is Verdict.RETRY for v in verdicts) else Verdict.FAIL


def describe_failures(failures: Iterable[Mapping[str, Any]]) -> str:
    """Every failure's arn, reason and detail, one per line, for the FAILURE report."""
    lines = []
    for failure in failures:
        parts = [f"reason={failure.get('reason', '?')}"]
        if failure.get("detail"):
            parts.append(f"detail={failure['detail']}")
        if failure.get("arn"):
            parts.append(f"arn={failure['arn']}")
        lines.append("- " + ", ".join(parts))
    return "\n".join(lines)


def classify_exception(exc: BaseException) -> Verdict:
    """Any exception raised by botocore or an adapter -> verdict (unknown exceptions fail)."""
    if isinstance(exc, RetryableError):
        return Verdict.RETRY
    if isinstance(exc, PermanentError):
        return Verdict.FAIL
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return classify_error_code(str(error.get("Code", "")), str(error.get("Message", "")), status)
    if any(cls.__name__ in RETRYABLE_BOTOCORE_ERRORS for cls in type(exc).__mro__):
        return Verdict.RETRY
    return Verdict.FAIL


def error_summary(exc: BaseException) -> str:
    """A one-line description safe to log and to show in DataHub (codes and AWS messages, no request data)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return str(response["Error"].get("Code", "")) or None
    return None


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return str(response["Error"].get("Message", ""))
    return str(exc)


def classified(exc: BaseException, doing: str) -> RetryableError | PermanentError:
    """`exc` as the project's RetryableError or PermanentError, naming what we were doing."""
    if isinstance(exc, RetryableError | PermanentError):
        return exc
    summary = f"{doing} failed: {error_summary(exc)}"
    if classify_exception(exc) is Verdict.RETRY:
        return RetryableError(summary)
    return PermanentError(summary)


@contextmanager
def aws_call(doing: str) -> Iterator[None]:
    """Inside an adapter: any botocore error raised in the block leaves as a classified project error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise classified(exc, doing) from exc
