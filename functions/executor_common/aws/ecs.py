"""The ECS adapter: every ECS call this project makes goes through `EcsAdapter`.

It returns plain response data (dicts shaped exactly like the ECS API) and raises the project's
errors, naming the call: `RetryableError` / `PermanentError` as `classify` decides, and typed ones
where the caller branches (`RunTaskConflict`, `TaskDefinitionInactive`). RunTask `failures[]` are
classified here too. ECS's "Too many concurrent attempts to create a new revision", which
botocore's retry modes do not cover, is ridden out here.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from executor_common.aws import make_client
from executor_common.aws.classify import (
    Verdict,
    all_capacity_failures,
    aws_call,
    classified,
    classify_failures,
    describe_failures,
    error_code,
    error_message,
    is_capacity_answer,
    is_throttling,
)
from executor_common.aws.errors import CapacityUnavailable, RunTaskConflict, RunTaskThrottled, TaskDefinitionInactive
from executor_common.errors import PermanentError, RetryableError

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

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_ecs import ECSClient
CONCURRENT_REVISION_MESSAGE = "Too many concurrent attempts to create a new revision"
REGISTER_ATTEMPTS = 6
#: DescribeTasks takes at most 100 tasks per call.
DESCRIBE_TASKS_CHUNK = 100
_TASK_ARN = re.compile(r"arn:aws[\w-]*:ecs:[\w-]+:\d{12}:task/[\w/-]+")


def make_ecs_client(region_name: str | None = None) -> ECSClient:
    return make_client("ecs", region_name, read_timeout=20)


def is_concurrent_revision_error(exc: BaseException) -> bool:
    """True for ECS's answers to concurrent RegisterTaskDefinition calls on one family.

    ECS says ClientException "Too many concurrent attempts to create a new revision"; a ConflictException
    on the same call means the same race. Neither is a property of the request, so both are worth a retry.
    """
    code = error_code(exc)
    if code == "ConflictException":
        return True
    return code == "ClientException" and CONCURRENT_REVISION_MESSAGE.lower() in error_message(exc).lower()


def _is_inactive_task_definition(exc: BaseException) -> bool:
    """RunTask's ClientException "TaskDefinition is inactive"."""
    return error_code(exc) == "ClientException" and "inactive" in error_message(exc).lower()


def _conflicting_task_arns(exc: BaseException) -> list[str]:
    """The tasks a RunTask ConflictException names: `resourceIds`, else any task ARN in the message."""
    response = getattr(exc, "response", {}) or {}
    named = [str(arn) for arn in response.get("resourceIds") or [] if arn]
    return named or _TASK_ARN.findall(error_message(exc))


