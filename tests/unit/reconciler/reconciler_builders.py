"""Builders for ECS task details in reconciler unit tests (the sample events in events/ are the realistic ones)."""

from __future__ import annotations

from typing import Any

from reconciler.task_event import TaskDetail

CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/datahub-remote-executor"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/datahub-remote-executor/0123456789abcdef0123456789abcdef"
URN = "urn:li:dataHubExecutionRequest:run-1"


def container(name: str = "runner", exit_code: int | None = None, reason: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "lastStatus": "STOPPED", "image": "example/runner:1"}
    if exit_code is not None:
        data["exitCode"] = exit_code
    if reason is not None:
        data["reason"] = reason
    return data


def detail(
    *,
    stop_code: str | None = "EssentialContainerExited",
    stopped_reason: str | None = "Essential container in task exited",
    containers: list[dict[str, Any]] | None = None,
    urn: str | None = URN,
    memory: str = "4096",
    last_status: str = "STOPPED",
    version: int = 3,
    **extra: Any,
) -> TaskDetail:
    env = [{"name": "EXECUTOR_EXECUTION_REQUEST_URN", "value": urn}] if urn else []
    data: dict[str, Any] = {
        "taskArn": TASK_ARN,
        "clusterArn": CLUSTER_ARN,
        "lastStatus": last_status,
        "desiredStatus": "STOPPED",
        "stopCode": stop_code,
        "stoppedReason": stopped_reason,
        "containers": [container(exit_code=1)] if containers is None else containers,
        "overrides": {"containerOverrides": [{"name": "runner", "environment": env}]},
        "cpu": "1024",
        "memory": memory,
        "version": version,
    }
    data.update(extra)
    return TaskDetail.model_validate(data)
