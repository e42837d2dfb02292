"""Backstop entry point (EventBridge schedule, every 10 minutes): stop over-time runs' tasks, free stale leases
(run slots, source leases) and vCPU ledger entries."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from executor_common.aws.ecs import EcsAdapter, make_ecs_client
from executor_common.aws.s3 import make_s3_client
from executor_common.aws.slots import RunSlots
from executor_common.aws.source_lease import SourceLeases
from executor_common.aws.vcpu_ledger import VcpuLedger
from executor_common.metrics import count

from backstop.observability import logger, tracer
from backstop.settings import get_settings
from backstop.sweeper import sweep

HEARTBEAT_METRIC = "BackstopHeartbeat"


@functools.cache
def get_ecs() -> EcsAdapter:
    """The ECS adapter, created once per container (tests call `get_ecs.cache_clear()`)."""
    settings = get_settings()
    return EcsAdapter(make_ecs_client(settings.aws_region), settings.ecs_cluster)


@functools.cache
def get_slots() -> RunSlots | None:
    """The run slots to sweep, when the stack has a run bucket (tests call `get_slots.cache_clear()`)."""
    settings = get_settings()
    return RunSlots(make_s3_client(settings.aws_region), settings.run_bucket) if settings.run_bucket else None


@functools.cache
def get_leases() -> SourceLeases | None:
    """The source leases to sweep, when the stack has a run bucket (tests call `get_leases.cache_clear()`)."""
    settings = get_settings()
    return SourceLeases(make_s3_client(settings.aws_region), settings.run_bucket) if settings.run_bucket else None


@functools.cache
def get_vcpus() -> VcpuLedger | None:
    """The vCPU ledger to sweep, when the stack has a run bucket (tests call `get_vcpus.cache_clear()`)."""
    settings = get_settings()
    return VcpuLedger(make_s3_client(settings.aws_region), settings.run_bucket) if settings.run_bucket else None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    stopped = sweep(
        get_ecs(),
        now=datetime.now(UTC),
        default_timeout=settings.default_run_timeout_seconds,
        grace=settings.backstop_grace_seconds,
        slots=get_slots(),
        stale_slot_seconds=settings.stale_slot_seconds,
        leases=get_leases(),
        vcpus=get_vcpus(),
    )
    for _ in stopped:
        count("BackstopStops", settings.powertools_metrics_namespace)
    # After a sweep that worked: the heartbeat alarm (TreatMissingData: breaching) fires when the schedule stops
    # running or every sweep fails.
    count(HEARTBEAT_METRIC, settings.powertools_metrics_namespace)
    return {"stopped": [plan.task_arn for plan in stopped]}


# Validate the environment at cold start in Lambda: a misconfigured stack fails its init, not the tenth
# event. Elsewhere (tests, the local stack) the first event validates it, after the caller set it up.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    get_settings()
