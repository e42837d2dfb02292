"""template.yaml through moto's CloudFormation: the local stack creates its AWS side this way.

The SAM transform runs in-process (samtranslator, as `sam deploy` would have it done by the
service) through the local stack's own `local_stack.cfn.deploy`; no SAM CLI needed.
moto skips AWS::SecretsManager::Secret, so the token secret is created first and passed as
ExistingDataHubAccessTokenSecretArn: the parameter set the local stack uses.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.cfn import deploy
from tests.support.aws_harness import REGION, awsvpc_network

REPO_ROOT = Path(__file__).resolve().parents[3]
STACK = "dh-exec"
TOKEN_CANARY = "canary-gms-token-4f1d"
SECRET_ARNS = "SNOWFLAKE_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:sf-AbCdEf"

# moto creates the stack without these types (and says so); the real service creates them.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")


def create_stack(session: boto3.Session, name: str, extra_parameters: dict[str, str]) -> dict[str, Any]:
    """Network and token secret first (moto skips Secret resources), then the local stack's own deploy."""
    subnet_id, sg_id = awsvpc_network(session.client("ec2"), name=f"{name}-runner")
    token_arn = session.client("secretsmanager").create_secret(Name=f"{name}-gms-token", SecretString=TOKEN_CANARY)[
        "ARN"
    ]
    parameters = {
        "DataHubBaseUrl": "http://127.0.0.1:8080/gms",
        "ExistingDataHubAccessTokenSecretArn": token_arn,
        "RunnerImage": "local/datahub-executor-runner:dev",
        "SubnetIds": subnet_id,
        "SecurityGroupIds": sg_id,
        **extra_parameters,
    }
    aws = SimpleNamespace(client=session.client, region=session.region_name)
    deployed = deploy(aws, REPO_ROOT / "template.yaml", parameters, stack_name=name)
    described = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {
        "session": session,
        "status": described["StackStatus"],
        "outputs": deployed.outputs,
        "token_arn": token_arn,
        "template": deployed.template,
        "run_network": ([subnet_id], [sg_id]),
    }


