"""Builders for dispatcher unit tests: settings and commands without any environment or network."""

from __future__ import annotations

import json
from typing import Any

from dispatcher.settings import DispatcherSettings
from executor_common.contract import RunCommand, parse_command

BASE_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/datahub-executor-runner:7"


def make_settings(**overrides: Any) -> DispatcherSettings:
    values: dict[str, Any] = {
        "datahub_gms_url": "https://datahub.example.com/gms",
        "ecs_cluster": "datahub-executor-RunnerCluster",
        "task_definition_arn": BASE_ARN,
        "subnet_ids": "subnet-1,subnet-2",
        "security_group_ids": "sg-1",
        "run_bucket": "runs-bucket",
        "log_group_name": "/datahub-executor/runner",
        "secret_name_prefix": "datahub-executor/",
        "run_env_vars": "DATAHUB_TELEMETRY_ENABLED=false",
    }
    values.update(overrides)
    return DispatcherSettings(_env_file=None, **values)  # type: ignore[call-arg]


def make_run_command(
    recipe: dict[str, Any] | str | None = None,
    *,
    env: dict[str, str] | None = None,
    execution_id: str = "3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f",
    version: str = "1.7.0.17",
    task: str = "RUN_INGEST",
    ingestion_source: str | None = "urn:li:dataHubIngestionSource:b5e3a8e4",
    extra_pip_plugins: list[str] | None = None,
) -> RunCommand:
    recipe = (
        recipe if recipe is not None else {"source": {"type": "postgres", "config": {"password": "${PG_PASSWORD}"}}}
    )
    source: dict[str, Any] = {"type": "MANUAL_INGESTION_SOURCE"}
    if ingestion_source:
        source["ingestionSource"] = ingestion_source
    command = parse_command(
        {
            "entityUrn": f"urn:li:dataHubExecutionRequest:{execution_id}",
            "aspectName": "dataHubExecutionRequestInput",
            "aspect": {
                "task": task,
                "args": {
                    "recipe": recipe if isinstance(recipe, str) else json.dumps(recipe),
                    "version": version,
                    "extra_env_vars": json.dumps(env or {}),
                    **({"extra_pip_plugins": json.dumps(extra_pip_plugins)} if extra_pip_plugins else {}),
                },
                "executorId": "remote",
                "source": source,
                "requestedAt": 1764140000000,
                "actorUrn": "urn:li:corpuser:datahub",
            },
        }
    )
    assert isinstance(command, RunCommand)
    return command
