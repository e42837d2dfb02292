"""GuardedGms: the breaker opens only on a sustained GMS outage, never on one 500 or a best-effort write.

Moved from tests/unit/dispatcher/test_dispatcher_gms_guard.py (the breaker moved to executor_common);
the old "opens after one unavailable answer" test is replaced by the sustained-outage rule of issue 10 item 7.
"""

from __future__ import annotations

import pytest
from executor_common.errors import GmsError
from executor_common.gms_guard import GuardedGms
from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus

RUNNING = ExecutionRequestResult(status=ExecutionStatus.RUNNING)
FAILURE = ExecutionRequestResult(status=ExecutionStatus.FAILURE)


class FlakyGms:
    def __init__(self, error: GmsError | None = None) -> None:
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


def _fail(call, *args, **kwargs) -> GmsError:
    with pytest.raises(GmsError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_guard_one_server_error_does_not_open_it():
    client, clock = FlakyGms(GmsError("boom", status_code=500)), Clock()
    guard = GuardedGms(client, clock=clock)
    _fail(guard.read_result, "urn")
    client.error = None
    assert guard.read_result("urn") is None and client.calls == 2


def test_guard_sustained_outage_opens_it_then_fails_fast_until_the_window_passes():
    client, clock = FlakyGms(GmsError("down", status_code=503)), Clock()
    guard = GuardedGms(client, failure_threshold=3, window_seconds=60, open_seconds=15, clock=clock)
    for _ in range(3):
        clock.now += 5
        _fail(guard.write_result, "urn", FAILURE)
    assert client.calls == 3
    error = _fail(guard.read_result, "urn")
    assert "circuit open" in str(error) and error.retryable and client.calls == 3
    clock.now += 16
    client.error = None
    assert guard.read_result("urn") is None and client.calls == 4


def test_guard_failures_spread_beyond_the_window_do_not_open_it():
    client, clock = FlakyGms(GmsError("down", status_code=503)), Clock()
    guard = GuardedGms(client, failure_threshold=3, window_seconds=60, clock=clock)
    for _ in range(5):
        clock.now += 61
        _fail(guard.read_result, "urn")
    assert client.calls == 5 and not guard.breaker.is_open


def test_guard_a_success_between_failures_resets_the_count():
    client, clock = FlakyGms(GmsError("down", status_code=503)), Clock()
    guard = GuardedGms(client, failure_threshold=3, clock=clock)
    for _ in range(2):
        _fail(guard.read_result, "urn")
    client.error = None
    guard.read_result("urn")
    client.error = GmsError("down", status_code=503)
    for _ in range(2):
        _fail(guard.read_result, "urn")
    assert not guard.breaker.is_open


def test_guard_best_effort_running_writes_never_open_it():
    client = FlakyGms(GmsError("down", status_code=503))
    guard = GuardedGms(client, failure_threshold=2, clock=Clock())
    for _ in range(10):
        _fail(guard.write_result, "urn", RUNNING)
    assert client.calls == 10 and not guard.breaker.is_open
    _fail(guard.write_result, "urn", FAILURE, best_effort=True)
    assert not guard.breaker.is_open


def test_guard_refusals_that_retrying_cannot_fix_do_not_open_it():
    client = FlakyGms(GmsError("invalid", status_code=422))
    guard = GuardedGms(client, failure_threshold=2, clock=Clock())
    for _ in range(5):
        _fail(guard.write_result, "urn", FAILURE)
    assert client.calls == 5


def test_dispatcher_keeps_its_import_path():
    from dispatcher.gms_guard import GuardedGms as DispatcherGuardedGms

    assert DispatcherGuardedGms is GuardedGms
