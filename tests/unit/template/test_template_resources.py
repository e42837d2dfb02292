"""The resources the issues require, read from template.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest
from executor_common.runspec import RUNNER_CONTAINER_NAME
from sam_template import as_list, if_branches, resource

REQUIRED_LOGICAL_IDS = {
    "CommandQueue": "AWS::SQS::Queue",
    "CommandDeadLetterQueue": "AWS::SQS::Queue",
    "DispatcherFunction": "AWS::Serverless::Function",
    "RunnerCluster": "AWS::ECS::Cluster",
    "RunnerTaskDefinition": "AWS::ECS::TaskDefinition",
    "RunnerLogGroup": "AWS::Logs::LogGroup",
    "ReconcilerFunction": "AWS::Serverless::Function",
    "BackstopFunction": "AWS::Serverless::Function",
    "RunBucket": "AWS::S3::Bucket",
    "ReconcilerQueue": "AWS::SQS::Queue",
    "ReconcilerDeadLetterQueue": "AWS::SQS::Queue",
}

# The agreed Lambda environment (docs: the settings every entry point reads).
DISPATCHER_ENV = {
    "DATAHUB_GMS_URL", "DATAHUB_GMS_TOKEN_SECRET_ARN", "EXECUTOR_ID", "ECS_CLUSTER", "TASK_DEFINITION_ARN",
    "SUBNET_IDS", "SECURITY_GROUP_IDS", "ASSIGN_PUBLIC_IP", "CAPACITY_PROVIDER",
    "DEFAULT_TASK_CPU", "DEFAULT_TASK_MEMORY", "DEFAULT_EPHEMERAL_STORAGE_GIB", "DEFAULT_RUN_TIMEOUT_SECONDS",
    "SECRET_NAME_PREFIX", "SECRET_ARNS", "RUN_ENV_VARS", "RUN_BUCKET", "LOG_GROUP_NAME", "LOG_STREAM_PREFIX",
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL",
}  # fmt: skip
RECONCILER_ENV = {
    "DATAHUB_GMS_URL", "DATAHUB_GMS_TOKEN_SECRET_ARN", "ECS_CLUSTER", "LOG_GROUP_NAME", "LOG_STREAM_PREFIX",
    "EXECUTOR_ID", "DEFAULT_RUN_TIMEOUT_SECONDS",
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL",
}  # fmt: skip


def function_environment(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """Globals merged with the function's own variables, as SAM does."""
    global_vars = template["Globals"]["Function"]["Environment"]["Variables"]
    own_vars = resource(template, logical_id)["Properties"].get("Environment", {}).get("Variables", {})
    return global_vars | own_vars


