"""The ECS adapter: every ECS call this project makes goes through `EcsAdapter`.

It returns plain response data (dicts shaped exactly like the ECS API) and lets
botocore errors propagate: the caller's classifier decides retryable vs permanent,
because the same error code means different things to the dispatcher and the reconciler.
The one thing handled here is ECS's "Too many concurrent attempts to create a new
revision", which botocore's retry modes do not cover.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from executor_common.aws import make_client

logger = logging.getLogger(__name__)

#: Fields of a described task definition that `register_task_definition` accepts back.
REGISTRABLE_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "ephemeralStorage",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
)
CONCURRENT_REVISION_MESSAGE = "Too many concurrent attempts to create a new revision"
REGISTER_ATTEMPTS = 6


def make_ecs_client(region_name: str | None = None) -> Any:
    return make_client("ecs", region_name, read_timeout=20)


def is_concurrent_revision_error(exc: Exception) -> bool:
    """True for ECS's ClientException about concurrent RegisterTaskDefinition calls on one family."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    error = response.get("Error", {})
    return (
        error.get("Code") == "ClientException"
        and CONCURRENT_REVISION_MESSAGE.lower() in str(error.get("Message", "")).lower()
    )


class EcsAdapter:
    """ECS for one cluster. Create once per container; pass a botocore client (real, moto, or stubbed)."""

    def __init__(
        self,
        client: Any,
        cluster: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        register_attempts: int = REGISTER_ATTEMPTS,
    ) -> None:
        self.client = client
        self.cluster = cluster
        self._sleep = sleep
        self._register_attempts = register_attempts

    # -- task definitions ------------------------------------------------------------------
    def describe_task_definition(self, task_definition: str) -> dict[str, Any]:
        """`{"taskDefinition": {...}, "tags": [...]}` for an ARN, `family` or `family:revision`."""
        response = self.client.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])
        return {"taskDefinition": response["taskDefinition"], "tags": response.get("tags", [])}

    def find_active_task_definition(self, family: str) -> str | None:
        """The ARN of the latest ACTIVE revision of `family`, or None when the family has none."""
        from botocore.exceptions import ClientError

        try:
            described = self.client.describe_task_definition(taskDefinition=family)["taskDefinition"]
        except ClientError as exc:
            # ECS answers ClientException "Unable to describe task definition." for an unknown family.
            if exc.response.get("Error", {}).get("Code") == "ClientException":
                return None
            raise
        if described.get("status", "ACTIVE") != "ACTIVE":
            return None
        return str(described["taskDefinitionArn"])

    def register_task_definition(self, definition: dict[str, Any], tags: list[dict[str, str]]) -> str:
        """Register a revision and return its ARN, riding out concurrent-revision errors with jittered retries."""
        kwargs = {k: v for k, v in definition.items() if k in REGISTRABLE_FIELDS and v not in (None, [], {})}
        if tags:
            kwargs["tags"] = tags
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.register_task_definition(**kwargs)
                return str(response["taskDefinition"]["taskDefinitionArn"])
            except Exception as exc:
                if not is_concurrent_revision_error(exc) or attempt >= self._register_attempts:
                    raise
                delay = min(8.0, 0.25 * 2**attempt) * (0.5 + random.random())
                logger.warning(
                    "RegisterTaskDefinition for %s raced another caller (attempt %d); retrying in %.2fs",
                    kwargs.get("family"),
                    attempt,
                    delay,
                )
                self._sleep(delay)

    # -- tasks -----------------------------------------------------------------------------
    def run_task(self, request: dict[str, Any]) -> dict[str, Any]:
        """One RunTask call on this cluster; returns `{"tasks": [...], "failures": [...]}` as ECS does."""
        response = self.client.run_task(cluster=self.cluster, **request)
        return {"tasks": response.get("tasks", []), "failures": response.get("failures", [])}

    def list_active_tasks_started_by(self, started_by: str) -> list[str]:
        """Task ARNs with this `startedBy` whose desired status is RUNNING (this covers PENDING tasks too)."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {"cluster": self.cluster, "startedBy": started_by, "desiredStatus": "RUNNING"}
        while True:
            response = self.client.list_tasks(**kwargs)
            arns.extend(response.get("taskArns", []))
            token = response.get("nextToken")
            if not token:
                return arns
            kwargs["nextToken"] = token

    def stop_task(self, task_arn: str, reason: str) -> dict[str, Any]:
        """StopTask with a reason (ECS keeps at most 255 characters of it); returns the stopped task."""
        response = self.client.stop_task(cluster=self.cluster, task=task_arn, reason=reason[:255])
        return dict(response.get("task", {}))

    # -- reconciler / backstop -------------------------------------------------------------
    def list_running_task_arns(self) -> list[str]:
        """ARNs of this cluster's tasks whose desired status is RUNNING (PENDING ones included), all pages."""
        arns: list[str] = []
        paginator = self.client.get_paginator("list_tasks")
        for page in paginator.paginate(cluster=self.cluster, desiredStatus="RUNNING"):
            arns.extend(page.get("taskArns", []))
        return arns

    def describe_tasks_with_tags(self, task_arns: list[str]) -> list[dict[str, Any]]:
        """DescribeTasks (with tags) in chunks of 100, the API's limit; tasks as ECS returns them."""
        tasks: list[dict[str, Any]] = []
        for start in range(0, len(task_arns), 100):
            chunk = task_arns[start : start + 100]
            response = self.client.describe_tasks(cluster=self.cluster, tasks=chunk, include=["TAGS"])
            tasks.extend(response.get("tasks", []))
        return tasks