@pytest.fixture(scope="module")
def stack() -> Any:
    """One stack for most assertions below: creating it takes a few seconds."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        yield create_stack(
            session,
            STACK,
            {"SecretArns": SECRET_ARNS, "RunEnvVars": "DATAHUB_TELEMETRY_ENABLED=false"},
        )


def test_template_in_moto_creates_stack_complete(stack: dict[str, Any]) -> None:
    assert stack["status"] == "CREATE_COMPLETE"


def test_template_in_moto_command_queue_redrives_to_dead_letter_queue(stack: dict[str, Any]) -> None:
    sqs = stack["session"].client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["CommandQueueUrl"], AttributeNames=["All"])[
        "Attributes"
    ]
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=stack["outputs"]["CommandDeadLetterQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]

    assert int(attributes["VisibilityTimeout"]) >= 6 * 60
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert attributes["QueueArn"] == stack["outputs"]["CommandQueueArn"]


def test_template_in_moto_task_definition_runs_runner_with_token_secret(stack: dict[str, Any]) -> None:
    ecs = stack["session"].client("ecs")
    task_definition = ecs.describe_task_definition(taskDefinition=stack["outputs"]["RunnerTaskDefinitionArn"])[
        "taskDefinition"
    ]
    (container,) = task_definition["containerDefinitions"]

    assert task_definition["family"] == f"{STACK}-runner"
    assert container["name"] == "runner"
    assert container["image"] == "local/datahub-executor-runner:dev"
    assert container["memory"] == 4096
    assert container["secrets"] == [{"name": "DATAHUB_GMS_TOKEN", "valueFrom": stack["token_arn"]}]
    assert {e["name"]: e["value"] for e in container["environment"]} == {
        "DATAHUB_GMS_URL": "http://127.0.0.1:8080/gms",
        "RUN_BUCKET": stack["outputs"]["RunBucketName"],
        "DATAHUB_SECRET_STORE_ENABLED": "true",  # DataHubSecretStore's default, Enabled
        # The cost estimate and the run-state events (issue 15): prices and capacity, never a secret.
        "FARGATE_PRICES": "0.04048,0.004445,0.000111",
        "SPOT_PRICE_FACTOR": "0.3",
        "CAPACITY_PROVIDER": "FARGATE",
        "EVENT_BUS_NAME": "default",
    }
    assert container["logConfiguration"]["options"]["awslogs-group"] == stack["outputs"]["RunnerLogGroupName"]
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "runs"


def test_template_in_moto_token_value_never_in_template_or_task_definition(stack: dict[str, Any]) -> None:
    ecs = stack["session"].client("ecs")
    task_definition = ecs.describe_task_definition(taskDefinition=stack["outputs"]["RunnerTaskDefinitionArn"])

    assert TOKEN_CANARY not in json.dumps(stack["template"])
    assert TOKEN_CANARY not in json.dumps(task_definition, default=str)


def test_template_in_moto_cluster_log_group_and_bucket_exist(stack: dict[str, Any]) -> None:
    session = stack["session"]
    clusters = session.client("ecs").describe_clusters(clusters=[stack["outputs"]["RunnerClusterName"]])["clusters"]
    log_groups = session.client("logs").describe_log_groups(logGroupNamePrefix=stack["outputs"]["RunnerLogGroupName"])

    assert [c["status"] for c in clusters] == ["ACTIVE"]
    assert [g["logGroupName"] for g in log_groups["logGroups"]] == [stack["outputs"]["RunnerLogGroupName"]]
    session.client("s3").head_bucket(Bucket=stack["outputs"]["RunBucketName"])


def test_template_in_moto_dispatcher_consumes_command_queue(stack: dict[str, Any]) -> None:
    lambda_client = stack["session"].client("lambda")
    function_name = stack["outputs"]["DispatcherFunctionName"]
    mappings = lambda_client.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]

    assert [m["EventSourceArn"] for m in mappings] == [stack["outputs"]["CommandQueueArn"]]


def test_template_in_moto_dispatcher_environment_matches_agreed_names(stack: dict[str, Any]) -> None:
    lambda_client = stack["session"].client("lambda")
    configuration = lambda_client.get_function_configuration(FunctionName=stack["outputs"]["DispatcherFunctionName"])
    environment = configuration["Environment"]["Variables"]

    assert configuration["Handler"] == "dispatcher.handler.lambda_handler"
    assert configuration["Runtime"] == "python3.11"
    assert environment["DATAHUB_GMS_TOKEN_SECRET_ARN"] == stack["token_arn"]
    assert environment["ECS_CLUSTER"] == stack["outputs"]["RunnerClusterName"]
    assert environment["TASK_DEFINITION_ARN"] == stack["outputs"]["RunnerTaskDefinitionArn"]
    assert environment["RUN_BUCKET"] == stack["outputs"]["RunBucketName"]
    assert environment["SECRET_ARNS"] == SECRET_ARNS
    assert environment["RUN_ENV_VARS"] == "DATAHUB_TELEMETRY_ENABLED=false"
    assert environment["LOG_STREAM_PREFIX"] == "runs"


def test_template_in_moto_reconciler_consumes_its_buffer_queue(stack: dict[str, Any]) -> None:
    session = stack["session"]
    queue_url = stack["outputs"]["ReconcilerQueueUrl"]
    queue_arn = session.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    mappings = session.client("lambda").list_event_source_mappings(
        FunctionName=stack["outputs"]["ReconcilerFunctionName"]
    )["EventSourceMappings"]

    assert [m["EventSourceArn"] for m in mappings] == [queue_arn]


def test_template_in_moto_with_default_lists_creates_stack_complete() -> None:
    """GIVEN only the required parameters (SecretArns and RunEnvVars left at their empty defaults)."""
    with mock_aws():
        created = create_stack(boto3.Session(region_name=REGION), "dh-minimal", {})
        configuration = (
            created["session"]
            .client("lambda")
            .get_function_configuration(FunctionName=created["outputs"]["DispatcherFunctionName"])
        )

    assert created["status"] == "CREATE_COMPLETE"
    assert configuration["Environment"]["Variables"]["SECRET_ARNS"] == ""
    assert configuration["Environment"]["Variables"]["RUN_ENV_VARS"] == ""
    # no SmallRunnerImage: one base task definition, every run on RunnerImage
    assert configuration["Environment"]["Variables"]["SMALL_TASK_DEFINITION_ARN"] == ""
    assert "SmallRunnerTaskDefinitionArn" not in created["outputs"]


def test_template_in_moto_small_runner_image_makes_a_second_base_for_the_dispatcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN SmallRunnerImage: a second base task definition, the same but for the image, named in the
    dispatcher's environment with the plugins it bakes, which the dispatcher's settings accept."""
    from dispatcher.settings import DispatcherSettings

    with mock_aws():
        created = create_stack(
            boto3.Session(region_name=REGION), "dh-small", {"SmallRunnerImage": "local/datahub-executor-runner:s"}
        )
        ecs = created["session"].client("ecs")
        full, small = (
            ecs.describe_task_definition(taskDefinition=created["outputs"][output])["taskDefinition"]
            for output in ("RunnerTaskDefinitionArn", "SmallRunnerTaskDefinitionArn")
        )
        environment = (
            created["session"]
            .client("lambda")
            .get_function_configuration(FunctionName=created["outputs"]["DispatcherFunctionName"])["Environment"][
                "Variables"
            ]
        )

    assert small["family"] == "dh-small-runner-small"
    assert [c["image"] for c in (full["containerDefinitions"] + small["containerDefinitions"])] == [
        "local/datahub-executor-runner:dev",
        "local/datahub-executor-runner:s",
    ]
    same = ("cpu", "memory", "executionRoleArn", "taskRoleArn", "networkMode", "ephemeralStorage")
    assert {k: small.get(k) for k in same} == {k: full.get(k) for k in same}
    assert small["containerDefinitions"][0]["secrets"] == full["containerDefinitions"][0]["secrets"]
    assert environment["SMALL_TASK_DEFINITION_ARN"] == created["outputs"]["SmallRunnerTaskDefinitionArn"]
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = DispatcherSettings()  # type: ignore[call-arg]
    assert settings.small_image_plugins == ["datahub-rest", "postgres", "mysql", "glue", "sqlalchemy"]


