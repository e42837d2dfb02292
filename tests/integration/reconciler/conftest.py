"""The reconciler wired like template.yaml wires it: moto (ECS, CloudWatch Logs) and the GMS stand-in."""

from __future__ import annotations

import copy
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_event

REGION = "us-east-1"
#: The cluster the sample events in events/ come from.
CLUSTER = "datahub-remote-executor"
LOG_GROUP = "/datahub-executor/runner"


@dataclass
class FakeLambdaContext:
    function_name: str = "datahub-executor-ReconcilerFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:datahub-executor-ReconcilerFunction"
    aws_request_id: str = "9e8d7c6b-0000-4000-8000-000000000002"


def sqs_batch(*events: dict[str, Any]) -> dict[str, Any]:
    """Events wrapped the way the EventBridge rule -> SQS buffer -> Lambda event source delivers them."""
    template = load_event("reconciler_sqs_batch.json")["Records"][0]
    records = []
    for index, event in enumerate(events):
        record = copy.deepcopy(template)
        record["messageId"] = f"00000000-0000-4000-8000-{index:012d}"
        record["body"] = json.dumps(event)
        records.append(record)
    return {"Records": records}


@dataclass
class ReconcilerStack:
    gms: Any
    logs: Any
    ecs: Any
    log_buffer: io.StringIO
    env: dict[str, str] = field(default_factory=dict)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        from reconciler.handler import lambda_handler

        return lambda_handler(event, FakeLambdaContext(function_name="datahub-executor-ReconcilerFunction"))

    def invoke_backstop(self, event: dict[str, Any]) -> dict[str, Any]:
        from reconciler.backstop import lambda_handler

        return lambda_handler(event, FakeLambdaContext(function_name="datahub-executor-BackstopFunction"))

    def put_run_log(self, task_id: str, lines: list[str]) -> None:
        """Lines as the runner container's awslogs driver would have written them."""
        stream = f"runs/runner/{task_id}"
        self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        now_ms = int(time.time() * 1000)  # CloudWatch (and moto) refuse events older than 14 days
        response = self.logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": now_ms - len(lines) + i, "message": line} for i, line in enumerate(lines)],
        )
        assert "rejectedLogEventsInfo" not in response

    def writes(self) -> list[dict[str, Any]]:
        return self.gms.requests_to("/aspects", "ingestProposal")

    def logs_text(self) -> str:
        return self.log_buffer.getvalue()


def _clear_caches() -> None:
    from reconciler.backstop import get_ecs
    from reconciler.handler import get_ports
    from reconciler.settings import get_settings

    get_settings.cache_clear()
    get_ports.cache_clear()
    get_ecs.cache_clear()


@pytest.fixture
def reconciler_stack(gms_standin: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReconcilerStack]:
    """GIVEN the stack's cluster and log group (moto) and DataHub (the stand-in)."""
    from reconciler.observability import logger

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DataHubRemoteExecutor",
        "POWERTOOLS_SERVICE_NAME": "reconciler",
        "DATAHUB_GMS_URL": gms_standin.url,
        "DATAHUB_GMS_TOKEN": gms_standin.token,
        "EXECUTOR_ID": "remote",
        "ECS_CLUSTER": CLUSTER,
        "RUNNER_CONTAINER_NAME": "runner",
        "LOG_GROUP_NAME": LOG_GROUP,
        "LOG_STREAM_PREFIX": "runs",
        "DEFAULT_RUN_TIMEOUT_SECONDS": "86400",
        "REPORT_GRACE_SECONDS": "0",
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "DATAHUB_GMS_TOKEN_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    with mock_aws():
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName=LOG_GROUP)
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName=CLUSTER)
        buffer = io.StringIO()
        capture = logging.StreamHandler(buffer)
        capture.setFormatter(logger.registered_formatter)
        logger.addHandler(capture)
        try:
            yield ReconcilerStack(gms=gms_standin, logs=logs, ecs=ecs, log_buffer=buffer, env=env)
        finally:
            logger.removeHandler(capture)
            _clear_caches()
