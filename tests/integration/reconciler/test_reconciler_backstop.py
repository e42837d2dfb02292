"""The backstop stops exactly the over-time runs' tasks; the reconciler then explains the timeout."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from executor_common.runspec import TAG_EXECUTION_REQUEST, TAG_RUN_TIMEOUT
from moto.ecs.models import ecs_backends
from reconciler_stack import CLUSTER, REGION

from local_stack.event_shapes import task_state_change_event
from tests.conftest import load_event
from tests.support.aws_harness import ACCOUNT_ID as ACCOUNT


@pytest.fixture
def cluster(reconciler_stack):
    """GIVEN the runner cluster (moto) with a runner task definition."""
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=CLUSTER)
    arn = ecs.register_task_definition(
        family="datahub-remote-executor-runner",
        containerDefinitions=[{"name": "runner", "image": "example/runner:1", "memory": 4096, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    return ecs, arn


def _run(ecs, task_definition, *, name: str, age: timedelta, timeout: str | None = "86400", ours: bool = True) -> str:
    urn = f"urn:li:dataHubExecutionRequest:{name}"
    tags = [{"key": TAG_EXECUTION_REQUEST, "value": urn}] if ours else [{"key": "team", "value": "web"}]
    if ours and timeout:
        tags.append({"key": TAG_RUN_TIMEOUT, "value": timeout})
    env = [{"name": "EXECUTOR_EXECUTION_REQUEST_URN", "value": urn}] if ours else []
    task = ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=task_definition,
        launchType="FARGATE",
        startedBy=name if ours else "ecs-svc/123",
        group="ingestion:source-1" if ours else "service:web",
        overrides={"containerOverrides": [{"name": "runner", "environment": env}]},
        tags=tags,
    )["tasks"][0]
    # moto has no startedAt: set it on its task object, as ECS would have
    backend = ecs_backends[ACCOUNT][REGION]
    backend.tasks[CLUSTER][task["taskArn"]].started_at = datetime.now(UTC) - age
    return task["taskArn"]


def _describe(ecs, arn: str) -> dict:
    return ecs.describe_tasks(cluster=CLUSTER, tasks=[arn], include=["TAGS"])["tasks"][0]


def test_backstop_stops_only_tasks_past_their_timeout(reconciler_stack, cluster, capsys):
    ecs, task_definition = cluster
    over = _run(ecs, task_definition, name="over", age=timedelta(hours=26))
    short = _run(ecs, task_definition, name="short", age=timedelta(hours=2), timeout="3600")
    young = _run(ecs, task_definition, name="young", age=timedelta(hours=1))
    in_grace = _run(ecs, task_definition, name="in-grace", age=timedelta(hours=24, minutes=10))
    stranger = _run(ecs, task_definition, name="stranger", age=timedelta(days=30), ours=False)

    response = reconciler_stack.invoke_backstop(load_event("backstop_schedule.json"))

    assert sorted(response["stopped"]) == sorted([over, short])
    for arn in (over, short):
        stopped = _describe(ecs, arn)
        assert stopped["desiredStatus"] == "STOPPED"
        assert stopped["stoppedReason"].startswith("Stopped by the executor's backstop: running for ")
    assert "running for 1d 2h" in _describe(ecs, over)["stoppedReason"]
    assert "longer than its timeout 1h (+15m grace)" in _describe(ecs, short)["stoppedReason"]
    for arn in (young, in_grace, stranger):
        assert _describe(ecs, arn)["desiredStatus"] == "RUNNING"
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["BackstopStops"] for m in metrics if "BackstopStops" in m] == [[1.0], [1.0]]


def test_backstop_stop_is_reconciled_as_timed_out(reconciler_stack, cluster):
    # GIVEN a run DataHub shows RUNNING whose runner hung past its timeout
    ecs, task_definition = cluster
    arn = _run(ecs, task_definition, name="hung", age=timedelta(hours=30))
    urn = "urn:li:dataHubExecutionRequest:hung"
    reconciler_stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 1})
    reconciler_stack.put_run_log(arn.rsplit("/", 1)[-1], ["[ingest] waiting for the warehouse to answer..."])

    # WHEN the backstop stops it and ECS reports the STOPPED task
    reconciler_stack.invoke_backstop(load_event("backstop_schedule.json"))
    stopped = _describe(ecs, arn) | {"lastStatus": "STOPPED", "stopCode": "UserInitiated"}
    event = task_state_change_event(stopped, account=ACCOUNT, region=REGION, version=7)
    reconciler_stack.invoke(event)

    # THEN DataHub shows FAILURE explained as a timeout, with the log's last line
    result = reconciler_stack.gms.result(urn)
    assert result["status"] == "FAILURE"
    assert "The run timed out" in result["report"]
    assert "waiting for the warehouse to answer" in result["report"]


def test_backstop_with_no_tasks_stops_nothing(reconciler_stack, cluster):
    assert reconciler_stack.invoke_backstop(load_event("backstop_schedule.json")) == {"stopped": []}
