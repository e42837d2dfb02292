"""A moto-backed AWS account shaped like the deployed stack, plus the handler wired to the GMS stand-in.

The base task definition and the dispatcher's environment are template.yaml's, as SAM translates it
(`tests.support.template_resources`); moto needs a VPC with DNS hostnames and explicit security
groups (see docs/architecture.md, moto facts).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from dispatcher_ecs_rules import EcsCallCounter
from dispatcher_helpers import (
    ACCOUNT_ID,
    BUCKET,
    CLUSTER,
    FAMILY,
    GMS_TOKEN_VALUE,
    PG_PASSWORD_VALUE,
    PREFIX,
    REGION,
    template_resources,
)
from moto import mock_aws

from tests.support.aws_harness import awsvpc_network, captured_logs, lambda_context, set_lambda_env


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
    ecs_calls: EcsCallCounter

    def invoke(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The dispatcher's handler on `event`, with Lambda's context (`context`: one a test shaped, e.g. its clock)."""
        from dispatcher.handler import lambda_handler

        return lambda_handler(event, context or lambda_context("DispatcherFunction", REGION))

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


def _set_dispatcher_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """The dispatcher's environment against moto, plus `variables` (the rest of what template.yaml sets)."""
    set_lambda_env(monkeypatch, region=REGION, service="dispatcher", **variables)


@dataclass
class MotoAccount:
    ecs: Any
    s3: Any
    secretsmanager: Any
    subnet_id: str
    security_group_id: str
    base_task_definition_arn: str
    secret_arns: dict[str, str]
    ecs_calls: EcsCallCounter
    dispatcher_environment: dict[str, str]

    def reset(self) -> None:
        """Back to the freshly deployed stack: no tasks, only the base task definition, an empty bucket."""
        from moto.ecs.models import ecs_backends

        from local_stack.aws_fidelity import forget_client_tokens

        self.ecs_calls.calls.clear()
        backend = ecs_backends[ACCOUNT_ID][REGION]
        backend.tasks.clear()
        forget_client_tokens(backend)  # a fresh stack has used no RunTask clientToken
        for family in [f for f in backend.task_definitions if f != FAMILY]:
            del backend.task_definitions[family]
        listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        if listed:
            self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})


@pytest.fixture(scope="module")
def moto_account() -> Iterator[MotoAccount]:
    """GIVEN a deployed stack in moto, built once per test module (EC2 set-up is slow) and reset per test."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        _set_dispatcher_env(monkeypatch)
        subnet_id, sg_id = awsvpc_network(boto3.client("ec2", region_name=REGION))

        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName=CLUSTER)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sm = boto3.client("secretsmanager", region_name=REGION)
        token_arn = sm.create_secret(Name="datahub-executor/gms-token", SecretString=GMS_TOKEN_VALUE)["ARN"]
        pg_arn = sm.create_secret(Name=PREFIX + "PG_PASSWORD", SecretString=PG_PASSWORD_VALUE)["ARN"]
        resources = template_resources(token_arn, subnet_id, sg_id)
        definition = resources.task_definition_request("RunnerTaskDefinition")
        assert definition["family"] == FAMILY
        base_arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
        resources.name("RunnerTaskDefinition", base_arn)
        counter = EcsCallCounter()
        counter.install()
        try:
            yield MotoAccount(
                ecs=ecs,
                s3=s3,
                secretsmanager=sm,
                subnet_id=subnet_id,
                security_group_id=sg_id,
                base_task_definition_arn=base_arn,
                secret_arns={"PG_PASSWORD": pg_arn, "DATAHUB_GMS_TOKEN": token_arn},
                ecs_calls=counter,
                dispatcher_environment=resources.function_environment("DispatcherFunction"),
            )
        finally:
            counter.uninstall()


@pytest.fixture
def dispatcher_stack(
    moto_account: MotoAccount, gms_standin: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DispatcherStack]:
    """GIVEN the stack and DataHub (the stand-in), the handler configured the way template.yaml configures it."""
    from dispatcher.handler import dependencies
    from dispatcher.observability import logger
    from dispatcher.settings import get_settings

    moto_account.reset()
    # What template.yaml sets, with DataHub at the stand-in and its token in the environment (local mode).
    environment = dict(moto_account.dispatcher_environment)
    environment.pop("DATAHUB_GMS_TOKEN_SECRET_ARN")
    _set_dispatcher_env(
        monkeypatch,
        **{
            **environment,
            "DATAHUB_GMS_URL": gms_standin.url,
            "DATAHUB_GMS_TOKEN": gms_standin.token,
            # Secrets Manager only (DataHubSecretStore=Disabled): these tests pin the dispatcher's own refusals;
            # test_dispatcher_datahub_secrets.py turns DataHub's store on.
            "DATAHUB_SECRET_STORE_ENABLED": "false",
        },
    )
    get_settings.cache_clear()
    dependencies.cache_clear()

    try:
        with captured_logs(logger) as buffer:
            yield DispatcherStack(
                ecs=moto_account.ecs,
                s3=moto_account.s3,
                secretsmanager=moto_account.secretsmanager,
                gms=gms_standin,
                base_task_definition_arn=moto_account.base_task_definition_arn,
                secret_arns=dict(moto_account.secret_arns),
                log_buffer=buffer,
                ecs_calls=moto_account.ecs_calls,
            )
    finally:
        get_settings.cache_clear()
        dependencies.cache_clear()
