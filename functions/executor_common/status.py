"""The DataHub execution status vocabulary, exactly as the DataHub UI spells it."""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """Values of `dataHubExecutionRequestResult.status` that the DataHub UI renders."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELLED = "CANCELLED"
    ABORTED = "ABORTED"
    TIMEOUT = "TIMEOUT"
    DUPLICATE = "DUPLICATE"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        ExecutionStatus.SUCCESS,
        ExecutionStatus.FAILURE,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.ABORTED,
        ExecutionStatus.TIMEOUT,
        ExecutionStatus.DUPLICATE,
    }
)


def is_terminal(status: str | None) -> bool:
    """True when DataHub already shows a final state that must never be overwritten."""
    return status in TERMINAL_STATUSES
