"""GuardedGms: after GMS is unavailable once, calls fail fast for a while instead of timing out per record."""

from __future__ import annotations

import pytest
from dispatcher.gms_guard import GuardedGms
from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus

RESULT = ExecutionRequestResult(status=ExecutionStatus.RUNNING)


class FlakyGms:
    def __init__(self, error: GmsError | None) -> None:
        self.error = error
        self.calls = 0

    def read_result(self, urn: str) -> ExecutionRequestResult | None:
        self.calls += 1
        if self.error:
            raise self.error
        return None

    def write_result(self, urn: str, result: ExecutionRequestResult) -> None:
        self.read_result(urn)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_guard_unavailable_gms_fails_fast_until_the_window_passes():
    client, clock = FlakyGms(GmsError("down", status_code=503)), Clock()
    guard = GuardedGms(client, open_seconds=15, clock=clock)
    with pytest.raises(GmsError):
        guard.read_result("urn")
    with pytest.raises(GmsError, match="moments ago") as caught:
        guard.write_result("urn", RESULT)
    assert caught.value.retryable and client.calls == 1
    clock.now += 16
    client.error = None
    assert guard.read_result("urn") is None and client.calls == 2


def test_guard_refusals_that_retrying_cannot_fix_do_not_open_it():
    client = FlakyGms(GmsError("invalid", status_code=422))
    guard = GuardedGms(client, clock=Clock())
    for _ in range(2):
        with pytest.raises(GmsError):
            guard.write_result("urn", RESULT)
    assert client.calls == 2
