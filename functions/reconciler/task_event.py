"""The "ECS Task State Change" EventBridge event, as far as the reconciler reads it (the envelope).

The task itself (`detail`) is `executor_common.ecs_task.TaskDetail`, shared with the backstop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from executor_common.ecs_task import TaskDetail
from executor_common.tolerant import TolerantModel
from pydantic import Field

DETAIL_TYPE = "ECS Task State Change"


class TaskStateChangeEvent(TolerantModel):
    """The EventBridge envelope (`detail-type`, `source`, ...) around `TaskDetail`."""

    id: str | None = None
    detail_type: str | None = Field(default=None, alias="detail-type")
    source: str | None = None
    account: str | None = None
    region: str | None = None
    time: datetime | None = None
    resources: list[str] = Field(default_factory=list)
    detail: TaskDetail


def is_task_state_change(event: Any) -> bool:
    """True for a raw EventBridge ECS task event (as opposed to an SQS batch or a schedule)."""
    return isinstance(event, dict) and event.get("detail-type") == DETAIL_TYPE and isinstance(event.get("detail"), dict)
