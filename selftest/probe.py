"""Send one TEST_CONNECTION and watch it through AWS (SQS, ECS) and DataHub (the result aspect).

The same probe serves a deployed stack (clients from the caller's AWS credentials, GMS with the
stack's token) and the local stack (clients bound to moto, the GMS stand-in).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from executor_common.aws.logs import LogsAdapter
from executor_common.errors import RetryableError
from executor_common.log_streams import runner_log_stream
from executor_common.runspec import RUNNER_CONTAINER_NAME

from selftest.hops import TERMINAL, Observations, gms_unreachable_from_task

EXECUTION_REQUEST_URN_PREFIX = "urn:li:dataHubExecutionRequest:"
URN_ENV = "EXECUTOR_EXECUTION_REQUEST_URN"
#: A source every runner image has; the connection test's own verdict does not matter, only that one comes back.
DEFAULT_RECIPE: dict[str, Any] = {
    "source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": "sqlite:///:memory:"}}
}


def test_connection_command(urn: str, recipe: dict[str, Any], executor_id: str) -> dict[str, Any]:
    """A TEST_CONNECTION request as DataHub's UI creates it ("Test Connection" in the source's wizard)."""
    return {
        "entityUrn": urn,
        "aspectName": "dataHubExecutionRequestInput",
        "aspect": {
            "task": "TEST_CONNECTION",
            "args": {"recipe": json.dumps(recipe), "extra_env_vars": "{}", "extra_pip_requirements": "[]"},
            "executorId": executor_id,
            "source": {"type": "CLI_INGESTION_SOURCE"},
            "requestedAt": int(time.time() * 1000),
        },
    }


def _task_of(ecs: Any, cluster: str, urn: str) -> dict[str, Any] | None:
    execution_id = urn.removeprefix(EXECUTION_REQUEST_URN_PREFIX)
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus=status):
            arns += page.get("taskArns", [])
    for start in range(0, len(arns), 100):
        for task in ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100]).get("tasks", []):
            env = [
                pair
                for override in (task.get("overrides") or {}).get("containerOverrides") or []
                for pair in override.get("environment") or []
            ]
            if task.get("startedBy") == execution_id or any(
                p.get("name") == URN_ENV and p.get("value") == urn for p in env
            ):
                return task
    return None


#: Enough of the runner's log to hold its GMS errors (it is short for a TEST_CONNECTION).
RUNNER_LOG_LINES = 200


def log_location(ecs: Any, task_definition_arn: str) -> tuple[str, str] | None:
    """(log group, stream prefix) of the runner container, from its task definition's awslogs options."""
    definition = ecs.describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    container = next(
        (c for c in definition.get("containerDefinitions", []) if c.get("name") == RUNNER_CONTAINER_NAME), {}
    )
    options = (container.get("logConfiguration") or {}).get("options") or {}
    # Fargate requires the prefix with awslogs; without either there is no stream to read.
    if not options.get("awslogs-group") or not options.get("awslogs-stream-prefix"):
        return None
    return options["awslogs-group"], options["awslogs-stream-prefix"]


def runner_log(logs: Any, location: tuple[str, str], task_arn: str) -> list[str]:
    """The last lines the task's runner printed ([] when there are none yet or the log cannot be read)."""
    group, prefix = location
    try:
        return LogsAdapter(logs).tail(group, runner_log_stream(prefix, task_arn), RUNNER_LOG_LINES)
    except RetryableError:  # e.g. the caller may not logs:GetLogEvents: judge without the log
        return []


def probe(
    *,
    sqs: Any,
    ecs: Any,
    queue_url: str,
    cluster: str,
    read_result: Callable[[str], Any],
    logs: Any | None = None,
    executor_id: str = "remote",
    recipe: dict[str, Any] | None = None,
    timeout: float = 600.0,
    on_step: Callable[[str], None] = lambda _: None,
) -> Observations:
    """Send, then watch until DataHub shows a terminal status, the runner's log shows it cannot reach GMS,
    or `timeout`; returns what was seen. `logs`: a CloudWatch Logs client, to read the runner's log."""
    urn = f"{EXECUTION_REQUEST_URN_PREFIX}selftest-{uuid.uuid4()}"
    seen = Observations()
    on_step(f"sending TEST_CONNECTION {urn}")
    try:
        command = test_connection_command(urn, recipe or DEFAULT_RECIPE, executor_id)
        seen.message_id = sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(command))["MessageId"]
    except Exception as exc:  # the hop says what failed; the probe stops here
        on_step(f"SendMessage failed: {type(exc).__name__}: {exc}")
        return seen
    deadline = time.monotonic() + timeout
    locations: dict[str, tuple[str, str] | None] = {}
    while time.monotonic() < deadline:
        result = read_result(urn)
        if result is not None:
            entry = (str(result.status), result.report or "")
            if not seen.datahub or seen.datahub[-1] != entry:
                seen.datahub.append(entry)
                on_step(f"DataHub shows {entry[0]}")
        task = _task_of(ecs, cluster, urn)
        if task is not None:
            seen.task = task
            if logs is not None:
                arn = task["taskDefinitionArn"]
                if arn not in locations:
                    locations[arn] = log_location(ecs, arn)
                location = locations[arn]
                seen.runner_log = runner_log(logs, location, task["taskArn"]) if location else []
        if seen.datahub and seen.datahub[-1][0] in TERMINAL:
            break
        if gms_unreachable_from_task(seen):
            on_step("the runner's log says it cannot reach DataHub GMS")
            break
        time.sleep(1.0)
    return seen