class EcsAdapter:
    """ECS for one cluster. Create once per container; pass a botocore client (real, moto, or stubbed)."""

    def __init__(
        self,
        client: ECSClient,
        cluster: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        register_attempts: int = REGISTER_ATTEMPTS,
        run_task_gate: Callable[[], object] | None = None,
    ) -> None:
        """`run_task_gate` is called before every RunTask (the dispatcher's pace: it sleeps until a call may go)."""
        self.client = client
        self._run_task_gate = run_task_gate
        self.cluster = cluster
        self._sleep = sleep
        self._register_attempts = register_attempts

    # -- task definitions ------------------------------------------------------------------
    def describe_task_definition(self, task_definition: str) -> dict[str, Any]:
        """`{"taskDefinition": {...}, "tags": [...]}` for an ARN, `family` or `family:revision`."""
        with aws_call(f"Describing the task definition {task_definition!r} (DescribeTaskDefinition)"):
            response = self.client.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])
        return {"taskDefinition": response["taskDefinition"], "tags": response.get("tags", [])}

    def find_active_task_definition(self, family: str) -> str | None:
        """The ARN of the latest ACTIVE revision of `family`, or None when the family has none."""
        from botocore.exceptions import ClientError

        with aws_call(f"Looking up the task definition family {family!r} (DescribeTaskDefinition)"):
            try:
                described = self.client.describe_task_definition(taskDefinition=family)["taskDefinition"]
            except ClientError as exc:
                # ECS answers ClientException "Unable to describe task definition." for an unknown family.
                if error_code(exc) == "ClientException":
                    return None
                raise
        if described.get("status", "ACTIVE") != "ACTIVE":
            return None
        return str(described["taskDefinitionArn"])

    def register_task_definition(self, definition: dict[str, Any], tags: list[dict[str, str]]) -> str:
        """Register a revision and return its ARN, riding out concurrent-revision errors with jittered retries.

        Still racing after every attempt: RetryableError (the message comes back), never a FAILURE.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs = {k: v for k, v in definition.items() if k in REGISTRABLE_FIELDS and v not in (None, [], {})}
        if tags:
            kwargs["tags"] = tags
        doing = f"Registering the task definition {kwargs.get('family')!r} (RegisterTaskDefinition)"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.register_task_definition(**kwargs)
                return str(response["taskDefinition"]["taskDefinitionArn"])
            except (ClientError, BotoCoreError) as exc:
                if not is_concurrent_revision_error(exc):
                    raise classified(exc, doing) from exc
                if attempt >= self._register_attempts:
                    raise RetryableError(f"{doing} still raced other callers after {attempt} attempts") from exc
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
        """One RunTask call on this cluster; the started task as ECS describes it.

        `RunTaskConflict` when the `clientToken` already launched a task with other parameters;
        `TaskDefinitionInactive` when the task definition was deregistered; `RunTaskThrottled` when ECS
        throttled the call (after botocore's own retries); RunTask `failures[]`
        become RetryableError (capacity, agent, resources) or PermanentError, listing every one.
        With the same `clientToken` and parameters ECS returns the task it started before,
        in its current state (possibly STOPPED): callers look at `lastStatus`.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        doing = "Starting the ECS task (RunTask)"
        if self._run_task_gate is not None:
            self._run_task_gate()
        try:
            response = self.client.run_task(cluster=self.cluster, **request)
        except ClientError as exc:
            if error_code(exc) == "ConflictException":
                raise RunTaskConflict(_conflicting_task_arns(exc), error_message(exc)) from exc
            if is_throttling(error_code(exc), error_message(exc)):
                raise RunTaskThrottled(str(classified(exc, doing))) from exc
            if is_capacity_answer(error_message(exc)):
                raise CapacityUnavailable(str(classified(exc, doing)), spot=_on_spot(request)) from exc
            if _is_inactive_task_definition(exc):
                reason = classified(exc, doing)
                raise TaskDefinitionInactive(str(request.get("taskDefinition", "")), str(reason)) from exc
            raise classified(exc, doing) from exc
        except BotoCoreError as exc:
            raise classified(exc, doing) from exc
        failures = response.get("failures", [])
        tasks = response.get("tasks", [])
        if failures or not tasks:
            detail = describe_failures(failures) or "- RunTask returned no task and no failure"
            message = f"ECS could not start the task:\n{detail}"
            if all_capacity_failures(failures):
                raise CapacityUnavailable(message, spot=_on_spot(request))
            if failures and classify_failures(failures) is Verdict.RETRY:
                raise RetryableError(message)
            raise PermanentError(message)
        return dict(tasks[0])

    def tasks_started_by(self, started_by: str) -> list[dict[str, Any]]:
        """The tasks ECS lists for this `startedBy` (all pages), described; recently stopped ones included.

        `startedBy` is ListTasks' only filter: ECS refuses it combined with any other
        (desiredStatus included). Callers tell live tasks from stopped ones by `lastStatus`.
        """
        with aws_call(f"Listing the tasks started by {started_by!r} (ListTasks)"):
            arns: list[str] = []
            for page in self.client.get_paginator("list_tasks").paginate(cluster=self.cluster, startedBy=started_by):
                arns.extend(page.get("taskArns", []))
        return self.describe_tasks_with_tags(arns) if arns else []

    def stop_task(self, task_arn: str, reason: str) -> dict[str, Any]:
        """StopTask with a reason (ECS keeps at most 255 characters of it); returns the stopped task."""
        with aws_call(f"Stopping the task {task_arn} (StopTask)"):
            response = self.client.stop_task(cluster=self.cluster, task=task_arn, reason=reason[:255])
        return dict(response.get("task", {}))

    # -- reconciler / backstop -------------------------------------------------------------
    def list_running_task_arns(self) -> list[str]:
        """ARNs of this cluster's tasks whose desired status is RUNNING (PENDING ones included), all pages."""
        arns: list[str] = []
        with aws_call("Listing the cluster's running tasks (ListTasks)"):
            paginator = self.client.get_paginator("list_tasks")
            for page in paginator.paginate(cluster=self.cluster, desiredStatus="RUNNING"):
                arns.extend(page.get("taskArns", []))
        return arns

    def describe_tasks_with_tags(self, task_arns: list[str]) -> list[dict[str, Any]]:
        """DescribeTasks (with tags) in chunks of 100, the API's limit; tasks as ECS returns them."""
        tasks: list[dict[str, Any]] = []
        with aws_call("Describing tasks (DescribeTasks)"):
            for start in range(0, len(task_arns), DESCRIBE_TASKS_CHUNK):
                chunk = task_arns[start : start + DESCRIBE_TASKS_CHUNK]
                response = self.client.describe_tasks(cluster=self.cluster, tasks=chunk, include=["TAGS"])
                tasks.extend(cast("list[dict[str, Any]]", response.get("tasks", [])))
        return tasks


def _on_spot(request: dict[str, Any]) -> bool:
    """The RunTask request asked for Fargate Spot."""
    strategy = request.get("capacityProviderStrategy") or []
    return any(item.get("capacityProvider") == "FARGATE_SPOT" for item in strategy)


def is_stopped(task: dict[str, Any]) -> bool:
    """A task that ended or is being stopped: nothing more will run in it."""
    return task.get("lastStatus") in {"STOPPED", "DEPROVISIONING"} or task.get("desiredStatus") == "STOPPED"
