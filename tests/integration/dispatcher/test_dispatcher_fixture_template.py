"""The dispatcher's fixtures launch what template.yaml deploys, not a copy declared beside the tests."""

from __future__ import annotations

import os
from typing import Any

import pytest
from dispatcher_helpers import BUCKET, CLUSTER, FAMILY

from tests.support.template_resources import TemplateResources


def test_fixture_base_task_definition_is_the_templates_runner_task_definition(dispatcher_stack: Any) -> None:
    described = dispatcher_stack.ecs.describe_task_definition(taskDefinition=dispatcher_stack.base_task_definition_arn)
    (container,) = described["taskDefinition"]["containerDefinitions"]

    assert described["taskDefinition"]["family"] == FAMILY
    assert described["taskDefinition"]["networkMode"] == "awsvpc"
    assert container["linuxParameters"]["initProcessEnabled"] is True
    assert {e["name"]: e["value"] for e in container["environment"]}["RUN_BUCKET"] == BUCKET
    assert container["secrets"] == [
        {"name": "DATAHUB_GMS_TOKEN", "valueFrom": dispatcher_stack.secret_arns["DATAHUB_GMS_TOKEN"]}
    ]


def test_fixture_dispatcher_environment_is_the_templates(dispatcher_stack: Any) -> None:
    assert os.environ["ECS_CLUSTER"] == CLUSTER
    assert os.environ["TASK_DEFINITION_ARN"] == dispatcher_stack.base_task_definition_arn
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "INFO"  # set by template.yaml's Globals, not by the fixture
    assert "DATAHUB_GMS_TOKEN_SECRET_ARN" not in os.environ  # the stand-in's token comes from the environment


def test_template_resources_unnamed_reference_fails_naming_it() -> None:
    resources = TemplateResources(
        {
            "DataHubBaseUrl": "https://d/gms",
            "ExistingDataHubAccessTokenSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:t",
        },
        {},
        region="us-east-1",
        account_id="123456789012",
        stack_name="s",
    )

    with pytest.raises(KeyError, match="RunnerCluster"):
        resources.function_environment("DispatcherFunction")
