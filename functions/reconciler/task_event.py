"""The "ECS Task State Change" EventBridge event, as far as the reconciler reads it.

Field names follow the event exactly as AWS documents it (camelCase `detail`, which mirrors
the DescribeTasks `Task` object). Every field is optional and unknown ones are kept: ECS adds
fields over time, and a STOPPED event of a task that never started has no `startedAt`, no
container exit codes and sometimes no containers at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DETAIL_TYPE = "ECS Task State Change"
SOURCE = "aws.ecs"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class KeyValue(_Tolerant):
    name: str | None = None
    value: str | None = None


class ContainerOverride(_Tolerant):
    name: str | None = None
    environment: list[KeyValue] = Field(default_factory=list)


class TaskOverrides(_Tolerant):
    containerOverrides: list[ContainerOverride] = Field(default_factory=list)
    cpu: str | None = None
    memory: str | None = None


class ContainerState(_Tolerant):
    name: str | None = None
    image: str | None = None
    lastStatus: str | None = None
    exitCode: int | None = None
    reason: str | None = None
    containerArn: str | None = None
    taskArn: str | None = None


class TaskDetail(_Tolerant):
    """`detail` of the event: the task as DescribeTasks would show it at that version."""

    taskArn: str
    clusterArn: str | None = None
    taskDefinitionArn: str | None = None
    lastStatus: str | None = None
    desiredStatus: str | None = None
    stopCode: str | None = None
    stoppedReason: str | None = None
    containers: list[ContainerState] = Field(default_factory=list)
    overrides: TaskOverrides = Field(default_factory=TaskOverrides)
    startedBy: str | None = None
    group: str | None = None
    launchType: str | None = None
    capacityProviderName: str | None = None
    cpu: str | None = None
    memory: str | None = None
    createdAt: datetime | None = None
    startedAt: datetime | None = None
    stoppingAt: datetime | None = None
    stoppedAt: datetime | None = None
    version: int = 0

    @property
    def task_id(self) -> str:
        """The last segment of the ARN (`task/<cluster>/<id>` or the old `task/<id>` format)."""
        return self.taskArn.rsplit("/", 1)[-1]

    @property
    def cluster_name(self) -> str | None:
        return self.clusterArn.rsplit("/", 1)[-1] if self.clusterArn else None

    def container(self, name: str) -> ContainerState | None:
        return next((c for c in self.containers if c.name == name), None)

    def override_env(self, name: str) -> str | None:
        """The value of an env var set in any container override (the runner's first)."""
        for override in self.overrides.containerOverrides:
            for pair in override.environment:
                if pair.name == name and pair.value:
                    return pair.value
        return None


class TaskStateChangeEvent(_Tolerant):
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


def epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)
