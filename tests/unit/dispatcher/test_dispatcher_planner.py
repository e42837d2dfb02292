"""plan_launch and the texts sent to DataHub: pure, so every field is checked here."""

from __future__ import annotations

import json

import pytest
from dispatcher.planner import (
    INLINE_SPEC_BUDGET_CHARS,
    client_token_for,
    group_for,
    log_console_url,
    plan_launch,
    running_result,
    started_by_for,
)
from dispatcher.validation import validate_run
from dispatcher_unit_helpers import make_run_command, make_settings
from executor_common.errors import PermanentError

from tests.conftest import load_event

TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/datahub-executor-runner-sabc:1"


def _plan(settings=None, **kwargs):
    settings = settings or make_settings()
    return plan_launch(validate_run(make_run_command(**kwargs), settings), settings, TASK_DEF)


def test_client_token_is_deterministic_64_hex_from_the_execution_id():
    token = client_token_for("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f")
    assert token == "2d8f26c4c86056a5b9c6e7f1a6ae1fa96cf0dfd8862e03992e856681ecda7dab"
    assert token == client_token_for("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f")
    assert len(token) == 64 and int(token, 16) >= 0
    assert token != client_token_for("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e70")


def test_client_token_value_is_sha256_of_a_namespaced_id():
    import hashlib

    expected = hashlib.sha256(b"datahub-execution-request:abc").hexdigest()
    assert client_token_for("abc") == expected


@pytest.mark.parametrize(
    ("execution_id", "expected"),
    [
        ("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f", "3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"),
        ("scheduled_2026/11/26", "scheduled_2026/11/26"),
    ],
)
def test_started_by_keeps_allowed_ids(execution_id, expected):
    assert started_by_for(execution_id) == expected


def test_started_by_sanitizes_and_bounds_with_a_distinguishing_hash():
    a, b = started_by_for("run:1" + "x" * 200), started_by_for("run.1" + "x" * 200)
    assert len(a) <= 128 and len(b) <= 128 and a != b
    assert set(a) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/")


@pytest.mark.parametrize(
    ("source", "group"),
    [("urn:li:dataHubIngestionSource:b5e3", "ingestion:b5e3"), (None, "ingestion:adhoc"), ("weird", "ingestion:adhoc")],
)
def test_group_names_the_ingestion_source(source, group):
    assert group_for(source) == group


def test_plan_launch_request_shape():
    plan = _plan(env={"TZ": "UTC"})
    request = plan.request
    assert request["taskDefinition"] == TASK_DEF
    assert request["count"] == 1 and request["launchType"] == "FARGATE"
    assert request["enableECSManagedTags"] is True
    assert request["clientToken"] == client_token_for("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f")
    assert request["networkConfiguration"] == {
        "awsvpcConfiguration": {
            "subnets": ["subnet-1", "subnet-2"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": "DISABLED",
        }
    }
    container = request["overrides"]["containerOverrides"][0]
    assert container["name"] == "runner" and container["memory"] == 4096
    names = [e["name"] for e in container["environment"]]
    assert names == [
        "EXECUTOR_RUN_SPEC",
        "EXECUTOR_EXECUTION_REQUEST_URN",
        "EXECUTOR_RUN_TIMEOUT_SECONDS",
        "EXECUTOR_CHILD_ENV_NAMES",
        "DATAHUB_TELEMETRY_ENABLED",
        "TZ",
    ]
    assert "capacityProviderStrategy" not in request and plan.spec_object is None


def test_plan_launch_fargate_spot_uses_a_strategy_not_a_launch_type():
    request = _plan(make_settings(capacity_provider="FARGATE_SPOT")).request
    assert request["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert "launchType" not in request


def test_plan_launch_large_recipe_goes_to_s3_and_overrides_stay_under_8192():
    body = json.loads(load_event("large_recipe.json")["Records"][0]["body"])
    recipe = body["aspect"]["args"]["recipe"]
    plan = _plan(recipe=recipe, execution_id="6a7b8c9d")
    assert plan.spec_object is not None
    assert plan.spec_object.key == "runs/6a7b8c9d/spec.json" and plan.spec_object.bucket == "runs-bucket"
    assert json.loads(plan.spec_object.body)["recipe"] == recipe
    assert len(json.dumps(plan.request["overrides"])) <= 8192
    assert plan.overrides_chars <= INLINE_SPEC_BUDGET_CHARS


def test_plan_launch_env_too_large_even_for_s3_is_a_named_failure():
    env = {f"VAR_{i}": "v" * 500 for i in range(20)}
    with pytest.raises(PermanentError, match="exceed the 8192-character limit"):
        _plan(env=env)


def test_log_console_url_encodes_like_the_console():
    settings = make_settings(log_group_name="/datahub-executor/runner", aws_region="eu-west-1")
    url = log_console_url(settings, "arn:aws:ecs:eu-west-1:1:task/cluster/abc123")
    assert url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        "$252Fdatahub-executor$252Frunner/log-events/runs$252Frunner$252Fabc123"
    )


def test_running_result_names_task_cluster_size_and_link():
    settings = make_settings()
    run = validate_run(make_run_command(), settings)
    result = running_result(run, settings, "arn:aws:ecs:us-east-1:1:task/c/t1", 1_764_140_000_000)
    assert result.status == "RUNNING" and result.startTimeMs == 1_764_140_000_000
    assert "arn:aws:ecs:us-east-1:1:task/c/t1" in result.report
    assert "Cluster: datahub-executor-RunnerCluster" in result.report
    assert "CPU 1024, memory 4096 MiB" in result.report and "logsV2:log-groups" in result.report
