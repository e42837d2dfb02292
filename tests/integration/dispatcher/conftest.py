"""A moto-backed AWS account shaped like the deployed stack, plus the handler wired to the GMS stand-in.

The base task definition resembles template.yaml's RunnerTaskDefinition (awslogs, the
DATAHUB_GMS_TOKEN secret, a non-root user); moto needs the container-level `memory`,
a VPC with DNS hostnames and explicit security groups (see DESIGN.md known facts).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"
CLUSTER = "datahub-executor-RunnerCluster"
FAMILY = "datahub-executor-runner"
LOG_GROUP = "/datahub-executor/runner"
BUCKET = "datahub-executor-runs-123456789012"
PREFIX = "datahub-executor/"
#: Canary secret values: they must never appear in overrides, logs or anything sent to DataHub.
PG_PASSWORD_VALUE = "canary-PG-p@ss-7f3a9c"
GMS_TOKEN_VALUE = "canary-gms-token-b41d2e"


@dataclass
class FakeLambdaContext:
    function_name: str = "datahub-executor-DispatcherFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:datahub-executor-DispatcherFunction"
    aws_request_id: str = "4b3c2d1e-0000-4000-8000-000000000001"


@dataclass
class DispatcherStack:
    """Handles on the moto account, the stand-in and the handler under test."""

    ecs: Any
    s3: Any
    secretsmanager: Any
    gms: Any
    base_task_definition_arn: str
    secret_arns: dict[str, str]
    log_buffer: io.StringIO
    env: dict[str, str] = field(default_factory=dict)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        from dispatcher.handler import lambda_handler

        return lambda_handler(event, FakeLambdaContext())

    def tasks(self) -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        if not arns:
            return []
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns, include=["TAGS"])["tasks"]

    def task_definition_families(self) -> list[str]:
        arns = self.ecs.list_task_definitions()["taskDefinitionArns"]
        return [arn.rsplit("/", 1)[-1] for arn in arns]

    def logs(self) -> str:
        return self.log_buffer.getvalue()

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs().splitlines() if line.strip().startswith("{")]


def runner_task_definition() -> dict[str, Any]:
    return {
        "family": FAMILY,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "1024",
        "memory": "4096",
        "ephemeralStorage": {"sizeInGiB": 21},
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "executionRoleArn": "arn:aws:iam::123456789012:role/datahub-executor-RunnerExecutionRole",
        "taskRoleArn": "arn:aws:iam::123456789012:role/datahub-executor-RunnerTaskRole",
        "containerDefinitions": [
            {
                "name": "runner",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/datahub-executor-runner:1.7.0.17",
                "essential": True,
                "memory": 4096,
                "user": "1000",
                "stopTimeout": 120,
                "environment": [
                    {"name": "DATAHUB_GMS_URL", "value": "https://datahub.example.com/gms"},
                    {"name": "EXECUTOR_ID", "value": "remote"},
                ],
                "secrets": [{"name": "DATAHUB_GMS_TOKEN", "valueFrom": "__TOKEN_ARN__"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": LOG_GROUP,
                        "awslogs-region": REGION,
                        "awslogs-stream-prefix": "runs",
                    },
                },
            }
        ],
    }


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DataHubRemoteExecutor",
        "POWERTOOLS_SERVICE_NAME": "dispatcher",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def dispatcher_stack(aws_env: None, gms_standin: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[DispatcherStack]:
    """GIVEN a deployed stack (moto) and DataHub (the stand-in), the handler configured like template.yaml does."""
    from dispatcher.handler import dependencies
    from dispatcher.observability import logger
    from dispatcher.settings import get_settings

    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg_id = ec2.create_security_group(GroupName="runner", Description="runner", VpcId=vpc_id)["GroupId"]

        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName=CLUSTER)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sm = boto3.client("secretsmanager", region_name=REGION)
        token_arn = sm.create_secret(Name="datahub-executor/gms-token", SecretString=GMS_TOKEN_VALUE)["ARN"]
        pg_arn = sm.create_secret(Name=PREFIX + "PG_PASSWORD", SecretString=PG_PASSWORD_VALUE)["ARN"]
        definition = runner_task_definition()
        definition["containerDefinitions"][0]["secrets"][0]["valueFrom"] = token_arn
        base_arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]

        env = {
            "DATAHUB_GMS_URL": gms_standin.url,
            "DATAHUB_GMS_TOKEN": gms_standin.token,
            "EXECUTOR_ID": "remote",
            "ECS_CLUSTER": CLUSTER,
            "TASK_DEFINITION_ARN": base_arn,
            "RUNNER_CONTAINER_NAME": "runner",
            "SUBNET_IDS": subnet_id,
            "SECURITY_GROUP_IDS": sg_id,
            "ASSIGN_PUBLIC_IP": "DISABLED",
            "CAPACITY_PROVIDER": "FARGATE",
            "DEFAULT_TASK_CPU": "1024",
            "DEFAULT_TASK_MEMORY": "4096",
            "DEFAULT_EPHEMERAL_STORAGE_GIB": "21",
            "DEFAULT_RUN_TIMEOUT_SECONDS": "86400",
            "SECRET_NAME_PREFIX": PREFIX,
            "SECRET_ARNS": "",
            "RUN_ENV_VARS": "DATAHUB_TELEMETRY_ENABLED=false",
            "RUN_BUCKET": BUCKET,
            "LOG_GROUP_NAME": LOG_GROUP,
            "LOG_STREAM_PREFIX": "runs",
        }
        monkeypatch.delenv("DATAHUB_GMS_TOKEN_SECRET_ARN", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        dependencies.cache_clear()

        buffer = io.StringIO()
        capture = logging.StreamHandler(buffer)
        capture.setFormatter(logger.registered_formatter)
        logger.addHandler(capture)
        try:
            yield DispatcherStack(
                ecs=ecs,
                s3=s3,
                secretsmanager=sm,
                gms=gms_standin,
                base_task_definition_arn=base_arn,
                secret_arns={"PG_PASSWORD": pg_arn, "DATAHUB_GMS_TOKEN": token_arn},
                log_buffer=buffer,
                env=env,
            )
        finally:
            logger.removeHandler(capture)
            get_settings.cache_clear()
            dependencies.cache_clear()
