"""Pure launch planning: a validated run + settings -> the exact RunTask request and status texts.

No I/O here: the logic module uploads the spec when the plan says so and makes the call.
The run spec travels inline when the whole `overrides` JSON stays within a safe budget,
else through `s3://RUN_BUCKET/runs/<execution-id>/spec.json` (never truncated).
Task-level cpu/memory/ephemeralStorage overrides are always set (not only when they differ
from the defaults): the task then runs at exactly the size the RUNNING report names, even
when the base task definition's own size drifted from DEFAULT_TASK_*.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from executor_common.aws.s3 import run_object_key
from executor_common.errors import PermanentError
from executor_common.log_streams import runner_log_stream
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import (
    ENV_CHILD_ENV_NAMES,
    ENV_EXECUTION_REQUEST_URN,
    ENV_RUN_SPEC,
    ENV_RUN_SPEC_URI,
    ENV_RUN_TIMEOUT,
    TAG_EXECUTION_REQUEST,
    TAG_EXECUTOR_ID,
    TAG_INGESTION_SOURCE,
    TAG_RUN_TIMEOUT,
    TAG_SOURCE_TYPE,
    TASK_GROUP_PREFIX,
    RunSpec,
)
from executor_common.status import ExecutionStatus
from pydantic import BaseModel, ConfigDict

from dispatcher.settings import DispatcherSettings
from dispatcher.validation import ValidatedRun

#: ECS refuses `overrides` above 8192 characters; inline specs stay under this budget.
OVERRIDES_LIMIT_CHARS = 8192
INLINE_SPEC_BUDGET_CHARS = 7000
SPEC_OBJECT_NAME = "spec.json"
_STARTED_BY_BAD = re.compile(r"[^A-Za-z0-9_/-]")
_TAG_VALUE_BAD = re.compile(r"[^\w .:/=+\-@]")
_GROUP_BAD = re.compile(r"[^A-Za-z0-9_:.\-]")
INGESTION_SOURCE_PREFIX = "urn:li:dataHubIngestionSource:"


class SpecObject(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    body: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class LaunchPlan(BaseModel):
    """Everything one launch needs; `request` is RunTask's keyword arguments minus `cluster`."""

    model_config = ConfigDict(frozen=True)

    request: dict[str, Any]
    spec_object: SpecObject | None
    overrides_chars: int


def started_by_for(execution_id: str) -> str:
    """ECS allows 128 of `[A-Za-z0-9_/-]`; anything else keeps a hash suffix so ids stay distinct."""
    clean = _STARTED_BY_BAD.sub("-", execution_id)
    if clean == execution_id and len(clean) <= 128:
        return clean
    digest = hashlib.sha256(execution_id.encode("utf-8")).hexdigest()[:12]
    return f"{clean[:115]}-{digest}"


def client_token_for(execution_id: str) -> str:
    """RunTask's idempotency token: 64 hex characters, the same for every delivery of one request."""
    return hashlib.sha256(f"datahub-execution-request:{execution_id}".encode()).hexdigest()


def group_for(ingestion_source_urn: str | None) -> str:
    source_id = "adhoc"
    if ingestion_source_urn and ingestion_source_urn.startswith(INGESTION_SOURCE_PREFIX):
        source_id = ingestion_source_urn[len(INGESTION_SOURCE_PREFIX) :] or "adhoc"
    return _GROUP_BAD.sub("_", f"{TASK_GROUP_PREFIX}{source_id}")[:255]


def tag_value(value: str) -> str:
    return _TAG_VALUE_BAD.sub("_", value)[:256]


def run_spec_for(run: ValidatedRun, settings: DispatcherSettings) -> RunSpec:
    aspect = run.command.aspect
    return RunSpec(
        execution_request_urn=run.urn,
        execution_id=run.execution_id,
        task=run.task,
        recipe=run.args.recipe,
        secret_names=run.secret_names,
        version=run.args.version,
        debug_mode=run.args.debug_mode,
        extra_pip_requirements=run.args.extra_pip_requirements,
        ingestion_source_urn=aspect.source.ingestionSource,
        source_type=run.source_type,
        executor_id=settings.executor_id,
        run_timeout_seconds=run.run_timeout_seconds,
        task_cpu=run.size.cpu,
        task_memory=run.size.memory,
        requested_at=aspect.requestedAt,
        actor_urn=aspect.actorUrn,
    )


def _overrides(run: ValidatedRun, settings: DispatcherSettings, spec_env: tuple[str, str]) -> dict[str, Any]:
    environment = [
        {"name": spec_env[0], "value": spec_env[1]},
        {"name": ENV_EXECUTION_REQUEST_URN, "value": run.urn},
        {"name": ENV_RUN_TIMEOUT, "value": str(run.run_timeout_seconds)},
        {"name": ENV_CHILD_ENV_NAMES, "value": ",".join(sorted(run.child_env))},
    ] + [{"name": name, "value": run.child_env[name]} for name in sorted(run.child_env)]
    return {
        "containerOverrides": [
            {
                "name": settings.runner_container_name,
                "environment": environment,
                # A container-level hard limit in the base would otherwise cap a larger per-run size.
                "memory": int(run.size.memory),
            }
        ],
        "cpu": run.size.cpu,
        "memory": run.size.memory,
        "ephemeralStorage": {"sizeInGiB": run.size.ephemeral_storage_gib},
    }


