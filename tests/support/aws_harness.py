"""What the moto-backed integration tests share: the functions' environment and context, captured logs,
SQS batches and an awsvpc network.

A named module (not a conftest): test folders import their helpers by bare name, so names must be unique.
"""

from __future__ import annotations

import copy
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from local_stack.lambdas import LambdaContext
from local_stack.moto_server import ACCOUNT_ID, FAKE_CREDENTIALS, REGION
from local_stack.network import awsvpc_network
from tests.conftest import load_event

#: The tests' one account and region (the local stack's own) and their one awsvpc network setup.
__all__ = ["ACCOUNT_ID", "REGION", "awsvpc_network"]

#: Set in a developer's shell, these would send boto3 to a real account or endpoint instead of to moto.
REAL_AWS_VARIABLES = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS")


def set_moto_aws_env(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    """boto3 in this process sees moto's fake credentials and `region`, and nothing that leads elsewhere."""
    for name in REAL_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}.items():
        monkeypatch.setenv(name, value)


def set_lambda_env(monkeypatch: pytest.MonkeyPatch, *, region: str, service: str, **variables: str) -> None:
    """The environment template.yaml gives a function (plus `variables`), against moto."""
    set_moto_aws_env(monkeypatch, region)
    monkeypatch.delenv("DATAHUB_GMS_TOKEN_SECRET_ARN", raising=False)  # the fixtures pass DATAHUB_GMS_TOKEN
    environment = {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DataHubRemoteExecutor",
        "POWERTOOLS_SERVICE_NAME": service,
        **variables,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def lambda_context(logical_id: str, region: str) -> LambdaContext:
    """The context Lambda passes to the stack's function `logical_id` (e.g. "DispatcherFunction")."""
    name = f"datahub-executor-{logical_id}"
    return LambdaContext(
        function_name=name,
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
        timeout_seconds=60,
    )


@contextmanager
def captured_logs(logger: Any) -> Iterator[io.StringIO]:
    """What a powertools `logger` writes at INFO and above while the block runs, formatted as in CloudWatch (one
    JSON per line). The level is set for the block: the module-level logger keeps the level of whichever test
    imported it first (the fault harness imports the handlers at CRITICAL)."""
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.setLevel(logging.INFO)
    logger.addHandler(capture)
    try:
        yield buffer
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)


def sqs_event_from_sample(sample: str, bodies: list[str]) -> dict[str, Any]:
    """An SQS event with the record envelope of the sample event `sample` (in events/), one record per body."""
    template = load_event(sample)["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"00000000-0000-4000-8000-{index:012d}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def register_runner_task_definition(
    ecs: Any, family: str, *, cpu: str = "256", memory: str = "512", image: str = "runner:1"
) -> str:
    """A minimal Fargate task definition with the runner container, for tests that need any task to run.

    Tests of the dispatcher's own task definitions build them from template.yaml instead
    (tests/support/template_resources.py); this one only has to be a valid Fargate pair.
    """
    from executor_common.runspec import RUNNER_CONTAINER_NAME

    container = {"name": RUNNER_CONTAINER_NAME, "image": image, "memory": int(memory)}
    return str(
        ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu=cpu,
            memory=memory,
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]
    )
