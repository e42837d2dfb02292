"""Pure launch planning: a validated run + settings -> the exact RunTask request.

No I/O here: the logic module uploads the spec when the plan says so and makes the call.
The run spec (with the child's extra env vars) travels inline when the `overrides` JSON, measured
as botocore sends it, fits ECS's 8192-character limit, else through
`s3://RUN_BUCKET/runs/<execution-id>/spec.json` (never truncated). Every name built from an
execution id (startedBy, tags, group, S3 key) is bounded to what AWS accepts, with a hash of
the whole id where it had to be cut, so distinct ids stay distinct.
Task-level cpu/memory/ephemeralStorage overrides are always set (not only when they differ
from the defaults): the task then runs at exactly the size the RUNNING report names, even
when the base task definition's own size drifted from DEFAULT_TASK_*.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from executor_common.aws.s3 import run_object_key
from executor_common.errors import PermanentError
from executor_common.runspec import (
    ENV_EXECUTION_REQUEST_URN,
    ENV_RUN_SPEC,
    ENV_RUN_SPEC_URI,
    ENV_RUN_TIMEOUT,
    RUNNER_CONTAINER_NAME,
    TAG_EXECUTION_REQUEST,
    TAG_EXECUTOR_ID,
    TAG_INGESTION_SOURCE,
    TAG_RUN_TIMEOUT,
    TAG_SOURCE_TYPE,
    TASK_GROUP_PREFIX,
    RunSpec,
)
from pydantic import BaseModel, ConfigDict

from dispatcher.settings import DispatcherSettings
from dispatcher.spot import capacity_fields, capacity_provider_for
from dispatcher.validation import ValidatedRun

#: ECS refuses `overrides` above 8192 characters, "including the JSON formatting characters".
OVERRIDES_LIMIT_CHARS = 8192
SPEC_OBJECT_NAME = "spec.json"
#: ECS has refused a longer `startedBy` on RunTask and ListTasks (its model says 128).
MAX_STARTED_BY = 36
_STARTED_BY_BAD = re.compile(r"[^A-Za-z0-9_-]")
#: ECS tag values: at most 256 characters of letters, numbers, spaces and `_.:/=+-@`.
MAX_TAG_VALUE = 256
_TAG_VALUE_BAD = re.compile(r"[^\w .:/=+\-@]")
MAX_GROUP = 255
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
    """The id itself when it is at most 36 of `[A-Za-z0-9_-]`, else `<cleaned prefix>/<hash of the id>`.

    The `/` (which ECS allows, and an id kept as-is never contains) marks a derived value: the
    reconciler never reads an execution id back from such a `startedBy`.
    """
    if len(execution_id) <= MAX_STARTED_BY and not _STARTED_BY_BAD.search(execution_id):
        return execution_id
    digest = hashlib.sha256(execution_id.encode("utf-8")).hexdigest()[:16]
    clean = _STARTED_BY_BAD.sub("-", execution_id)
    return f"{clean[: MAX_STARTED_BY - len(digest) - 1]}/{digest}"


def client_token_for(execution_id: str) -> str:
    """RunTask's idempotency token: 64 hex characters, the same for every delivery of one request."""
    return hashlib.sha256(f"datahub-execution-request:{execution_id}".encode()).hexdigest()


def group_for(ingestion_source_urn: str | None) -> str:
    source_id = "adhoc"
    if ingestion_source_urn and ingestion_source_urn.startswith(INGESTION_SOURCE_PREFIX):
        source_id = ingestion_source_urn[len(INGESTION_SOURCE_PREFIX) :] or "adhoc"
    return _GROUP_BAD.sub("_", f"{TASK_GROUP_PREFIX}{source_id}")[:MAX_GROUP]


def utf16_prefix(value: str, limit: int) -> str:
    """The longest prefix of `value` of at most `limit` UTF-16 code units (how AWS's Java services count)."""
    if len(value.encode("utf-16-le")) <= 2 * limit:
        return value
    out, used = [], 0
    for char in value:
        units = 2 if ord(char) > 0xFFFF else 1
        if used + units > limit:
            break
        out.append(char)
        used += units
    return "".join(out)


