"""The reconciler wired like template.yaml wires it: moto (CloudWatch Logs, ECS) and the GMS stand-in."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from reconciler_stack import CLUSTER, LOG_GROUP, REGION, ReconcilerStack


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
        buffer = io.StringIO()
        capture = logging.StreamHandler(buffer)
        capture.setFormatter(logger.registered_formatter)
        logger.addHandler(capture)
        try:
            yield ReconcilerStack(gms=gms_standin, logs=logs, log_buffer=buffer, env=env)
        finally:
            logger.removeHandler(capture)
            _clear_caches()