def overrides_length(overrides: dict[str, Any]) -> int:
    """Measured with json's default separators (wider than the wire form): a safe upper bound."""
    return len(json.dumps(overrides))


def plan_launch(run: ValidatedRun, settings: DispatcherSettings, task_definition_arn: str) -> LaunchPlan:
    """The RunTask request for `run`; PermanentError when even the S3 form cannot fit ECS's limit."""
    spec_json = run_spec_for(run, settings).model_dump_json(exclude_none=True)
    spec_object: SpecObject | None = None
    overrides = _overrides(run, settings, (ENV_RUN_SPEC, spec_json))
    if overrides_length(overrides) > INLINE_SPEC_BUDGET_CHARS:
        spec_object = SpecObject(
            bucket=settings.run_bucket, key=run_object_key(run.execution_id, SPEC_OBJECT_NAME), body=spec_json
        )
        overrides = _overrides(run, settings, (ENV_RUN_SPEC_URI, spec_object.uri))
    length = overrides_length(overrides)
    if length > INLINE_SPEC_BUDGET_CHARS:
        env_chars = sum(len(k) + len(v) for k, v in run.child_env.items())
        raise PermanentError(
            f"The run's environment variables take {env_chars} characters; with the executor's own they exceed "
            f"the {OVERRIDES_LIMIT_CHARS}-character limit of ECS task overrides. Move large values into "
            "Secrets Manager and reference them as ${NAME} in the recipe."
        )
    aspect = run.command.aspect
    tags = {
        TAG_EXECUTION_REQUEST: run.urn,
        TAG_INGESTION_SOURCE: aspect.source.ingestionSource or "adhoc",
        TAG_EXECUTOR_ID: settings.executor_id,
        TAG_SOURCE_TYPE: run.source_type,
        TAG_RUN_TIMEOUT: str(run.run_timeout_seconds),
    }
    request: dict[str, Any] = {
        "taskDefinition": task_definition_arn,
        "count": 1,
        "startedBy": started_by_for(run.execution_id),
        "group": group_for(aspect.source.ingestionSource),
        "clientToken": client_token_for(run.execution_id),
        "enableECSManagedTags": True,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(settings.subnet_ids),
                "securityGroups": list(settings.security_group_ids),
                "assignPublicIp": settings.assign_public_ip,
            }
        },
        "overrides": overrides,
        "tags": [{"key": key, "value": tag_value(value)} for key, value in tags.items() if value],
    }
    if settings.capacity_provider == "FARGATE_SPOT":
        request["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    else:
        request["launchType"] = "FARGATE"
    return LaunchPlan(request=request, spec_object=spec_object, overrides_chars=length)


# -- what DataHub is told --------------------------------------------------------------------
def _console_encode(value: str) -> str:
    """The CloudWatch console's fragment encoding: URL-encode twice, then `%` -> `$` (`/` -> `$252F`)."""
    return quote(quote(value, safe=""), safe="").replace("%", "$")


def log_stream_name(settings: DispatcherSettings, task_arn: str) -> str:
    return runner_log_stream(settings.log_stream_prefix, task_arn)


def log_console_url(settings: DispatcherSettings, task_arn: str) -> str:
    region = settings.aws_region
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        f"{_console_encode(settings.log_group_name)}/log-events/{_console_encode(log_stream_name(settings, task_arn))}"
    )


def running_result(
    run: ValidatedRun, settings: DispatcherSettings, task_arn: str, now_ms: int
) -> ExecutionRequestResult:
    report = (
        f"Launched on the remote executor '{settings.executor_id}' as ECS task {task_arn}\n"
        f"Cluster: {settings.ecs_cluster}\n"
        f"Size: CPU {run.size.cpu}, memory {run.size.memory} MiB, "
        f"ephemeral storage {run.size.ephemeral_storage_gib} GiB\n"
        f"Logs: {log_console_url(settings, task_arn)}\n"
    )
    return ExecutionRequestResult(status=ExecutionStatus.RUNNING, report=report, startTimeMs=now_ms)


def failure_result(reason: str, executor_id: str, now_ms: int) -> ExecutionRequestResult:
    report = f"The remote executor '{executor_id}' did not start this run.\n{reason}\n"
    return ExecutionRequestResult(status=ExecutionStatus.FAILURE, report=report, startTimeMs=now_ms, durationMs=0)


def cancelled_result(actor: str, now_ms: int) -> ExecutionRequestResult:
    report = f"Cancelled by {actor}. No running ECS task was found for this run, so nothing had to be stopped.\n"
    return ExecutionRequestResult(status=ExecutionStatus.CANCELLED, report=report, startTimeMs=now_ms, durationMs=0)
