"""The two kinds of failure every component distinguishes.

Retryable errors are re-raised so the SQS record (or EventBridge event) comes back;
permanent errors are reported to DataHub as FAILURE and the input is consumed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class ExecutorError(Exception):
    """Base class for errors this project raises on purpose."""


class PermanentError(ExecutorError):
    """A retry cannot help: report FAILURE with this reason and consume the input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableError(ExecutorError):
    """A later attempt may succeed (throttling, capacity, GMS down): let the input come back."""


#: GMS refused the request's own content (bad proposal, failed validation, too large even after the
#: terminal write shrank it): the same request is refused again, so trying again cannot help.
GMS_REQUEST_REFUSED = frozenset({400, 413, 422})
#: GMS refused who we are or where we sent it: the token (401), its owner's privileges (403) or the URL (404).
GMS_SETUP_REFUSED = frozenset({401, 403, 404})


class GmsError(ExecutorError):
    """GMS failed or answered with an error status; `retryable` is the project's one rule for trying again.

    The rule: only a refusal of the request's content (`GMS_REQUEST_REFUSED`) is final. Everything else
    (unreachable, timeouts, 408, 429, 5xx, and `GMS_SETUP_REFUSED`) is retryable, because the cause lies
    outside the request and goes away without the request changing:
    - 401/403 right after a token rotation: the Lambdas read the token through a cache (5 minutes), so
      the same request succeeds once the new token is read; a token that stays wrong keeps the message
      until it reaches the DLQ and its alarm, instead of losing the run's status.
    - 404 on a write means the URL is wrong (for example DataHub Cloud without `/gms`); fixing the stack
      and redriving the DLQ delivers it. A 404 on a read is not an error (no aspect yet).
    - 413 is retried by the terminal write after shrinking the report; a 413 left after that is final.
    A caller whose token cannot change (the runner) stops retrying a `setup_refused` error itself.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def retryable(self) -> bool:
        return self.status_code not in GMS_REQUEST_REFUSED

    @property
    def setup_refused(self) -> bool:
        """The URL or the token is wrong (or the token was just rotated): say so loudly."""
        return self.status_code in GMS_SETUP_REFUSED


class GmsTokenUnreadable(GmsError):
    """The DataHub token secret cannot be read: a deployment problem (IAM, KMS, wrong ARN), not GMS.

    Retryable, so that no message is lost: it stays on its queue, reaches the DLQ and raises its alarm
    until the role is fixed; the message names the secret's ARN (never its value) and the likely fix.
    """

    def __init__(self, message: str, secret_arn: str, code: str) -> None:
        super().__init__(message)
        self.secret_arn = secret_arn
        self.code = code


def summarize_validation_error(exc: ValidationError) -> str:
    """Field paths and messages only: pydantic's default text echoes inputs, which may hold credentials."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(p) for p in error.get("loc", ())) or "message"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