def tag_value(value: str) -> str:
    """A tag value ECS accepts: other characters become `_`, cut to 256 characters (a console aid, not a key)."""
    return utf16_prefix(_TAG_VALUE_BAD.sub("_", value), MAX_TAG_VALUE)


def run_spec_for(run: ValidatedRun, settings: DispatcherSettings, launched_at_ms: int | None = None) -> RunSpec:
    aspect = run.command.aspect
    return RunSpec(
        execution_request_urn=run.urn,
        execution_id=run.execution_id,
        task=run.task,
        recipe=run.args.recipe,
        secret_names=run.secret_names,
        datahub_secret_names=run.datahub_secret_names,
        secret_name_prefix=settings.secret_name_prefix if run.datahub_secret_names else None,
        version=run.args.version,
        debug_mode=run.args.debug_mode,
        extra_pip_requirements=run.args.extra_pip_requirements,
        extra_pip_plugins=run.args.extra_pip_plugins,
        ingestion_source_urn=aspect.source.ingestionSource,
        source_type=run.source_type,
        executor_id=settings.executor_id,
        run_timeout_seconds=run.run_timeout_seconds,
        task_cpu=run.size.cpu,
        task_memory=run.size.memory,
        requested_at=aspect.requestedAt,
        actor_urn=aspect.actorUrn,
        extra_env_vars=dict(run.child_env),
        launched_at_ms=launched_at_ms,
        notes=list(run.notes),
    )


def _overrides(run: ValidatedRun, settings: DispatcherSettings, spec_env: tuple[str, str]) -> dict[str, Any]:
    """Only the runner's own wiring: the child's env vars travel inside the spec, never as container env."""
    environment = [
        {"name": spec_env[0], "value": spec_env[1]},
        {"name": ENV_EXECUTION_REQUEST_URN, "value": run.urn},
        {"name": ENV_RUN_TIMEOUT, "value": str(run.run_timeout_seconds)},
    ]
    return {
        "containerOverrides": [
            {
                "name": RUNNER_CONTAINER_NAME,
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
    """The characters of `overrides` as sent: botocore's JSON protocol writes `json.dumps(body)`.

    That is json's default separators and ASCII escapes (`\\uXXXX`), the longest form ECS could
    count, so a plan within 8192 here is within ECS's limit however ECS counts.
    """
    return len(json.dumps(overrides))


def plan_launch(
    run: ValidatedRun, settings: DispatcherSettings, task_definition_arn: str, launched_at_ms: int | None = None
) -> LaunchPlan:
    """The RunTask request for `run`; PermanentError when even the S3 form cannot fit ECS's limit."""
    spec_json = run_spec_for(run, settings, launched_at_ms).model_dump_json(exclude_none=True)
    spec_object: SpecObject | None = None
    overrides = _overrides(run, settings, (ENV_RUN_SPEC, spec_json))
    if overrides_length(overrides) > OVERRIDES_LIMIT_CHARS:
        spec_object = SpecObject(
            bucket=settings.run_bucket, key=run_object_key(run.execution_id, SPEC_OBJECT_NAME), body=spec_json
        )
        overrides = _overrides(run, settings, (ENV_RUN_SPEC_URI, spec_object.uri))
    length = overrides_length(overrides)
    if length > OVERRIDES_LIMIT_CHARS:
        # Only the URN is unbounded once the spec travels through S3.
        raise PermanentError(
            f"The execution request's URN is {len(run.urn)} characters long: the task overrides that must "
            f"carry it would take {length} characters, over ECS's {OVERRIDES_LIMIT_CHARS}-character limit."
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
    request.update(capacity_fields(capacity_provider_for(run, settings)))
    return LaunchPlan(request=request, spec_object=spec_object, overrides_chars=length)
