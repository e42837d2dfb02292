"""moto refuses what AWS refuses and honours RunTask's clientToken (local_stack/aws_fidelity.py), both in the
tests' in-process `mock_aws` and in the local stack's moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack import aws_fidelity
from tests.support.aws_harness import REGION, awsvpc_network, register_runner_task_definition

#: Client-side validation off: the service's own checks are what is tested (a tool may turn them off too).
UNVALIDATED = Config(parameter_validation=False)


@pytest.fixture
def ecs() -> Iterator[dict[str, Any]]:
    """A cluster, a Fargate task definition and a network, in `mock_aws`; the clients and RunTask's arguments."""
    with mock_aws():
        client = boto3.client("ecs", region_name=REGION, config=UNVALIDATED)
        subnet, group = awsvpc_network(boto3.client("ec2", region_name=REGION))
        client.create_cluster(clusterName="runs")
        family = register_runner_task_definition(client, "runner")
        run_args = {
            "cluster": "runs",
            "taskDefinition": family,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
        }
        yield {"client": client, "run": run_args}


def _error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]


def test_list_tasks_started_by_with_another_filter_is_invalid_parameter(ecs: dict[str, Any]) -> None:
    error = _error(ecs["client"].list_tasks, cluster="runs", startedBy="run-1", desiredStatus="RUNNING")
    assert error["Code"] == "InvalidParameterException"
    assert "only filter" in error["Message"] and "desiredStatus" in error["Message"]
    assert ecs["client"].list_tasks(cluster="runs", startedBy="run-1")["taskArns"] == []


@pytest.mark.parametrize("operation", ["run_task", "list_tasks"])
def test_started_by_over_36_characters_is_invalid_parameter(ecs: dict[str, Any], operation: str) -> None:
    args = {**ecs["run"]} if operation == "run_task" else {"cluster": "runs"}
    call = getattr(ecs["client"], operation)
    error = _error(call, **args, startedBy="é" * 37)
    assert error["Code"] == "InvalidParameterException" and "36" in error["Message"]
    call(**args, startedBy="0f8fad5b-d9cb-469f-a165-70867728950e")  # a UUID: 36, accepted


def test_run_task_overrides_over_8192_characters_is_invalid_parameter(ecs: dict[str, Any]) -> None:
    def overrides(size: int) -> dict[str, Any]:
        skeleton = {"containerOverrides": [{"name": "runner", "environment": [{"name": "V", "value": ""}]}]}
        filler = size - len(json.dumps(skeleton, separators=(",", ":")))
        skeleton["containerOverrides"][0]["environment"][0]["value"] = "ü" * filler
        return skeleton

    error = _error(ecs["client"].run_task, **ecs["run"], overrides=overrides(8193))
    assert error["Code"] == "InvalidParameterException" and "8192" in error["Message"]
    assert ecs["client"].run_task(**ecs["run"], overrides=overrides(8192))["tasks"]


@pytest.mark.parametrize(
    "tags",
    [
        [{"key": "k" * 129, "value": "v"}],
        [{"key": "k", "value": "v" * 257}],
        [{"key": f"k{index}", "value": "v"} for index in range(51)],
    ],
    ids=["key-129", "value-257", "51-tags"],
)
def test_tags_over_ecs_limits_are_invalid_parameter(ecs: dict[str, Any], tags: list[dict[str, str]]) -> None:
    error = _error(ecs["client"].run_task, **ecs["run"], tags=tags)
    assert error["Code"] == "InvalidParameterException"
    assert ecs["client"].list_tasks(cluster="runs")["taskArns"] == []


def test_tags_at_ecs_limits_are_accepted(ecs: dict[str, Any]) -> None:
    tags = [{"key": f"{index:02d}" + "k" * 126, "value": "v" * 256} for index in range(50)]
    assert ecs["client"].run_task(**ecs["run"], tags=tags)["tasks"]


def test_request_outside_botocore_model_is_refused_server_side(ecs: dict[str, Any]) -> None:
    """GIVEN client validation off WHEN a parameter has the wrong type or a required one is missing THEN refused."""
    assert "Invalid type" in _error(ecs["client"].list_tasks, cluster=5)["Message"]
    assert "Missing required parameter" in _error(ecs["client"].run_task, cluster="runs")["Message"]


def test_sqs_request_outside_botocore_model_is_validation_exception() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION, config=UNVALIDATED)
        url = sqs.create_queue(QueueName="commands")["QueueUrl"]
        error = _error(sqs.send_message, QueueUrl=url, MessageBody={"not": "a string"})
        assert error["Code"] == "ValidationException"
        assert "Messages" not in sqs.receive_message(QueueUrl=url)


