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


class GmsError(ExecutorError):
    """GMS answered with an error status; `retryable` says whether trying again can help."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def retryable(self) -> bool:
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500


def summarize_validation_error(exc: ValidationError) -> str:
    """Field paths and messages only: pydantic's default text echoes inputs, which may hold credentials."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(p) for p in error.get("loc", ())) or "message"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
