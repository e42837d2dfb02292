"""A short circuit breaker around the GMS client, for one container.

When GMS is down, every record of a batch would otherwise spend its own timeouts and
retries (seconds each) before coming back anyway, risking the Lambda timeout for the whole
batch. After one unavailable answer, calls fail fast for a few seconds; the records come
back through SQS and find GMS again later.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from executor_common.errors import GmsError
from executor_common.gms import GmsClient
from executor_common.results import ExecutionRequestResult

OPEN_SECONDS = 15.0


class GuardedGms:
    """The two GMS calls the dispatcher makes, failing fast while GMS was recently unavailable."""

    def __init__(
        self, client: GmsClient, *, open_seconds: float = OPEN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._open_seconds = open_seconds
        self._clock = clock
        self._open_until = 0.0

    def read_result(self, urn: str) -> ExecutionRequestResult | None:
        self._check()
        try:
            return self._client.read_result(urn)
        except GmsError as exc:
            self._note(exc)
            raise

    def write_result(self, urn: str, result: ExecutionRequestResult) -> None:
        self._check()
        try:
            self._client.write_result(urn, result)
        except GmsError as exc:
            self._note(exc)
            raise

    def _check(self) -> None:
        if self._clock() < self._open_until:
            raise GmsError("GMS was unavailable moments ago; not calling it again yet")

    def _note(self, exc: GmsError) -> None:
        if exc.retryable:
            self._open_until = self._clock() + self._open_seconds