@pytest.mark.parametrize(("age_seconds", "delivered"), [(59, True), (61, False)])
def test_sqs_receive_delivers_a_message_only_within_the_queue_retention(
    monkeypatch: pytest.MonkeyPatch, age_seconds: int, delivered: bool
) -> None:
    # GIVEN a queue keeping messages 60 s, and one message sent now
    from moto.core import utils

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="commands", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="run")
        # WHEN it is received `age_seconds` later
        sent = utils.unix_time()
        monkeypatch.setattr(utils, "unix_time", lambda *_: sent + age_seconds)
        messages = sqs.receive_message(QueueUrl=url).get("Messages", [])

    # THEN only a message within the retention comes (the rule moto's own check applies, one attribute read)
    assert [m["Body"] for m in messages] == (["run"] if delivered else [])


def test_s3_key_over_1024_utf8_bytes_is_refused() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="runs")
        error = _error(s3.put_object, Bucket="runs", Key="runs/" + "é" * 510, Body=b"{}")  # 5 + 1020 bytes
        assert error["Code"] == "KeyTooLongError"
        s3.put_object(Bucket="runs", Key="runs/" + "é" * 509 + "x", Body=b"{}")  # 1,024 bytes: accepted
        assert s3.list_objects_v2(Bucket="runs")["KeyCount"] == 1


def test_run_task_same_client_token_same_parameters_returns_the_first_task(ecs: dict[str, Any]) -> None:
    first = ecs["client"].run_task(**ecs["run"], startedBy="run-1", clientToken="token-1")["tasks"]
    again = ecs["client"].run_task(**ecs["run"], startedBy="run-1", clientToken="token-1")["tasks"]
    assert [t["taskArn"] for t in again] == [t["taskArn"] for t in first]
    assert len(ecs["client"].list_tasks(cluster="runs")["taskArns"]) == 1


def test_run_task_same_client_token_other_parameters_is_conflict_naming_the_task(ecs: dict[str, Any]) -> None:
    first = ecs["client"].run_task(**ecs["run"], startedBy="run-1", clientToken="token-1")["tasks"][0]
    with pytest.raises(ClientError) as raised:
        ecs["client"].run_task(**ecs["run"], startedBy="run-2", clientToken="token-1")
    assert raised.value.response["Error"]["Code"] == "ConflictException"
    assert raised.value.response["resourceIds"] == [first["taskArn"]]
    assert len(ecs["client"].list_tasks(cluster="runs")["taskArns"]) == 1


