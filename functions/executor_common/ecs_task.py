"""An ECS task as DescribeTasks and the "ECS Task State Change" event's `detail` show it.

The reconciler reads it from STOPPED events, the backstop from DescribeTasks. Field names follow
AWS exactly (camelCase, the DescribeTasks `Task` object). Every field is optional and unknown ones are kept: ECS adds
fields over time, and a STOPPED event of a task that never started has no `startedAt`, no
container exit codes and sometimes no containers at all.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from executor_common.log_streams import task_id_of
from executor_common.tolerant import TolerantModel as _Tolerant


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


class EphemeralStorage(_Tolerant):
    sizeInGiB: int | None = None


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
    pullStartedAt: datetime | None = None
    startedAt: datetime | None = None
    stoppingAt: datetime | None = None
    stoppedAt: datetime | None = None
    version: int = 0
    ephemeralStorage: EphemeralStorage | None = None

    @property
    def task_id(self) -> str:
        return task_id_of(self.taskArn)

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


def epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)
