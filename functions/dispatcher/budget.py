"""The invocation's time budget: records that could not finish before Lambda's deadline are retried.

A record that starts with too little time left may be cut off mid-way by the Lambda timeout,
which fails the whole batch (every record comes back, whatever it had done). Checking the
remaining time before each record, and again before the launch, turns that into one
batch item failure for a record that had not started anything yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from executor_common.errors import RetryableError


class OutOfTime(RetryableError):
    """Too little of the invocation was left to start (or launch) this record; nothing about it failed, so the
    handler sends it back as a new message (no attempt spent, no backoff), as for a throttled RunTask."""


#: Enough for one record's slowest path: a GMS read and write with their retries, and RunTask.
RECORD_RESERVE_SECONDS = 20.0


class TimeBudget:
    def __init__(self, remaining_ms: Callable[[], int] | None, reserve_seconds: float = RECORD_RESERVE_SECONDS):
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_seconds * 1000

    @classmethod
    def of(cls, lambda_context: Any) -> TimeBudget:
        """From Lambda's context (`get_remaining_time_in_millis`); unlimited without one (scripts, some tests)."""
        remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
        return cls(remaining if callable(remaining) else None)

    def check(self, doing: str) -> None:
        """OutOfTime when less than the reserve is left: `doing` must wait for the next delivery."""
        if self._remaining_ms is None:
            return
        left = self._remaining_ms()
        if left < self._reserve_ms:
            raise OutOfTime(
                f"{doing}: only {left / 1000:.1f} s of this invocation are left (a record needs "
                f"{self._reserve_ms / 1000:.0f} s); the message comes back"
            )


UNLIMITED = TimeBudget(None)