def sqs_event(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    (event,) = [e for e in resource(template, logical_id)["Properties"]["Events"].values() if e["Type"] == "SQS"]
    return event["Properties"]


def runner_container(template: dict[str, Any]) -> dict[str, Any]:
    (container,) = resource(template, "RunnerTaskDefinition")["Properties"]["ContainerDefinitions"]
    return container


@pytest.mark.parametrize(("logical_id", "resource_type"), REQUIRED_LOGICAL_IDS.items())
def test_template_required_logical_id_exists_with_its_type(
    template: dict[str, Any], logical_id: str, resource_type: str
) -> None:
    assert resource(template, logical_id)["Type"] == resource_type


@pytest.mark.parametrize(
    ("function", "handler"),
    [
        ("DispatcherFunction", "dispatcher.handler.lambda_handler"),
        ("ReconcilerFunction", "reconciler.handler.lambda_handler"),
        ("BackstopFunction", "backstop.handler.lambda_handler"),
    ],
)
def test_functions_share_one_code_uri_and_differ_by_handler(
    template: dict[str, Any], function: str, handler: str
) -> None:
    properties = resource(template, function)["Properties"]

    assert properties["Handler"] == handler
    assert "CodeUri" not in properties
    assert template["Globals"]["Function"]["CodeUri"] == "functions/"
    assert template["Globals"]["Function"]["Runtime"] == "python3.11"


def test_command_queue_visibility_timeout_covers_six_function_timeouts_plus_batching_window(
    template: dict[str, Any],
) -> None:
    timeout = resource(template, "DispatcherFunction")["Properties"]["Timeout"]
    max_window = template["Parameters"]["DispatcherBatchingWindowSeconds"]["MaxValue"]

    assert resource(template, "CommandQueue")["Properties"]["VisibilityTimeout"] >= 6 * timeout + max_window


def test_reconciler_queue_visibility_timeout_covers_six_function_timeouts(template: dict[str, Any]) -> None:
    timeout = resource(template, "ReconcilerFunction")["Properties"]["Timeout"]

    assert resource(template, "ReconcilerQueue")["Properties"]["VisibilityTimeout"] >= 6 * timeout


@pytest.mark.parametrize(
    ("queue", "dead_letter_queue", "max_receive_count"),
    [
        ("CommandQueue", "CommandDeadLetterQueue", {"Ref": "CommandMaxReceiveCount"}),
        ("ReconcilerQueue", "ReconcilerDeadLetterQueue", 20),
    ],
)
def test_queue_redrives_to_its_dead_letter_queue(
    template: dict[str, Any], queue: str, dead_letter_queue: str, max_receive_count: Any
) -> None:
    assert resource(template, queue)["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_queue, "Arn"]},
        "maxReceiveCount": max_receive_count,
    }
    assert resource(template, dead_letter_queue)["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_queue_is_encrypted_at_rest(template: dict[str, Any]) -> None:
    queues = [body for body in template["Resources"].values() if body["Type"] == "AWS::SQS::Queue"]

    assert len(queues) == 4
    assert all(queue["Properties"]["SqsManagedSseEnabled"] is True for queue in queues)


@pytest.mark.parametrize("dead_letter_queue", ["CommandDeadLetterQueue", "ReconcilerDeadLetterQueue"])
def test_dead_letter_queue_alarm_fires_on_one_visible_message(template: dict[str, Any], dead_letter_queue: str) -> None:
    (alarm,) = [
        body["Properties"]
        for body in template["Resources"].values()
        if body["Type"] == "AWS::CloudWatch::Alarm"
        and body["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dead_letter_queue, "QueueName"]}
    ]

    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


@pytest.mark.parametrize(
    ("function", "queue"), [("DispatcherFunction", "CommandQueue"), ("ReconcilerFunction", "ReconcilerQueue")]
)
def test_sqs_triggered_function_reports_batch_item_failures(
    template: dict[str, Any], function: str, queue: str
) -> None:
    event = sqs_event(template, function)

    assert event["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_dispatcher_batching_and_concurrency_come_from_parameters(template: dict[str, Any]) -> None:
    event = sqs_event(template, "DispatcherFunction")
    reserved = resource(template, "DispatcherFunction")["Properties"]["ReservedConcurrentExecutions"]

    assert event["BatchSize"] == {"Ref": "DispatcherBatchSize"}
    assert event["MaximumBatchingWindowInSeconds"] == {"Ref": "DispatcherBatchingWindowSeconds"}
    assert event["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "DispatcherMaxConcurrency"}}
    assert list(if_branches(reserved)) == [{"Ref": "DispatcherReservedConcurrency"}]


@pytest.mark.parametrize(
    ("function", "expected"), [("DispatcherFunction", DISPATCHER_ENV), ("ReconcilerFunction", RECONCILER_ENV)]
)
def test_function_environment_has_every_agreed_variable(
    template: dict[str, Any], function: str, expected: set[str]
) -> None:
    assert expected <= set(function_environment(template, function))


def test_functions_get_the_token_secret_arn_never_the_token(template: dict[str, Any]) -> None:
    environment = function_environment(template, "DispatcherFunction")

    assert list(if_branches(environment["DATAHUB_GMS_TOKEN_SECRET_ARN"])) == [
        {"Ref": "ExistingDataHubAccessTokenSecretArn"},
        {"Ref": "DataHubTokenSecret"},
    ]
    assert "DATAHUB_GMS_TOKEN" not in environment
    assert '{"Ref": "DataHubAccessToken"}' not in json.dumps(
        [template["Globals"], template["Resources"]["DispatcherFunction"]]
    )


def test_backstop_runs_every_ten_minutes(template: dict[str, Any]) -> None:
    (event,) = resource(template, "BackstopFunction")["Properties"]["Events"].values()

    assert (event["Type"], event["Properties"]["Schedule"]) == ("Schedule", "rate(10 minutes)")


def test_stopped_task_rule_matches_only_this_clusters_stopped_tasks_into_the_buffer(template: dict[str, Any]) -> None:
    rule = resource(template, "RunnerTaskStoppedRule")["Properties"]

    assert rule["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": [{"Fn::GetAtt": ["RunnerCluster", "Arn"]}], "lastStatus": ["STOPPED"]},
    }
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": ["ReconcilerQueue", "Arn"]}]


def test_reconciler_queue_accepts_only_the_stopped_task_rule(template: dict[str, Any]) -> None:
    statements = resource(template, "ReconcilerQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]

    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["RunnerTaskStoppedRule", "Arn"]}}}


def test_runner_task_definition_is_fargate_with_parameterised_size(template: dict[str, Any]) -> None:
    properties = resource(template, "RunnerTaskDefinition")["Properties"]

    assert properties["RequiresCompatibilities"] == ["FARGATE"]
    assert properties["NetworkMode"] == "awsvpc"
    assert (properties["Cpu"], properties["Memory"]) == ({"Ref": "TaskCpu"}, {"Ref": "TaskMemory"})
    assert properties["EphemeralStorage"] == {"SizeInGiB": {"Ref": "TaskEphemeralStorageSizeInGiB"}}
    assert properties["ExecutionRoleArn"] == {"Fn::GetAtt": ["RunnerExecutionRole", "Arn"]}
    assert properties["TaskRoleArn"] == {"Fn::GetAtt": ["RunnerTaskRole", "Arn"]}


def test_runner_container_is_non_root_with_stop_timeout_and_container_memory(template: dict[str, Any]) -> None:
    container = runner_container(template)

    assert container["Name"] == RUNNER_CONTAINER_NAME
    assert container["Essential"] is True
    assert container["User"] not in ("0", "root")
    assert 0 < container["StopTimeout"] <= 120
    assert container["Memory"] == {"Ref": "TaskMemory"}


def test_runner_container_logs_to_runner_log_group_with_runs_prefix(template: dict[str, Any]) -> None:
    log_configuration = runner_container(template)["LogConfiguration"]

    assert log_configuration["LogDriver"] == "awslogs"
    assert log_configuration["Options"]["awslogs-group"] == {"Ref": "RunnerLogGroup"}
    assert log_configuration["Options"]["awslogs-stream-prefix"] == "runs"
    assert function_environment(template, "ReconcilerFunction")["LOG_STREAM_PREFIX"] == "runs"


def test_runner_container_gets_token_from_secrets_manager_only(template: dict[str, Any]) -> None:
    container = runner_container(template)
    (secret,) = container["Secrets"]

    assert secret["Name"] == "DATAHUB_GMS_TOKEN"
    assert list(if_branches(secret["ValueFrom"])) == [
        {"Ref": "ExistingDataHubAccessTokenSecretArn"},
        {"Ref": "DataHubTokenSecret"},
    ]
    # Plus the price table and capacity for the cost estimate (issue 15): never a token or secret value.
    assert {e["Name"] for e in container["Environment"]} == {
        "DATAHUB_GMS_URL",
        "RUN_BUCKET",
        "DATAHUB_SECRET_STORE_ENABLED",
        "FARGATE_PRICES",
        "SPOT_PRICE_FACTOR",
        "CAPACITY_PROVIDER",
        "EVENT_BUS_NAME",
    }


def test_datahub_secret_store_parameter_reaches_dispatcher_and_runner_alike(template: dict[str, Any]) -> None:
    # GIVEN the DataHubSecretStore parameter (Enabled by default)
    parameter = template["Parameters"]["DataHubSecretStore"]
    assert parameter["Default"] == "Enabled" and parameter["AllowedValues"] == ["Enabled", "Disabled"]
    expected = {"Fn::If": ["UseDataHubSecretStore", "true", "false"]}
    # THEN the dispatcher and the runner read the same switch from the same condition
    assert function_environment(template, "DispatcherFunction")["DATAHUB_SECRET_STORE_ENABLED"] == expected
    runner_env = {e["Name"]: e["Value"] for e in runner_container(template)["Environment"]}
    assert runner_env["DATAHUB_SECRET_STORE_ENABLED"] == expected
    assert template["Conditions"]["UseDataHubSecretStore"] == {"Fn::Equals": [{"Ref": "DataHubSecretStore"}, "Enabled"]}


def test_token_secret_is_created_only_when_a_token_is_given(template: dict[str, Any]) -> None:
    secret = resource(template, "DataHubTokenSecret")

    assert secret["Condition"] == "CreateTokenSecret"
    assert secret["Properties"]["SecretString"] == {"Ref": "DataHubAccessToken"}


def test_log_groups_have_retention(template: dict[str, Any]) -> None:
    log_groups = [body for body in template["Resources"].values() if body["Type"] == "AWS::Logs::LogGroup"]

    assert len(log_groups) == 4
    assert all(group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in log_groups)


@pytest.mark.parametrize("function", ["DispatcherFunction", "ReconcilerFunction", "BackstopFunction"])
def test_function_logs_to_its_own_log_group(template: dict[str, Any], function: str) -> None:
    log_group = resource(template, function)["Properties"]["LoggingConfig"]["LogGroup"]

    assert resource(template, log_group["Ref"])["Type"] == "AWS::Logs::LogGroup"


def test_run_bucket_is_private_encrypted_and_expires_run_folders(template: dict[str, Any]) -> None:
    properties = resource(template, "RunBucket")["Properties"]
    rule, line = properties["LifecycleConfiguration"]["Rules"]

    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert (rule["Prefix"], rule["ExpirationInDays"]) == ("runs/", {"Ref": "RunFolderRetentionDays"})
    assert (line["Prefix"], line["ExpirationInDays"]) == ("waiting/", 2)  # places a waiting run stopped refreshing


@pytest.mark.parametrize("policy", ["CommandQueuePolicy", "ReconcilerQueuePolicy", "RunBucketPolicy"])
def test_resource_policy_denies_requests_without_tls(template: dict[str, Any], policy: str) -> None:
    statements = resource(template, policy)["Properties"]["PolicyDocument"]["Statement"]
    (denial,) = [
        s for statement in statements for s in if_branches(statement) if s.get("Sid") == "DenyInsecureTransport"
    ]

    assert denial["Effect"] == "Deny"
    assert denial["Principal"] == "*"
    assert denial["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def producer_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The command queue's statements that exist only when a ProducerPrincipal is given, by Sid."""
    statements = resource(template, "CommandQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    conditional = [s["Fn::If"] for s in statements if "Fn::If" in s]
    assert all(c[0] == "HasProducerPrincipal" and c[2] == {"Ref": "AWS::NoValue"} for c in conditional)
    return {c[1]["Sid"]: c[1] for c in conditional}


def test_command_queue_lets_the_producer_principal_send(template: dict[str, Any]) -> None:
    allow = producer_statements(template)["AllowProducerToSend"]

    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"AWS": {"Ref": "ProducerPrincipal"}}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == {"Fn::GetAtt": ["CommandQueue", "Arn"]}


def test_command_queue_policy_grants_nobody_but_the_producer_principal(template: dict[str, Any]) -> None:
    statements = resource(template, "CommandQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for statement in statements for s in if_branches(statement) if s["Effect"] == "Allow"]

    assert [a["Sid"] for a in allows] == ["AllowProducerToSend"]
    assert set(producer_statements(template)) == {"AllowProducerToSend"}


def test_cluster_offers_fargate_and_fargate_spot(template: dict[str, Any]) -> None:
    properties = resource(template, "RunnerCluster")["Properties"]

    assert set(as_list(properties["CapacityProviders"])) == {"FARGATE", "FARGATE_SPOT"}


@pytest.mark.parametrize(
    "output",
    [
        "CommandQueueUrl",
        "CommandQueueArn",
        "CommandDeadLetterQueueUrl",
        "RunnerClusterName",
        "RunnerTaskDefinitionArn",
        "RunnerLogGroupName",
        "RunBucketName",
        "DispatcherFunctionName",
        "ReconcilerFunctionName",
        "ProducerPolicyJson",
    ],
)
def test_template_outputs_what_operators_and_the_local_stack_need(template: dict[str, Any], output: str) -> None:
    assert output in template["Outputs"]


def test_dispatcher_knows_the_command_queues_last_attempt(template: dict[str, Any]) -> None:
    """The dispatcher reports FAILURE on the attempt SQS would otherwise move to the DLQ: one number, two users."""
    variables = resource(template, "DispatcherFunction")["Properties"]["Environment"]["Variables"]
    redrive = resource(template, "CommandQueue")["Properties"]["RedrivePolicy"]

    assert variables["MAX_RECEIVE_COUNT"] == redrive["maxReceiveCount"] == {"Ref": "CommandMaxReceiveCount"}
