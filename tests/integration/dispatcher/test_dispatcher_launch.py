"""Behaviours 4 and 6: one RunTask per run, shaped as agreed, then RUNNING in DataHub."""

from __future__ import annotations

import json

import pytest
from dispatcher_helpers import (
    BUCKET,
    CLUSTER,
    FAMILY,
    LOG_GROUP,
    PG_RECIPE,
    SQLITE_RECIPE,
    env_of,
    failed_ids,
    run_body,
    sqs_event,
    urn_of,
)

from tests.conftest import load_event

RUN_URN = "urn:li:dataHubExecutionRequest:3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"
SOURCE_URN = "urn:li:dataHubIngestionSource:b5e3a8e4-3c1f-4d5e-9a7b-2f6c8d9e0a11"


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_run_ingest_launches_one_task_shaped_as_agreed(dispatcher_stack):
    # GIVEN events/run_ingest.json: a postgres recipe using ${PG_PASSWORD}, CPU 2048 / memory 8192, TZ=UTC
    response = dispatcher_stack.invoke(load_event("run_ingest.json"))

    # THEN exactly one task runs, tagged and grouped so the console can find it
    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert task["startedBy"] == "3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"
    assert task["group"] == "ingestion:b5e3a8e4-3c1f-4d5e-9a7b-2f6c8d9e0a11"
    assert task["launchType"] == "FARGATE"
    assert {t["key"]: t["value"] for t in task["tags"]} == {
        "datahub:execution-request": RUN_URN,
        "datahub:ingestion-source": SOURCE_URN,
        "datahub:executor-id": "remote",
        "datahub:source-type": "postgres",
        "datahub:run-timeout-seconds": "86400",
    }
    # AND the per-run size comes from the source's extra env vars
    overrides = task["overrides"]
    assert (overrides["cpu"], overrides["memory"], overrides["ephemeralStorage"]) == ("2048", "8192", {"sizeInGiB": 21})
    # AND the runner gets its spec inline plus the child's env vars (the stack's and the request's, not the sizes)
    env = env_of(task)
    assert env["EXECUTOR_EXECUTION_REQUEST_URN"] == RUN_URN
    assert env["EXECUTOR_RUN_TIMEOUT_SECONDS"] == "86400"
    assert env["EXECUTOR_CHILD_ENV_NAMES"] == "DATAHUB_TELEMETRY_ENABLED,TZ"
    assert (env["TZ"], env["DATAHUB_TELEMETRY_ENABLED"]) == ("UTC", "false")
    assert "EXECUTOR_TASK_CPU" not in env
    spec = json.loads(env["EXECUTOR_RUN_SPEC"])
    assert spec["secret_names"] == ["PG_PASSWORD"]
    assert spec["task"] == "RUN_INGEST" and spec["source_type"] == "postgres"
    assert json.loads(spec["recipe"])["source"]["config"]["password"] == "${PG_PASSWORD}"


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_secret_recipe_runs_on_a_derived_revision_holding_only_referenced_secrets(dispatcher_stack):
    dispatcher_stack.invoke(load_event("run_ingest.json"))

    (task,) = dispatcher_stack.tasks()
    described = dispatcher_stack.ecs.describe_task_definition(
        taskDefinition=task["taskDefinitionArn"], include=["TAGS"]
    )
    definition = described["taskDefinition"]
    assert definition["family"].startswith(f"{FAMILY}-s") and len(definition["family"]) == len(FAMILY) + 14
    runner = definition["containerDefinitions"][0]
    assert runner["secrets"] == [
        {"name": "DATAHUB_GMS_TOKEN", "valueFrom": dispatcher_stack.secret_arns["DATAHUB_GMS_TOKEN"]},
        {"name": "PG_PASSWORD", "valueFrom": dispatcher_stack.secret_arns["PG_PASSWORD"]},
    ]
    # AND everything else is the base's (image, logging, user, roles)
    base = dispatcher_stack.ecs.describe_task_definition(taskDefinition=dispatcher_stack.base_task_definition_arn)
    base_runner = base["taskDefinition"]["containerDefinitions"][0]
    assert (runner["image"], runner["logConfiguration"], runner["user"]) == (
        base_runner["image"],
        base_runner["logConfiguration"],
        base_runner["user"],
    )
    assert definition["executionRoleArn"] == base["taskDefinition"]["executionRoleArn"]
    assert {t["key"]: t["value"] for t in described["tags"]} == {
        "datahub:derived-from": dispatcher_stack.base_task_definition_arn,
        "datahub:secret-names": "PG_PASSWORD",
    }


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_same_secret_set_reuses_one_revision_and_no_secret_uses_the_base(dispatcher_stack):
    # GIVEN three runs: two with the same secret set, one without secrets
    event = sqs_event(run_body("run-a", PG_RECIPE), run_body("run-b", PG_RECIPE), run_body("run-c", SQLITE_RECIPE))

    dispatcher_stack.invoke(event)

    tasks = {t["startedBy"]: t for t in dispatcher_stack.tasks()}
    assert tasks["run-a"]["taskDefinitionArn"] == tasks["run-b"]["taskDefinitionArn"]
    assert tasks["run-c"]["taskDefinitionArn"] == dispatcher_stack.base_task_definition_arn
    # AND only one derived revision exists, even after a cold start (a new container finds it ACTIVE)
    from dispatcher.handler import dependencies

    dependencies.cache_clear()
    dispatcher_stack.invoke(sqs_event(run_body("run-d", PG_RECIPE)))
    families = dispatcher_stack.task_definition_families()
    assert sorted(families) == sorted([f"{FAMILY}:1", tasks["run-a"]["taskDefinitionArn"].rsplit("/", 1)[-1]])


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_large_recipe_travels_through_the_run_bucket_within_the_overrides_limit(dispatcher_stack):
    # GIVEN events/large_recipe.json: a 50 KB recipe
    event = load_event("large_recipe.json")
    body = json.loads(event["Records"][0]["body"])
    assert len(body["aspect"]["args"]["recipe"]) >= 50_000

    response = dispatcher_stack.invoke(event)

    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert len(json.dumps(task["overrides"])) <= 8192
    env = env_of(task)
    assert "EXECUTOR_RUN_SPEC" not in env
    key = "runs/6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d/spec.json"
    assert env["EXECUTOR_RUN_SPEC_URI"] == f"s3://{BUCKET}/{key}"
    stored = dispatcher_stack.s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["ServerSideEncryption"] == "AES256"
    spec = json.loads(stored["Body"].read())
    assert spec["recipe"] == body["aspect"]["args"]["recipe"]  # whole, never truncated
    assert spec["secret_names"] == ["PG_PASSWORD"]


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_test_connection_launches_with_the_adhoc_group(dispatcher_stack):
    dispatcher_stack.invoke(load_event("test_connection.json"))

    (task,) = dispatcher_stack.tasks()
    assert task["group"] == "ingestion:adhoc"
    assert json.loads(env_of(task)["EXECUTOR_RUN_SPEC"])["task"] == "TEST_CONNECTION"
    assert {t["key"]: t["value"] for t in task["tags"]}["datahub:ingestion-source"] == "adhoc"


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_after_launch_writes_running_with_task_cluster_size_and_log_link(dispatcher_stack):
    dispatcher_stack.invoke(load_event("run_ingest.json"))

    (task,) = dispatcher_stack.tasks()
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    (result,) = dispatcher_stack.gms.history(RUN_URN)
    assert result["status"] == "RUNNING"
    assert isinstance(result["startTimeMs"], int) and result["startTimeMs"] > 1_700_000_000_000
    report = result["report"]
    assert task["taskArn"] in report
    assert f"Cluster: {CLUSTER}" in report
    assert "CPU 2048, memory 8192 MiB" in report
    encoded_group = LOG_GROUP.replace("/", "$252F")
    assert (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/"
        f"{encoded_group}/log-events/runs$252Frunner$252F{task_id}"
    ) in report


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_gms_down_after_launch_consumes_the_record_and_keeps_the_task(dispatcher_stack):
    # GIVEN GMS accepts the status read but refuses every write
    dispatcher_stack.gms.fail_next(100, status=503, path_contains="ingestProposal")

    response = dispatcher_stack.invoke(load_event("run_ingest.json"))

    # THEN the record is consumed (the runner writes RUNNING itself), the task stays, a warning is logged
    assert failed_ids(response) == []
    assert len(dispatcher_stack.tasks()) == 1
    assert dispatcher_stack.gms.result(RUN_URN) is None
    assert any(
        r["level"] == "WARNING" and "could not write RUNNING" in r["message"] for r in dispatcher_stack.log_records()
    )


def test_handler_run_already_finished_in_datahub_launches_nothing(dispatcher_stack):
    # GIVEN DataHub already shows the run CANCELLED (the cancel overtook the run message)
    execution_id = "finished-before-launch"
    dispatcher_stack.gms.seed_result(urn_of(execution_id), {"status": "CANCELLED", "report": "Cancelled"})

    response = dispatcher_stack.invoke(sqs_event(run_body(execution_id)))

    assert failed_ids(response) == []
    assert dispatcher_stack.tasks() == []
    assert dispatcher_stack.gms.result(urn_of(execution_id))["status"] == "CANCELLED"


@pytest.mark.xfail(strict=False, reason="fixed on branch aws: ListTasks with startedBy and desiredStatus")
def test_handler_fargate_spot_uses_a_capacity_provider_strategy(dispatcher_stack, monkeypatch):
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    monkeypatch.setenv("CAPACITY_PROVIDER", "FARGATE_SPOT")
    get_settings.cache_clear()
    dependencies.cache_clear()
    dispatcher_stack.ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=[]
    )

    dispatcher_stack.invoke(sqs_event(run_body("spot-run")))

    (task,) = dispatcher_stack.tasks()
    assert task["capacityProviderName"] == "FARGATE_SPOT"
