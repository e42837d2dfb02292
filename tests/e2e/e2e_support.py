"""Helpers of the e2e tests: find a run's tasks, wait for things (fixtures live in conftest.py)."""

from __future__ import annotations

import time
from typing import Any

E2E_SECRET = "E2E_DB_PATH"
TERMINAL = ("SUCCESS", "FAILURE", "CANCELLED", "ABORTED", "TIMEOUT")


def tasks_of(stack: Any, urn: str) -> list[dict[str, Any]]:
    """Every task (running or stopped) the dispatcher launched for one execution request."""
    from executor_common.runspec import TAG_EXECUTION_REQUEST

    arns = stack.tasks("RUNNING") + stack.tasks("STOPPED")
    tagged = {"key": TAG_EXECUTION_REQUEST, "value": urn}
    return [t for t in stack.describe_tasks(arns) if tagged in t.get("tags", [])] if arns else []


def wait_until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stopped_task_of(stack: Any, urn: str, timeout: float = 30.0) -> dict[str, Any]:
    def stopped() -> dict[str, Any] | None:
        tasks = [t for t in tasks_of(stack, urn) if t["lastStatus"] == "STOPPED"]
        return tasks[0] if tasks else None

    return wait_until(stopped, timeout, f"the task of {urn} to stop")
