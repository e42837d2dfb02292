"""template.yaml through moto's CloudFormation: the local stack creates its AWS side this way.

The SAM transform runs in-process (samtranslator, as `sam deploy` would have it done by the
service) with the code location pointed at a dummy object in moto's S3; no SAM CLI needed.
moto skips AWS::SecretsManager::Secret, so the token secret is created first and passed as
ExistingDataHubAccessTokenSecretArn: the parameter set the local stack uses.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
CODE_BUCKET = "sam-artifacts"
CODE_KEY = "functions.zip"
STACK = "dh-exec"
TOKEN_CANARY = "canary-gms-token-4f1d"


class StubManagedPolicyLoader:
    """SAM resolves managed policy names (AWSXrayWriteOnlyAccess, ...) to ARNs via IAM; moto need not."""

    def load(self) -> dict[str, str]:
        names = ["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaSQSQueueExecutionRole"]
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in names}


def translated_template(parameters: dict[str, str]) -> dict[str, Any]:
    sam = yaml_parse((REPO_ROOT / "template.yaml").read_text())
    sam = copy.deepcopy(sam)
    sam["Globals"]["Function"]["CodeUri"] = {"Bucket": CODE_BUCKET, "Key": CODE_KEY}
    return transform(sam, parameters, StubManagedPolicyLoader())


def _dummy_code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("dispatcher/handler.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stack() -> Any:
    """One stack for every assertion below: creating it takes a few seconds."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        ec2 = session.client("ec2")
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg_id = ec2.create_security_group(GroupName="runner", Description="runner", VpcId=vpc_id)["GroupId"]
        token_arn = session.client("secretsmanager").create_secret(
            Name="datahub-executor-gms-token", SecretString=TOKEN_CANARY
        )["ARN"]
        s3 = session.client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=_dummy_code_zip())

        parameters = {
            "DataHubBaseUrl": "http://127.0.0.1:8080/gms",
            "ExistingDataHubAccessTokenSecretArn": token_arn,
            "RunnerImage": "local/datahub-executor-runner:dev",
            "SubnetIds": subnet_id,
            "SecurityGroupIds": sg_id,
            "SecretArns": f"SNOWFLAKE_PASSWORD={token_arn}",
            "RunEnvVars": "DATAHUB_TELEMETRY_ENABLED=false",
        }
        template = translated_template(parameters)
        cfn = session.client("cloudformation")
        cfn.create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        described = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        }
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        yield {
            "session": session,
            "status": described["StackStatus"],
            "resources": resources,
            "outputs": outputs,
            "token_arn": token_arn,
            "template": template,
        }


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
        "EXECUTOR_ID": "remote",
        "RUN_BUCKET": stack["outputs"]["RunBucketName"],
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
    assert environment["SECRET_ARNS"] == f"SNOWFLAKE_PASSWORD={stack['token_arn']}"
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