@pytest.mark.parametrize(
    ("output", "settings_path"),
    [
        ("DispatcherFunctionName", "dispatcher.settings:DispatcherSettings"),
        ("ReconcilerFunctionName", "reconciler.settings:ReconcilerSettings"),
        ("BackstopFunctionName", "backstop.settings:BackstopSettings"),
    ],
)
def test_template_in_moto_function_environment_validates_in_its_settings_model(
    stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch, output: str, settings_path: str
) -> None:
    """The contract between template and code: the deployed environment is what each entry point accepts."""
    module_name, class_name = settings_path.split(":")
    settings_class = getattr(importlib.import_module(module_name), class_name)
    configuration = stack["session"].client("lambda").get_function_configuration(FunctionName=stack["outputs"][output])
    for name in [n for n in os.environ if n.startswith(("DATAHUB_", "EXECUTOR_", "ECS_", "DEFAULT_", "RUN_"))]:
        monkeypatch.delenv(name)
    for name, value in configuration["Environment"]["Variables"].items():
        monkeypatch.setenv(name, str(value))  # moto keeps Number parameters as ints; Lambda has strings

    settings = settings_class()

    assert settings.ecs_cluster == stack["outputs"]["RunnerClusterName"]
    if output == "BackstopFunctionName":
        return  # the backstop reads neither DataHub's token nor the run logs (its own settings model)
    assert settings.datahub_gms_token_secret_arn == stack["token_arn"]
    assert settings.log_group_name == stack["outputs"]["RunnerLogGroupName"]
    if output == "ReconcilerFunctionName":
        assert "ReconcilerQueue" in settings.reconciler_queue_url  # the report grace is a delay on its own queue


def test_template_in_moto_base_task_definition_can_run(stack: dict[str, Any]) -> None:
    """moto's run_task adds up container memory: the template must give it a number, not a string."""
    session = stack["session"]
    (subnet_id,), (sg_id,) = stack["run_network"]

    response = session.client("ecs").run_task(
        cluster=stack["outputs"]["RunnerClusterName"],
        taskDefinition=stack["outputs"]["RunnerTaskDefinitionArn"],
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet_id], "securityGroups": [sg_id]}},
    )

    assert len(response["tasks"]) == 1
    assert response["failures"] == []


def test_template_in_moto_command_queues_take_one_mib_messages(stack: dict[str, Any]) -> None:
    sqs = stack["session"].client("sqs")
    sizes = [
        sqs.get_queue_attributes(QueueUrl=stack["outputs"][url], AttributeNames=["MaximumMessageSize"])["Attributes"][
            "MaximumMessageSize"
        ]
        for url in ("CommandQueueUrl", "CommandDeadLetterQueueUrl")
    ]

    assert sizes == ["1048576", "1048576"]


def function_networks(created: dict[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """(subnets, security groups) of each function; empty lists when it is not in a VPC."""
    lambda_client = created["session"].client("lambda")
    networks = {}
    for output in ("DispatcherFunctionName", "ReconcilerFunctionName", "BackstopFunctionName"):
        vpc_config = lambda_client.get_function_configuration(FunctionName=created["outputs"][output]).get(
            "VpcConfig", {}
        )
        networks[output] = (vpc_config.get("SubnetIds", []), vpc_config.get("SecurityGroupIds", []))
    return networks


def test_template_in_moto_lambdas_stay_outside_the_vpc_by_default(stack: dict[str, Any]) -> None:
    assert list(function_networks(stack).values()) == [([], [])] * 3


def test_template_in_moto_lambdas_in_vpc_default_to_the_run_subnets_and_groups() -> None:
    """GIVEN LambdasInVpc=true and no Lambda-specific network: GMS inside the VPC is reached from the run subnets."""
    with mock_aws():
        created = create_stack(boto3.Session(region_name=REGION), "dh-vpc", {"LambdasInVpc": "true"})
        networks = function_networks(created)

    assert created["status"] == "CREATE_COMPLETE"
    assert list(networks.values()) == [created["run_network"]] * 3


def test_template_in_moto_lambdas_in_vpc_use_their_own_subnets_when_given() -> None:
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        ec2 = session.client("ec2")
        vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        lambda_subnets = [
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.9.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)
        ]
        lambda_group = ec2.create_security_group(GroupName="lambdas", Description="lambdas", VpcId=vpc_id)["GroupId"]
        created = create_stack(
            session,
            "dh-vpc-own",
            {
                "LambdasInVpc": "true",
                "LambdaSubnetIds": ",".join(lambda_subnets),
                "LambdaSecurityGroupIds": lambda_group,
            },
        )
        networks = function_networks(created)

    assert list(networks.values()) == [(lambda_subnets, [lambda_group])] * 3