def test_run_task_client_token_expires_after_24_hours(ecs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(aws_fidelity, "clock", lambda: now[0])
    first = ecs["client"].run_task(**ecs["run"], clientToken="token-1")["tasks"][0]
    now[0] += 24 * 3600 - 1
    assert ecs["client"].run_task(**ecs["run"], clientToken="token-1")["tasks"][0]["taskArn"] == first["taskArn"]
    now[0] += 2
    assert ecs["client"].run_task(**ecs["run"], clientToken="token-1")["tasks"][0]["taskArn"] != first["taskArn"]


def test_moto_reset_forgets_client_tokens() -> None:
    """A new `mock_aws` (or the local stack's reset) starts with no tokens: no stale task from an earlier test."""
    for _ in range(2):
        with mock_aws():
            client = boto3.client("ecs", region_name=REGION)
            subnet, group = awsvpc_network(boto3.client("ec2", region_name=REGION))
            client.create_cluster(clusterName="runs")
            arn = register_runner_task_definition(client, "f")
            network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
            args = {"cluster": "runs", "taskDefinition": arn, "launchType": "FARGATE", "networkConfiguration": network}
            task = client.run_task(**args, clientToken="token-1")["tasks"][0]
            assert client.describe_tasks(cluster="runs", tasks=[task["taskArn"]])["tasks"]


def test_moto_server_applies_the_same_rules() -> None:
    """The local stack's moto server (real HTTP) refuses the ListTasks filter mix and honours clientToken."""
    from local_stack.moto_server import MotoServer

    server = MotoServer().start()
    try:
        client = server.aws().client("ecs")
        client.create_cluster(clusterName="runs")
        with pytest.raises(ClientError) as raised:
            client.list_tasks(cluster="runs", startedBy="run-1", desiredStatus="STOPPED")
        assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
        unvalidated = boto3.client(
            "ecs",
            endpoint_url=server.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=UNVALIDATED,
        )
        assert _error(unvalidated.list_tasks, cluster=["runs"])["Code"] == "InvalidParameterException"
    finally:
        server.stop()


def test_cloudformation_generated_names_fit_64_characters() -> None:
    from moto.cloudformation import parsing

    name = parsing.generate_resource_name(
        "AWS::Events::Rule", "datahub-executor-local", "BackstopFunctionBackstopScheduleRule"
    )

    assert len(name) <= 64 and name.startswith("datahub-executor-local-BackstopFunction")


def test_run_task_same_client_token_from_concurrent_callers_launches_one_task(ecs: dict[str, Any]) -> None:
    """Several dispatchers redelivering one command at once: ECS launches one task and answers it to each."""
    from concurrent.futures import ThreadPoolExecutor

    def launch(_: int) -> str:
        client = boto3.client("ecs", region_name=REGION)
        return str(client.run_task(**ecs["run"], startedBy="run-1", clientToken="token-1")["tasks"][0]["taskArn"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        arns = set(pool.map(launch, range(24)))

    assert len(arns) == 1
    assert ecs["client"].list_tasks(cluster="runs")["taskArns"] == list(arns)


def test_run_task_without_the_client_token_bridge_launches_again(
    ecs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw moto (no bridge): the same token launches a second task; on ECS only the token prevents it."""
    monkeypatch.setattr(aws_fidelity, "honour_client_token", False)

    ecs["client"].run_task(**ecs["run"], clientToken="token-1")
    ecs["client"].run_task(**ecs["run"], clientToken="token-1")

    assert len(ecs["client"].list_tasks(cluster="runs")["taskArns"]) == 2


def test_run_task_over_the_account_rate_is_throttled_and_every_call_is_timed(
    ecs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN AWS's RunTask bucket holding 2 calls WHEN 3 calls come at once THEN the third is "Rate exceeded"."""
    from executor_common.token_bucket import TokenBucket

    monkeypatch.setattr(aws_fidelity, "run_task_throttle", TokenBucket(0.001, 2))
    aws_fidelity.run_task_calls.clear()
    client = boto3.client("ecs", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    client.run_task(**ecs["run"])
    client.run_task(**ecs["run"])
    error = _error(client.run_task, **ecs["run"])
    assert (error["Code"], error["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert [throttled for _, throttled in aws_fidelity.run_task_calls] == [False, False, True]
    assert len(client.list_tasks(cluster="runs")["taskArns"]) == 2


@pytest.mark.parametrize(
    ("group", "accepted"),
    [
        ("urn:li:dataHubIngestionSource:nightly", True),
        ("x" * 128, True),
        ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", True),
        ("x" * 129, False),
        ("has space", False),
        ("é", False),
    ],
)
def test_sqs_message_group_id_on_a_standard_queue_as_aws_checks_it(group: str, accepted: bool) -> None:
    """SQS fair queues: MessageGroupId is allowed on a standard queue, 128 characters, alphanumeric and punctuation."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="commands")["QueueUrl"]
        if accepted:
            sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId=group, DelaySeconds=1)
        else:
            assert _error(sqs.send_message, QueueUrl=url, MessageBody="{}", MessageGroupId=group)["Code"] == (
                "InvalidParameterValue"
            )


# -- Fargate's room: quotas and capacity (FargateConditions) ---------------------------------------
@pytest.fixture
def fargate_conditions() -> Iterator[Any]:
    """Set conditions for one test; none again afterwards (they are process-wide, like the patches)."""
    yield aws_fidelity.set_fargate_conditions
    aws_fidelity.set_fargate_conditions(None)


def test_run_task_over_the_vcpu_quota_answers_ecs_failure_and_launches_nothing(
    ecs: dict[str, Any], fargate_conditions: Any
) -> None:
    # GIVEN an on-demand vCPU quota of 0.5 and tasks of 0.25 vCPU, two of them running
    fargate_conditions(aws_fidelity.FargateConditions(on_demand_vcpu_quota=0.5))
    for index in range(2):
        assert ecs["client"].run_task(**ecs["run"], startedBy=f"run-{index}")["tasks"]

    # WHEN a third is asked for (with a clientToken)
    answer = ecs["client"].run_task(**ecs["run"], startedBy="run-3", clientToken="token-3")

    # THEN ECS's answer: HTTP 200, no task, the quota sentence as the failure reason
    assert answer["tasks"] == []
    assert answer["failures"] == [
        {"reason": "You\u2019ve reached the limit on the number of vCPUs you can run concurrently"}
    ]
    assert len(ecs["client"].list_tasks(cluster="runs")["taskArns"]) == 2
    assert aws_fidelity.fargate_refusals() == {"vcpu-quota": 1}

    # AND once a task stopped, the same request (same clientToken: it launched nothing) launches
    ecs["client"].stop_task(cluster="runs", task=ecs["client"].list_tasks(cluster="runs")["taskArns"][0])
    assert ecs["client"].run_task(**ecs["run"], startedBy="run-3", clientToken="token-3")["tasks"]


def test_run_task_capacity_failure_rate_refuses_that_share_with_ecs_reason(
    ecs: dict[str, Any], fargate_conditions: Any
) -> None:
    # GIVEN 30 % of RunTask calls find no capacity
    fargate_conditions(aws_fidelity.FargateConditions(capacity_failure_rate=0.3, seed=1))

    # WHEN 200 tasks are asked for
    answers = [ecs["client"].run_task(**ecs["run"]) for _ in range(200)]

    # THEN about 30 % answer "Capacity is unavailable" (and no task), the others launch
    refused = [a for a in answers if not a["tasks"]]
    assert 40 <= len(refused) <= 80
    assert {f["reason"] for a in refused for f in a["failures"]} == {aws_fidelity.CAPACITY_UNAVAILABLE_REASON}
    assert aws_fidelity.fargate_refusals() == {"capacity": len(refused)}


def test_spot_no_capacity_refuses_spot_only(ecs: dict[str, Any], fargate_conditions: Any) -> None:
    # GIVEN Fargate Spot has no capacity at all
    ecs["client"].put_cluster_capacity_providers(
        cluster="runs", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=[]
    )
    fargate_conditions(aws_fidelity.FargateConditions(spot_no_capacity_rate=1.0))
    on_spot = {k: v for k, v in ecs["run"].items() if k != "launchType"}
    on_spot["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]

    # THEN a Spot request is refused, an on-demand one launches
    assert ecs["client"].run_task(**on_spot)["failures"][0]["reason"].startswith("Capacity is unavailable")
    assert ecs["client"].run_task(**ecs["run"])["tasks"]
    assert aws_fidelity.fargate_refusals() == {"spot-capacity": 1}


def _race_to_create(key: str, writers: int) -> tuple[list[int], list[str]]:
    """`writers` threads PutObject `key` with If-None-Match at once: (who won, the losers' error codes)."""
    import threading

    start, wins, lost = threading.Barrier(writers), [], []

    def claim(writer: int) -> None:
        client = boto3.client("s3", region_name=REGION)
        start.wait(timeout=10)
        try:
            client.put_object(Bucket="slots-bucket", Key=key, Body=str(writer).encode(), IfNoneMatch="*")
            wins.append(writer)
        except ClientError as exc:
            lost.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return wins, lost


def test_s3_conditional_write_has_one_winner_however_many_race() -> None:
    """S3 applies If-None-Match as one step (the run slots rely on it); moto checks, then writes."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="slots-bucket")
        for round_ in range(10):
            wins, lost = _race_to_create(f"slots/{round_}", 6)
            assert len(wins) == 1 and lost == ["PreconditionFailed"] * 5
            body = s3.get_object(Bucket="slots-bucket", Key=f"slots/{round_}")["Body"].read().decode()
            assert body == str(wins[0])


def test_service_quotas_answers_the_fargate_vcpu_quotas_the_conditions_set(fargate_conditions: Any) -> None:
    # GIVEN the local agent's --vcpu-quota 6 and --spot-vcpu-quota 12
    fargate_conditions(aws_fidelity.FargateConditions(on_demand_vcpu_quota=6, spot_vcpu_quota=12))
    with mock_aws():
        quotas = boto3.client("service-quotas", region_name=REGION)

        # WHEN the dispatcher reads them
        on_demand = quotas.get_service_quota(ServiceCode="fargate", QuotaCode="L-3032A538")["Quota"]
        spot = quotas.get_service_quota(ServiceCode="fargate", QuotaCode="L-36FBB829")["Quota"]

        # THEN Service Quotas' answer, each with its own value and name
        assert (on_demand["Value"], on_demand["QuotaName"]) == (6, "Fargate On-Demand vCPU resource count")
        assert (spot["Value"], spot["QuotaName"]) == (12, "Fargate Spot vCPU resource count")
        assert on_demand["QuotaArn"].endswith(":fargate/L-3032A538")

        # AND with no quota set, the answer moto gives for a service it does not know
        fargate_conditions(None)
        with pytest.raises(ClientError) as refused:
            quotas.get_service_quota(ServiceCode="fargate", QuotaCode="L-3032A538")
        assert refused.value.response["Error"]["Code"] == "NoSuchResourceException"


def test_service_quotas_answers_only_the_default_for_fargate_vcpu_quotas_never_adjusted(
    fargate_conditions: Any,
) -> None:
    # GIVEN an account that never adjusted its Fargate On-Demand vCPU quota (AWS's default, 6)
    fargate_conditions(aws_fidelity.FargateConditions(on_demand_vcpu_quota=6, vcpu_quotas_applied=False))
    with mock_aws():
        quotas = boto3.client("service-quotas", region_name=REGION)

        # THEN GetServiceQuota finds no applied value, as Service Quotas answers then
        with pytest.raises(ClientError) as refused:
            quotas.get_service_quota(ServiceCode="fargate", QuotaCode="L-3032A538")
        assert refused.value.response["Error"]["Code"] == "NoSuchResourceException"

        # AND GetAWSDefaultServiceQuota answers the default, with the same fields
        default = quotas.get_aws_default_service_quota(ServiceCode="fargate", QuotaCode="L-3032A538")["Quota"]
        assert (default["Value"], default["QuotaName"]) == (6, "Fargate On-Demand vCPU resource count")

        # AND a quota not set at all has neither
        with pytest.raises(ClientError) as unknown:
            quotas.get_aws_default_service_quota(ServiceCode="fargate", QuotaCode="L-36FBB829")
        assert unknown.value.response["Error"]["Code"] == "NoSuchResourceException"


def _waits_while_held(lock: Any, call: Any) -> None:
    """`call` in another thread while `lock` is held (a call in progress): it answers only once the lock is free."""
    import threading

    answered = threading.Event()

    def run() -> None:
        call()
        answered.set()

    caller = threading.Thread(target=run)
    with lock:
        caller.start()
        assert not answered.wait(timeout=1.0)
    assert answered.wait(timeout=10)
    caller.join(timeout=10)


def test_s3_list_waits_for_a_write_or_delete_in_progress() -> None:
    """S3 answers a LIST as a consistent snapshot; moto iterates the bucket's live dict, and a slot freed during a
    LIST made the moto server answer 500 (KeyError, seen once in the fleet bench). LIST therefore takes the lock
    conditional writes and deletes hold: while one is in progress, a LIST waits for it."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="slots-bucket")
        s3.put_object(Bucket="slots-bucket", Key="slots/0", Body=b"{}")
        lister = boto3.client("s3", region_name=REGION)
        _waits_while_held(
            aws_fidelity.S3_ONE_STEP_LOCK,  # a write or delete in progress
            lambda: lister.list_objects_v2(Bucket="slots-bucket", Prefix="slots/"),
        )


def test_ecs_describe_tasks_waits_for_a_run_task_in_progress(ecs: dict[str, Any]) -> None:
    """ECS answers DescribeTasks consistently while tasks start; moto iterates the cluster's live task dict, and a
    RunTask in another thread made it answer 500 (seen in the fleet bench). So the two are one step each."""
    arn = ecs["client"].run_task(**ecs["run"])["tasks"][0]["taskArn"]
    describer = boto3.client("ecs", region_name=REGION)
    _waits_while_held(
        aws_fidelity.ECS_ONE_STEP_LOCK,  # a RunTask in progress
        lambda: describer.describe_tasks(cluster=ecs["run"]["cluster"], tasks=[arn]),
    )


def test_sqs_calls_are_one_step_and_a_long_poll_lets_a_send_in() -> None:
    """SQS answers each call consistently; moto's ReceiveMessage copied the pending set while a DeleteMessage
    changed it, and two deletes could each rebuild the message list from the same old one. So the calls are one
    step each, and a long-polling ReceiveMessage gives way while it waits, as SQS lets a send reach it."""
    import threading
    import time

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="one-step")["QueueUrl"]
        received: list[str] = []

        def long_poll() -> None:
            client = boto3.client("sqs", region_name=REGION)
            messages = client.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
            received.extend(message["Body"] for message in messages)

        poller = threading.Thread(target=long_poll)
        poller.start()
        time.sleep(0.5)  # the poll is waiting on an empty queue
        started = time.monotonic()
        sqs.send_message(QueueUrl=url, MessageBody="run")
        poller.join(timeout=15)
        assert received == ["run"] and time.monotonic() - started < 5

        sqs.send_message(QueueUrl=url, MessageBody="second")
        handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        deleter = boto3.client("sqs", region_name=REGION)
        _waits_while_held(
            aws_fidelity.SQS_ONE_STEP_LOCK,  # another call in progress
            lambda: deleter.delete_message(QueueUrl=url, ReceiptHandle=handle),
        )
