"""The ECS, Secrets Manager and S3 adapters: exact request shapes, proven with botocore's Stubber (no network).

Stubber validates every expected request against botocore's own service model, so a parameter
ECS does not know, or of the wrong type, fails here. The rules the model does not carry (the
ListTasks filter rule) are asserted on the exact parameters sent.
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import ANY, Stubber
from executor_common.aws.ecs import EcsAdapter, is_concurrent_revision_error, is_stopped
from executor_common.aws.errors import RunTaskConflict, TaskDefinitionInactive
from executor_common.aws.s3 import MAX_KEY_ID_BYTES, S3Adapter, run_object_key
from executor_common.aws.secretsmanager import SecretsManagerAdapter
from executor_common.errors import PermanentError, RetryableError

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


REQUEST = {"taskDefinition": TD_ARN, "count": 1, "startedBy": "run-1", "clientToken": "t" * 64}


def test_ecs_run_task_sends_the_cluster_and_the_plan_and_returns_the_task(ecs):
    adapter, stub, _ = ecs
    task = {"taskArn": TASK_ARN, "lastStatus": "PROVISIONING"}
    stub.add_response("run_task", {"tasks": [task], "failures": []}, {"cluster": CLUSTER, **REQUEST})
    assert adapter.run_task(REQUEST) == task


def test_ecs_run_task_conflict_names_the_existing_task_from_resource_ids(ecs):
    # GIVEN ECS answers as it does for a clientToken reused with other parameters
    adapter, stub, _ = ecs
    stub.add_client_error(
        "run_task",
        service_error_code="ConflictException",
        service_message="The specified client token is already in use with a different request.",
        http_status_code=400,
        response_meta={},
        modeled_fields={"resourceIds": [TASK_ARN]},
    )
    with pytest.raises(RunTaskConflict) as caught:
        adapter.run_task(REQUEST)
    assert caught.value.task_arns == [TASK_ARN]


def test_ecs_run_task_conflict_without_resource_ids_reads_the_arn_from_the_message(ecs):
    adapter, stub, _ = ecs
    stub.add_client_error(
        "run_task", service_error_code="ConflictException", service_message=f"Token in use by task {TASK_ARN}."
    )
    with pytest.raises(RunTaskConflict) as caught:
        adapter.run_task(REQUEST)
    assert caught.value.task_arns == [TASK_ARN]


def test_ecs_run_task_inactive_task_definition_is_typed(ecs):
    adapter, stub, _ = ecs
    stub.add_client_error(
        "run_task", service_error_code="ClientException", service_message="TaskDefinition is inactive"
    )
    with pytest.raises(TaskDefinitionInactive) as caught:
        adapter.run_task(REQUEST)
    assert caught.value.task_definition == TD_ARN
    assert "RunTask" in caught.value.reason and "TaskDefinition is inactive" in caught.value.reason


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        ([{"reason": "Capacity is unavailable at this time."}], RetryableError),
        ([{"reason": "RESOURCE:MEMORY"}], RetryableError),
        ([{"arn": TASK_ARN, "reason": "MISSING", "detail": "subnet gone"}], PermanentError),
    ],
)
def test_ecs_run_task_failures_are_classified_and_listed(ecs, failures, expected):
    adapter, stub, _ = ecs
    stub.add_response("run_task", {"tasks": [], "failures": failures})
    with pytest.raises(expected, match=failures[0]["reason"][:20]):
        adapter.run_task(REQUEST)


@pytest.mark.parametrize(
    ("code", "expected"), [("ThrottlingException", RetryableError), ("AccessDeniedException", PermanentError)]
)
def test_ecs_run_task_errors_name_the_call(ecs, code, expected):
    adapter, stub, _ = ecs
    stub.add_client_error("run_task", service_error_code=code, service_message="m")
    with pytest.raises(expected, match=rf"Starting the ECS task \(RunTask\) failed: {code}"):
        adapter.run_task(REQUEST)


def test_ecs_tasks_started_by_uses_started_by_as_the_only_filter_and_describes_all_pages(ecs):
    # GIVEN ECS's rule: "When you specify startedBy as the filter, it must be the only filter that you use"
    adapter, stub, _ = ecs
    expected = {"cluster": CLUSTER, "startedBy": "run-1"}
    stub.add_response("list_tasks", {"taskArns": [TASK_ARN], "nextToken": "n1"}, expected)
    stub.add_response("list_tasks", {"taskArns": [TASK_ARN + "2"]}, {**expected, "nextToken": "n1"})
    described = [
        {"taskArn": TASK_ARN, "lastStatus": "RUNNING", "desiredStatus": "RUNNING"},
        {"taskArn": TASK_ARN + "2", "lastStatus": "STOPPED", "desiredStatus": "STOPPED"},
    ]
    stub.add_response(
        "describe_tasks",
        {"tasks": described},
        {"cluster": CLUSTER, "tasks": [TASK_ARN, TASK_ARN + "2"], "include": ["TAGS"]},
    )
    tasks = adapter.tasks_started_by("run-1")
    assert [t["taskArn"] for t in tasks if not is_stopped(t)] == [TASK_ARN]


def test_ecs_tasks_started_by_none_listed_makes_no_describe_call(ecs):
    adapter, stub, _ = ecs
    stub.add_response("list_tasks", {"taskArns": []}, {"cluster": CLUSTER, "startedBy": "run-1"})
    assert adapter.tasks_started_by("run-1") == []


def test_ecs_tasks_started_by_access_denied_is_permanent(ecs):
    adapter, stub, _ = ecs
    stub.add_client_error("list_tasks", service_error_code="AccessDeniedException", service_message="no")
    with pytest.raises(PermanentError, match=r"ListTasks\) failed: AccessDeniedException"):
        adapter.tasks_started_by("run-1")


@pytest.mark.parametrize(
    ("task", "stopped"),
    [
        ({"lastStatus": "PROVISIONING", "desiredStatus": "RUNNING"}, False),
        ({"lastStatus": "RUNNING", "desiredStatus": "RUNNING"}, False),
        ({"lastStatus": "RUNNING", "desiredStatus": "STOPPED"}, True),
        ({"lastStatus": "DEPROVISIONING", "desiredStatus": "STOPPED"}, True),
        ({"lastStatus": "STOPPED", "desiredStatus": "STOPPED"}, True),
    ],
)
def test_ecs_is_stopped_table(task, stopped):
    assert is_stopped(task) is stopped


def test_ecs_stop_task_bounds_the_reason_to_255_characters(ecs):
    adapter, stub, _ = ecs
    reason = "Cancelled in DataHub by urn:li:corpuser:" + "x" * 400
    stub.add_response(
        "stop_task", {"task": {"taskArn": TASK_ARN}}, {"cluster": CLUSTER, "task": TASK_ARN, "reason": reason[:255]}
    )
    assert adapter.stop_task(TASK_ARN, reason)["taskArn"] == TASK_ARN


def test_ecs_stop_task_access_denied_is_permanent(ecs):
    adapter, stub, _ = ecs
    stub.add_client_error("stop_task", service_error_code="AccessDeniedException", service_message="no")
    with pytest.raises(PermanentError, match="StopTask"):
        adapter.stop_task(TASK_ARN, "r")


def test_ecs_register_rides_out_concurrent_revision_errors_with_jittered_backoff(ecs):
    adapter, stub, sleeps = ecs
    message = "Too many concurrent attempts to create a new revision of the specified family."
    stub.add_client_error("register_task_definition", service_error_code="ClientException", service_message=message)
    stub.add_client_error("register_task_definition", service_error_code="ConflictException", service_message="race")
    stub.add_response(
        "register_task_definition",
        {"taskDefinition": {"taskDefinitionArn": TD_ARN}},
        {"family": "runner-s123", "containerDefinitions": ANY, "tags": [{"key": "k", "value": "v"}]},
    )
    definition = {"family": "runner-s123", "containerDefinitions": [{"name": "runner", "image": "i"}], "volumes": []}
    assert adapter.register_task_definition(definition, [{"key": "k", "value": "v"}]) == TD_ARN
    assert len(sleeps) == 2 and all(0 < s <= 12 for s in sleeps)


def test_ecs_register_still_racing_after_its_attempts_is_retryable_not_permanent(ecs):
    _, stub, sleeps = ecs
    adapter = EcsAdapter(stub.client, CLUSTER, sleep=sleeps.append, register_attempts=2)
    for _ in range(2):
        stub.add_client_error("register_task_definition", service_error_code="ConflictException", service_message="x")
    with pytest.raises(RetryableError, match="raced other callers after 2 attempts"):
        adapter.register_task_definition({"family": "f", "containerDefinitions": [{"name": "r", "image": "i"}]}, [])
    assert len(sleeps) == 1


def test_ecs_register_other_errors_are_classified_and_not_retried(ecs):
    adapter, stub, sleeps = ecs
    stub.add_client_error("register_task_definition", service_error_code="AccessDeniedException", service_message="no")
    with pytest.raises(PermanentError, match="RegisterTaskDefinition"):
        adapter.register_task_definition({"family": "f", "containerDefinitions": [{"name": "r", "image": "i"}]}, [])
    assert sleeps == []


def test_ecs_concurrent_revision_detection_table():
    from botocore.exceptions import ClientError

    def error(code, message):
        return ClientError({"Error": {"Code": code, "Message": message}}, "RegisterTaskDefinition")

    assert is_concurrent_revision_error(
        error("ClientException", "Too many concurrent attempts to create a new revision")
    )
    assert is_concurrent_revision_error(error("ConflictException", ""))
    assert not is_concurrent_revision_error(error("ClientException", "Invalid family"))


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


def test_ecs_find_active_task_definition_throttled_is_retryable(ecs):
    adapter, stub, _ = ecs
    stub.add_client_error("describe_task_definition", service_error_code="ThrottlingException")
    with pytest.raises(RetryableError, match="runner-s123"):
        adapter.find_active_task_definition("runner-s123")


# -- Secrets Manager ------------------------------------------------------------------------------
@pytest.fixture
def secrets():
    client = _client("secretsmanager")
    with Stubber(client) as stub:
        yield SecretsManagerAdapter(client), stub
        stub.assert_no_pending_responses()


def test_secrets_manager_up_to_ten_names_are_one_listing_by_name_keeping_exact_live_matches(secrets):
    adapter, stub = secrets
    stub.add_response(
        "list_secrets",
        {
            "SecretList": [
                {"ARN": PG_ARN, "Name": "dh/PG"},
                {"ARN": PG_ARN + "x", "Name": "dh/PG_OLD"},  # the name filter matches prefixes
                {"ARN": PG_ARN + "y", "Name": "dh/SF", "DeletedDate": dt.datetime(2026, 1, 1)},
            ]
        },
        {"MaxResults": 100, "Filters": [{"Key": "name", "Values": ["dh/NOPE", "dh/PG", "dh/SF"]}]},
    )
    assert adapter.find_secret_arns(["dh/PG", "dh/NOPE", "dh/SF"], "dh/") == {"dh/PG": PG_ARN}


def test_secrets_manager_many_names_are_one_listing_by_prefix_across_pages(secrets):
    adapter, stub = secrets
    names = [f"dh/N{i}" for i in range(3000)]
    expected = {"MaxResults": 100, "Filters": [{"Key": "name", "Values": ["dh/"]}]}
    stub.add_response(
        "list_secrets", {"SecretList": [{"ARN": PG_ARN + "1", "Name": "dh/N1"}], "NextToken": "p2"}, expected
    )
    stub.add_response(
        "list_secrets", {"SecretList": [{"ARN": PG_ARN + "2", "Name": "dh/N2999"}]}, {**expected, "NextToken": "p2"}
    )
    assert adapter.find_secret_arns(names, "dh/") == {"dh/N1": PG_ARN + "1", "dh/N2999": PG_ARN + "2"}


@pytest.mark.parametrize(
    ("code", "expected"), [("ThrottlingException", RetryableError), ("AccessDeniedException", PermanentError)]
)
def test_secrets_manager_errors_are_classified(secrets, code, expected):
    adapter, stub = secrets
    stub.add_client_error("list_secrets", service_error_code=code)
    with pytest.raises(expected, match=f"ListSecrets.*{code}"):
        adapter.find_secret_arns(["dh/PG"], "dh/")


# -- S3 ---------------------------------------------------------------------------------------
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


def test_s3_put_text_access_denied_is_permanent_and_names_the_object():
    client = _client("s3")
    with Stubber(client) as stub:
        stub.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(PermanentError, match=r"s3://b/runs/x/spec.json \(PutObject\) failed: AccessDenied"):
            S3Adapter(client).put_text("b", "runs/x/spec.json", "{}")


@pytest.mark.parametrize(
    "execution_id",
    ["a" * 5000, "é" * 1000, "😀" * 600, "a/b/../c" * 200, "ingestion-" + "数据" * 400],
    ids=["ascii-5000", "latin-2000-bytes", "emoji-2400-bytes", "slashes", "cjk"],
)
def test_s3_run_object_key_of_any_id_fits_s3s_1024_bytes_and_stays_distinct(execution_id):
    key = run_object_key(execution_id, "spec.json")
    assert len(key.encode("utf-8")) <= 1024
    assert key.startswith("runs/") and key.endswith("/spec.json") and key.count("/") == 2
    assert run_object_key(execution_id + "x", "spec.json") != key
    assert run_object_key(execution_id, "spec.json") == key  # the runner derives the same key


def test_s3_run_object_key_keeps_ordinary_ids_readable():
    assert run_object_key("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f", "spec.json") == (
        "runs/3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f/spec.json"
    )
    assert run_object_key("x" * MAX_KEY_ID_BYTES, "r") == f"runs/{'x' * MAX_KEY_ID_BYTES}/r"
