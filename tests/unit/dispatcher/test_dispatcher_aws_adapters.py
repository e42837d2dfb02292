"""The ECS, Secrets Manager and S3 adapters: exact request shapes, proven with botocore's Stubber (no network)."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from executor_common.aws.ecs import EcsAdapter, is_concurrent_revision_error
from executor_common.aws.s3 import S3Adapter
from executor_common.aws.secretsmanager import SecretsManagerAdapter

CLUSTER = "datahub-executor-RunnerCluster"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/datahub-executor-RunnerCluster/abc"
PG_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dh/PG-AbCdEf"
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/runner-s123:1"


def _client(service: str):
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x", aws_session_token="x"
    )


@pytest.fixture
def ecs():
    client = _client("ecs")
    with Stubber(client) as stub:
        sleeps: list[float] = []
        yield EcsAdapter(client, CLUSTER, sleep=sleeps.append), stub, sleeps
        stub.assert_no_pending_responses()


def test_ecs_run_task_sends_the_cluster_and_the_plan(ecs):
    adapter, stub, _ = ecs
    request = {"taskDefinition": TD_ARN, "count": 1, "startedBy": "run-1", "clientToken": "t" * 64}
    stub.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []}, {"cluster": CLUSTER, **request})
    assert adapter.run_task(request) == {"tasks": [{"taskArn": TASK_ARN}], "failures": []}


def test_ecs_list_active_tasks_started_by_pages_through_results(ecs):
    adapter, stub, _ = ecs
    expected = {"cluster": CLUSTER, "startedBy": "run-1", "desiredStatus": "RUNNING"}
    stub.add_response("list_tasks", {"taskArns": [TASK_ARN], "nextToken": "n1"}, expected)
    stub.add_response("list_tasks", {"taskArns": [TASK_ARN + "2"]}, {**expected, "nextToken": "n1"})
    assert adapter.list_active_tasks_started_by("run-1") == [TASK_ARN, TASK_ARN + "2"]


def test_ecs_stop_task_bounds_the_reason_to_255_characters(ecs):
    adapter, stub, _ = ecs
    reason = "Cancelled in DataHub by urn:li:corpuser:" + "x" * 400
    stub.add_response(
        "stop_task", {"task": {"taskArn": TASK_ARN}}, {"cluster": CLUSTER, "task": TASK_ARN, "reason": reason[:255]}
    )
    assert adapter.stop_task(TASK_ARN, reason)["taskArn"] == TASK_ARN


def test_ecs_register_rides_out_concurrent_revision_errors_with_jittered_backoff(ecs):
    adapter, stub, sleeps = ecs
    message = "Too many concurrent attempts to create a new revision of the specified family."
    for _ in range(2):
        stub.add_client_error("register_task_definition", service_error_code="ClientException", service_message=message)
    stub.add_response(
        "register_task_definition",
        {"taskDefinition": {"taskDefinitionArn": TD_ARN}},
        {"family": "runner-s123", "containerDefinitions": ANY, "tags": [{"key": "k", "value": "v"}]},
    )
    definition = {"family": "runner-s123", "containerDefinitions": [{"name": "runner", "image": "i"}], "volumes": []}
    assert adapter.register_task_definition(definition, [{"key": "k", "value": "v"}]) == TD_ARN
    assert len(sleeps) == 2 and all(0 < s <= 12 for s in sleeps)


def test_ecs_register_gives_up_after_its_attempts(ecs):
    adapter, stub, sleeps = ecs
    adapter._register_attempts = 2
    message = "Too many concurrent attempts to create a new revision of the specified family."
    for _ in range(2):
        stub.add_client_error("register_task_definition", service_error_code="ClientException", service_message=message)
    with pytest.raises(ClientError) as caught:
        adapter.register_task_definition({"family": "f", "containerDefinitions": [{"name": "r", "image": "i"}]}, [])
    assert is_concurrent_revision_error(caught.value) and len(sleeps) == 1


def test_ecs_register_other_errors_are_not_retried(ecs):
    adapter, stub, sleeps = ecs
    stub.add_client_error("register_task_definition", service_error_code="AccessDeniedException", service_message="no")
    with pytest.raises(ClientError):
        adapter.register_task_definition({"family": "f", "containerDefinitions": [{"name": "r", "image": "i"}]}, [])
    assert sleeps == []


def test_ecs_find_active_task_definition_unknown_family_is_none(ecs):
    adapter, stub, _ = ecs
    stub.add_client_error(
        "describe_task_definition",
        service_error_code="ClientException",
        service_message="Unable to describe task definition.",
    )
    assert adapter.find_active_task_definition("runner-s123") is None


def test_ecs_find_active_task_definition_inactive_is_none(ecs):
    adapter, stub, _ = ecs
    stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"taskDefinitionArn": TD_ARN, "status": "INACTIVE"}},
        {"taskDefinition": "runner-s123"},
    )
    assert adapter.find_active_task_definition("runner-s123") is None


def test_secrets_manager_find_secret_arn_never_reads_a_value():
    client = _client("secretsmanager")
    adapter = SecretsManagerAdapter(client)
    with Stubber(client) as stub:
        stub.add_response("describe_secret", {"ARN": PG_ARN, "Name": "dh/PG"}, {"SecretId": "dh/PG"})
        stub.add_client_error("describe_secret", service_error_code="ResourceNotFoundException")
        stub.add_response("describe_secret", {"ARN": PG_ARN + "-old", "DeletedDate": dt.datetime(2026, 1, 1)})
        stub.add_client_error("describe_secret", service_error_code="ThrottlingException")
        assert adapter.find_secret_arn("dh/PG") == PG_ARN
        assert adapter.find_secret_arn("dh/NOPE") is None
        assert adapter.find_secret_arn("dh/OLD") is None  # scheduled for deletion: not usable
        with pytest.raises(ClientError):
            adapter.find_secret_arn("dh/PG")


def test_s3_put_text_encrypts_at_rest():
    client = _client("s3")
    with Stubber(client) as stub:
        stub.add_response(
            "put_object",
            {},
            {
                "Bucket": "b",
                "Key": "runs/x/spec.json",
                "Body": b"{}",
                "ContentType": "application/json",
                "ServerSideEncryption": "AES256",
            },
        )
        assert S3Adapter(client).put_text("b", "runs/x/spec.json", "{}") == "s3://b/runs/x/spec.json"
