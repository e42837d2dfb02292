"""A circuit breaker around the GMS client, for one container (the dispatcher's, later the reconciler's).

When GMS is down, every record of a batch would otherwise spend its own timeouts and
retries (seconds each) before coming back anyway, risking the Lambda timeout for the whole
batch. But one 500 is not an outage: opening on it failed every other record of the batch
and sent healthy requests to the DLQ. So the breaker opens only on a sustained outage:
`failure_threshold` consecutive retryable failures within `window_seconds`. While open,
calls fail fast (a retryable GmsError: the record that made the call comes back through
SQS on its own; records that need no GMS call are unaffected). After `open_seconds` calls
go through again; one more failure reopens it, one success closes it.

Best-effort writes (the dispatcher's RUNNING right after launch: the runner writes it
again moments later) never count towards opening it; they are skipped while it is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus

FAILURE_THRESHOLD = 3
WINDOW_SECONDS = 60.0
OPEN_SECONDS = 15.0

T = TypeVar("T")


class CircuitBreaker:
    """Counts consecutive retryable failures; open = fail fast for a while."""

    def __init__(
        self,
        *,
        failure_threshold: int = FAILURE_THRESHOLD,
        window_seconds: float = WINDOW_SECONDS,
        open_seconds: float = OPEN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._window = window_seconds
        self._open_seconds = open_seconds
        self._clock = clock
        self._failures: list[float] = []  # times of the current run of consecutive failures
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def call(self, operation: Callable[[], T], *, counts: bool = True) -> T:
        """Run `operation` unless open; a failure counts only when `counts` and retrying could help."""
        if self.is_open:
            raise GmsError("GMS has been unavailable for a while; not calling it again yet (circuit open)")
        try:
            result = operation()
        except GmsError as exc:
            if counts and exc.retryable:
                self._record_failure()
            raise
        self._failures.clear()
        return result

    def _record_failure(self) -> None:
        now = self._clock()
        self._failures = [t for t in self._failures if now - t <= self._window] + [now]
        if len(self._failures) >= self._threshold:
            self._open_until = now + self._open_seconds


class ResultClient(Protocol):
    def read_result(self, urn: str) -> ExecutionRequestResult | None: ...

    def write_result(self, urn: str, result: ExecutionRequestResult) -> None: ...


class GuardedGms:
    """The GMS calls a Lambda makes, behind one breaker."""

    def __init__(
        self,
        client: ResultClient,
        *,
        breaker: CircuitBreaker | None = None,
        failure_threshold: int = FAILURE_THRESHOLD,
        window_seconds: float = WINDOW_SECONDS,
        open_seconds: float = OPEN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=failure_threshold, window_seconds=window_seconds, open_seconds=open_seconds, clock=clock
        )

    def read_result(self, urn: str, *, best_effort: bool = False) -> ExecutionRequestResult | None:
        """`best_effort`: a read whose failure changes nothing (the check after launch) never opens the breaker."""
        return self.breaker.call(lambda: self._client.read_result(urn), counts=not best_effort)

    def read_input(self, urn: str) -> dict[str, Any] | None:
        return self.breaker.call(lambda: self._client.read_input(urn))  # type: ignore[attr-defined]

    def write_result(self, urn: str, result: ExecutionRequestResult, *, best_effort: bool | None = None) -> None:
        """`best_effort` defaults to "is it a RUNNING write": a status someone writes again soon."""
        if best_effort is None:
            best_effort = result.status == ExecutionStatus.RUNNING
        self.breaker.call(lambda: self._client.write_result(urn, result), counts=not best_effort)
