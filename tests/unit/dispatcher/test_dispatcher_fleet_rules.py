"""The pure rules of fleet control (issue 14): backoff, the history told on giving up, admission limits."""

from __future__ import annotations

import pytest
from dispatcher.admission import Limits, Load, over_limit
from dispatcher.retries import backoff_seconds, history


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 0.5, 60),
        (2, 0.5, 120),
        (3, 0.5, 240),
        (4, 0.5, 480),
        (5, 0.5, 900),
        (9, 0.5, 900),
        (1, 0.0, 48),
        (1, 1.0, 72),
    ],
)
def test_backoff_seconds_doubles_from_base_with_jitter_and_cap(attempt, rand, expected):
    assert backoff_seconds(attempt, base=60, cap=900, rand=lambda: rand) == expected


def test_backoff_seconds_never_exceeds_the_cap_with_jitter():
    assert backoff_seconds(6, base=60, cap=900, rand=lambda: 1.0) == 900


@pytest.mark.parametrize(
    ("attempts", "first_ms", "now_ms", "expected"),
    [
        (5, 0, 32 * 60_000, "tried 5 times over 32 minutes: boom"),
        (1, 0, 60_000, "tried 1 time over 1 minute: boom"),
        (3, None, 10, "tried 3 times: boom"),
    ],
)
def test_history_tells_attempts_span_and_reason(attempts, first_ms, now_ms, expected):
    assert history(attempts, first_ms, now_ms, "boom") == expected


@pytest.mark.parametrize(
    ("load", "limits", "vcpus", "waits_because"),
    [
        (Load(19, 19), Limits(20, 0), 1, None),
        (Load(20, 20), Limits(20, 0), 1, "20 runs are running, the stack's limit is 20"),
        (Load(3, 3.5), Limits(0, 4), 1, "3.5 vCPUs are in use and this run needs 1; the stack's limit is 4"),
        (Load(3, 3), Limits(0, 4), 1, None),
        (Load(500, 2000), Limits(0, 0), 16, None),
    ],
)
def test_over_limit_names_the_limit_a_run_would_pass(load, limits, vcpus, waits_because):
    reason = over_limit(load, limits, vcpus)
    if waits_because is None:
        assert reason is None
    else:
        assert reason is not None and waits_because in reason
