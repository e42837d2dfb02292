"""The reconciler wired like template.yaml wires it: moto (CloudWatch Logs, ECS) and the GMS stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from reconciler_stack import CLUSTER, LOG_GROUP, REGION, ReconcilerStack

from tests.support.aws_harness import captured_logs, set_lambda_env


def _clear_caches() -> None:
    from backstop.handler import get_ecs
    from backstop.settings import get_settings as get_backstop_settings
    from reconciler.handler import get_ports, get_queue
    from reconciler.settings import get_settings

    get_settings.cache_clear()
    get_backstop_settings.cache_clear()
    get_ports.cache_clear()
    get_queue.cache_clear()
    get_ecs.cache_clear()


@pytest.fixture
def reconciler_stack(gms_standin: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReconcilerStack]:
    """GIVEN the stack's cluster and log group (moto) and DataHub (the stand-in)."""
    from reconciler.observability import logger

    set_lambda_env(
        monkeypatch,
        region=REGION,
        service="reconciler",
        DATAHUB_GMS_URL=gms_standin.url,
        DATAHUB_GMS_TOKEN=gms_standin.token,
        EXECUTOR_ID="remote",
        ECS_CLUSTER=CLUSTER,
        LOG_GROUP_NAME=LOG_GROUP,
        LOG_STREAM_PREFIX="runs",
        DEFAULT_RUN_TIMEOUT_SECONDS="86400",
        REPORT_GRACE_SECONDS="0",
    )
    _clear_caches()
    with mock_aws():
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName=LOG_GROUP)
        try:
            with captured_logs(logger) as buffer:
                yield ReconcilerStack(gms=gms_standin, logs=logs, log_buffer=buffer)
        finally:
            _clear_caches()
