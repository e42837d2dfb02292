"""Building dispatcher test events from the samples in events/ (one source of truth for the shapes)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import load_event
from tests.support.aws_harness import ACCOUNT_ID, sqs_event_from_sample
from tests.support.aws_harness import REGION as REGION  # the dispatcher tests import it from here
from tests.support.template_resources import TemplateResources

CLUSTER = "datahub-executor-RunnerCluster"
FAMILY = "datahub-executor-runner"
LOG_GROUP = "/datahub-executor/runner"
BUCKET = f"datahub-executor-runs-{ACCOUNT_ID}"
PREFIX = "datahub-executor/"
#: Canary secret values: they must never appear in overrides, logs or anything sent to DataHub.
PG_PASSWORD_VALUE = "canary-PG-p@ss-7f3a9c"
GMS_TOKEN_VALUE = "canary-gms-token-b41d2e"

SQLITE_RECIPE = {
    "source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": "sqlite:////tmp/x.db"}}
}
PG_RECIPE = {
    "source": {
        "type": "postgres",
        "config": {"host_port": "db:5432", "database": "analytics", "username": "u", "password": "${PG_PASSWORD}"},
    }
}


def urn_of(execution_id: str) -> str:
    return f"urn:li:dataHubExecutionRequest:{execution_id}"


def run_body(
    execution_id: str,
    recipe: dict[str, Any] | str = SQLITE_RECIPE,
    *,
    env: dict[str, str] | None = None,
    executor_id: str = "remote",
    task: str = "RUN_INGEST",
    version: str = "1.7.0.17",
) -> str:
    """A RUN_INGEST body shaped like the one in events/run_ingest.json, with the given parts replaced."""
    body = json.loads(load_event("run_ingest.json")["Records"][0]["body"])
    body["entityUrn"] = urn_of(execution_id)
    aspect = body["aspect"]
    aspect["task"] = task
    aspect["executorId"] = executor_id
    aspect["args"]["recipe"] = recipe if isinstance(recipe, str) else json.dumps(recipe)
    aspect["args"]["extra_env_vars"] = json.dumps(env or {})
    aspect["args"]["version"] = version
    return json.dumps(body)


def kill_body(execution_id: str, actor: str = "urn:li:corpuser:jdoe") -> str:
    body = json.loads(load_event("cancel.json")["Records"][0]["body"])
    body["entityUrn"] = urn_of(execution_id)
    body["aspect"]["createdAt"]["actor"] = actor
    return json.dumps(body)


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS event (the envelope of events/run_ingest.json) carrying `bodies`, one record each."""
    return sqs_event_from_sample("run_ingest.json", list(bodies))


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]


def env_of(task: dict[str, Any]) -> dict[str, str]:
    container = task["overrides"]["containerOverrides"][0]
    return {item["name"]: item["value"] for item in container.get("environment", [])}


RUNNER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/datahub-executor-runner:1.7.0.17"
STACK_NAME = "datahub-executor"


def template_resources(token_arn: str, subnet_id: str, security_group_id: str, **parameters: str) -> TemplateResources:
    """template.yaml as deployed with the stack's names (and `parameters`): the runner task definitions and the
    dispatcher's environment come from it, so these tests launch what `sam deploy` would configure."""
    return TemplateResources(
        {
            "DataHubBaseUrl": "https://datahub.example.com/gms",
            "ExistingDataHubAccessTokenSecretArn": token_arn,
            "RunnerImage": RUNNER_IMAGE,
            "SubnetIds": subnet_id,
            "SecurityGroupIds": security_group_id,
            "RunEnvVars": "DATAHUB_TELEMETRY_ENABLED=false",
            **parameters,
        },
        {
            "RunnerCluster": CLUSTER,
            "RunBucket": BUCKET,
            "RunnerLogGroup": LOG_GROUP,
            "RunnerExecutionRole.Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-RunnerExecutionRole",
            "RunnerTaskRole.Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-RunnerTaskRole",
        },
        region=REGION,
        account_id=ACCOUNT_ID,
        stack_name=STACK_NAME,
    )


def configure(monkeypatch: Any, **variables: str) -> None:
    """Set dispatcher environment variables and drop the cached settings and adapters, as a new deployment would."""
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    dependencies.cache_clear()
