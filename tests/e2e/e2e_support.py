"""Helpers of the e2e tests: find a run's tasks, wait for one to stop (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from tests.support.waiting import wait_until

E2E_SECRET = "E2E_DB_PATH"
TERMINAL = ("SUCCESS", "FAILURE", "CANCELLED", "ABORTED", "TIMEOUT")


def tasks_of(stack: Any, urn: str) -> list[dict[str, Any]]:
    """Every task (running or stopped) the dispatcher launched for one execution request."""
    from executor_common.runspec import TAG_EXECUTION_REQUEST

    arns = stack.tasks("RUNNING") + stack.tasks("STOPPED")
    tagged = {"key": TAG_EXECUTION_REQUEST, "value": urn}
    return [t for t in stack.describe_tasks(arns) if tagged in t.get("tags", [])] if arns else []


def stopped_task_of(stack: Any, urn: str, timeout: float = 30.0) -> dict[str, Any]:
    def stopped() -> dict[str, Any] | None:
        tasks = [t for t in tasks_of(stack, urn) if t["lastStatus"] == "STOPPED"]
        return tasks[0] if tasks else None

    return wait_until(stopped, timeout, f"the task of {urn} to stop")
