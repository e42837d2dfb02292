"""The invocation's time budget: a record with too little time left comes back instead of being cut off."""

from __future__ import annotations

import pytest
from dispatcher.budget import TimeBudget
from executor_common.errors import RetryableError


class Context:
    def __init__(self, left_ms: int) -> None:
        self.left_ms = left_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.left_ms


@pytest.mark.parametrize(("left_ms", "allowed"), [(60_000, True), (20_000, True), (19_999, False), (0, False)])
def test_budget_check_table(left_ms, allowed):
    budget = TimeBudget.of(Context(left_ms))
    if allowed:
        budget.check("Launching")
    else:
        with pytest.raises(RetryableError, match=r"Launching: only .* s of this invocation are left"):
            budget.check("Launching")


def test_budget_without_a_lambda_context_is_unlimited():
    TimeBudget.of(None).check("Launching")
