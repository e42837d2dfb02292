"""plan_launch and the texts sent to DataHub: pure, so every field is checked here.

The request is also checked against botocore's own RunTask model (a stubbed client validates it)
and against the limits the model does not carry (startedBy <= 36, overrides <= 8192 as sent,
tag values <= 256), with long and unicode ids.
"""

from __future__ import annotations

import json
import re

import pytest
from dispatcher.planner import (
    OVERRIDES_LIMIT_CHARS,
    client_token_for,
    group_for,
    overrides_length,
    plan_launch,
    started_by_for,
    tag_value,
)
from dispatcher.report import log_console_url, running_result
from dispatcher.validation import validate_run
from dispatcher_unit_helpers import make_run_command, make_settings
from executor_common.errors import PermanentError

from tests.conftest import load_event

TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/datahub-executor-runner-sabc:1"


def _plan(settings=None, launched_at_ms=1_764_140_000_123, **kwargs):
    settings = settings or make_settings()
    return plan_launch(validate_run(make_run_command(**kwargs), settings), settings, TASK_DEF, launched_at_ms)


def _assert_ecs_accepts(request: dict) -> None:
    """botocore validates the request against ECS's model; then the documented limits the model lacks."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("run_task", {"tasks": [], "failures": []}, {"cluster": "c", **request})
        client.run_task(cluster="c", **request)
    assert len(request["startedBy"]) <= 36 and re.fullmatch(r"[A-Za-z0-9_/-]+", request["startedBy"])
    assert len(json.dumps(request["overrides"])) <= OVERRIDES_LIMIT_CHARS
    assert len(request["group"]) <= 255
    for tag in request["tags"]:
        assert len(tag["value"].encode("utf-16-le")) <= 2 * 256
        assert re.fullmatch(r"[\w .:/=+\-@]*", tag["value"])


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
        ("manual_1764140000000", "manual_1764140000000"),
        ("x" * 36, "x" * 36),
    ],
)
def test_started_by_keeps_allowed_ids(execution_id, expected):
    assert started_by_for(execution_id) == expected


@pytest.mark.parametrize(
    "execution_id",
    [
        "run:1" + "x" * 200,
        "ingestion-source-b5e3a8e4-2026-11-26T10:00:00Z",
        "x" * 37,
        "数据" * 30,
        "😀",
        "scheduled_2026/11/26",
    ],
)
def test_started_by_is_at_most_36_allowed_characters_and_distinct(execution_id):
    started_by = started_by_for(execution_id)
    assert len(started_by) <= 36
    assert re.fullmatch(r"[A-Za-z0-9_/-]+", started_by)
    assert started_by != started_by_for(execution_id + "x")
    # a derived value carries a "/", so the reconciler never reads it back as an execution id
    assert "/" in started_by


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
    # only the runner's own wiring: the child's env vars travel inside the spec, never as container env
    names = [e["name"] for e in container["environment"]]
    assert names == ["EXECUTOR_RUN_SPEC", "EXECUTOR_EXECUTION_REQUEST_URN", "EXECUTOR_RUN_TIMEOUT_SECONDS"]
    spec = json.loads(container["environment"][0]["value"])
    assert spec["extra_env_vars"] == {"DATAHUB_TELEMETRY_ENABLED": "false", "TZ": "UTC"}
    assert spec["launched_at_ms"] == 1_764_140_000_123
    assert "capacityProviderStrategy" not in request and plan.spec_object is None
    _assert_ecs_accepts(request)


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
    assert plan.overrides_chars == overrides_length(plan.request["overrides"])
    _assert_ecs_accepts(plan.request)


def test_plan_launch_many_env_vars_travel_in_the_spec_through_s3_not_a_failure():
    # GIVEN 20 env vars of 500 characters (10 KB: more than any override could hold)
    env = {f"VAR_{i}": "v" * 500 for i in range(20)}
    plan = _plan(env=env)
    assert plan.spec_object is not None
    assert json.loads(plan.spec_object.body)["extra_env_vars"]["VAR_19"] == "v" * 500
    _assert_ecs_accepts(plan.request)


def test_plan_launch_overrides_up_to_ecs_limit_stay_inline():
    # GIVEN 40 env vars of 150 characters: more than the old 7,000 budget, within what ECS accepts
    env = {f"VAR_{i:02d}": "v" * 150 for i in range(40)}
    plan = _plan(env=env)
    assert plan.spec_object is None
    assert 7000 < plan.overrides_chars <= 8192
    _assert_ecs_accepts(plan.request)


def test_overrides_length_is_what_botocore_sends():
    # GIVEN a plan with non-ASCII and quoted values; botocore's own serializer builds the RunTask body
    import botocore.session
    from botocore.serialize import create_serializer

    plan = _plan(env={"GREETING": 'grüße 😀 "quoted"'})
    model = botocore.session.get_session().get_service_model("ecs").operation_model("RunTask")
    body = create_serializer("json").serialize_to_request({"cluster": "c", **plan.request}, model)["body"]

    # THEN the overrides, as they appear in the bytes sent, measure exactly what the plan says
    sent = json.loads(body)["overrides"]
    assert json.dumps(sent) in body.decode("ascii")
    assert plan.overrides_chars == len(json.dumps(sent))


def test_plan_launch_urn_too_long_even_for_s3_is_a_named_failure_with_the_real_limit():
    with pytest.raises(PermanentError, match="over ECS's 8192-character limit") as caught:
        _plan(execution_id="x" * 9000)
    assert "URN is 9031 characters long" in caught.value.reason


@pytest.mark.parametrize(
    "execution_id",
    ["x" * 2000, "数据" * 300, "run_1/ä:ö@😀" * 60],
    ids=["ascii-2000", "cjk-600", "mixed-unicode"],
)
def test_plan_launch_long_and_unicode_ids_give_a_request_ecs_accepts(execution_id):
    plan = _plan(execution_id=execution_id)
    _assert_ecs_accepts(plan.request)
    if plan.spec_object is not None:
        assert len(plan.spec_object.key.encode("utf-8")) <= 1024


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("urn:li:dataHubExecutionRequest:abc", "urn:li:dataHubExecutionRequest:abc"),
        ("a,b;c", "a_b_c"),
        ("数据", "数据"),
        ("x" * 300, "x" * 256),
        ("😀" * 200, ""),  # not a letter or number: replaced, then bounded
    ],
)
def test_tag_value_table(value, expected):
    assert tag_value(value) == (expected or "_" * 200)


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
