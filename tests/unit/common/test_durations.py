"""One duration format: the backstop's StopTask reason, the reconciler's "timed out after" and the runner's timeout."""

from __future__ import annotations

import pytest
from executor_common.durations import human_duration
from executor_runner.run import human_duration as runner_human_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (5, "5s"), (59, "59s"), (90, "1m 30s"), (3725, "1h 2m 5s"), (86_400, "1d"), (90_000, "1d 1h")],
)
def test_human_duration_reads_naturally(seconds, text):
    assert human_duration(seconds) == text


def test_human_duration_runner_uses_the_same_format_beyond_a_day():
    assert runner_human_duration(90_000) == human_duration(90_000) == "1d 1h"
