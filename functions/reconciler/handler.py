"""Reconciler entry point: ECS "Task State Change" events, through the SQS buffer or directly.

The EventBridge rule targets an SQS queue (durable buffer with its own DLQ), so the usual
input is an SQS batch whose record bodies are the EventBridge events; a failed record is
reported as a batch item failure and comes back. A raw EventBridge event (direct invocation,
`sam local invoke -e events/ecs_task_stopped_oom.json`) is told apart by its shape and handled
the same way; an error then propagates so that Lambda's async retry brings it back.

A record the logic defers (a runner that exited 0 may still be landing its final status) is sent
back to the same queue with `DelaySeconds` = the report grace and a `DEFERRED_ATTRIBUTE`, so the
second delivery is handled at once; the Lambda never sleeps.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from executor_common.aws.events import EventsAdapter, make_events_client
from executor_common.aws.logs import LogsAdapter, make_logs_client
from executor_common.aws.s3 import make_s3_client
from executor_common.aws.slots import RunSlots
from executor_common.aws.source_lease import SourceLeases
from executor_common.aws.sqs import SqsAdapter, make_sqs_client
from executor_common.aws.vcpu_ledger import VcpuLedger
from executor_common.errors import GmsTokenUnreadable
from executor_common.gms_guard import GuardedGms
from executor_common.metrics import count

from reconciler.logic import ReconcileResult, ReconcilerPorts, reconcile_stopped_task
from reconciler.observability import logger, tracer
from reconciler.run_metrics import emit, run_metrics
from reconciler.settings import get_settings
from reconciler.task_event import TaskStateChangeEvent, is_task_state_change

#: Marks an event the reconciler already delayed once (an SQS message attribute; the body stays AWS's event).
DEFERRED_ATTRIBUTE = "reconciler-deferred"

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def get_ports() -> ReconcilerPorts:
    """Clients created once per container (tests call `get_ports.cache_clear()`)."""
    from executor_common.gms_factory import make_gms_client

    settings = get_settings()
    # The dispatcher's breaker: during a sustained GMS outage a batch fails fast instead of timing out.
    gms = GuardedGms(make_gms_client(settings.datahub_gms_url, settings.datahub_gms_token_secret_arn))
    logs = LogsAdapter(make_logs_client(settings.aws_region)) if settings.log_group_name else None
    events = EventsAdapter(make_events_client(settings.aws_region)) if settings.event_bus_name else None
    commands = SqsAdapter(make_sqs_client(settings.aws_region)) if settings.command_queue_url else None
    s3 = make_s3_client(settings.aws_region) if settings.run_bucket else None
    slots = RunSlots(s3, settings.run_bucket) if s3 is not None and settings.run_bucket else None
    vcpus = VcpuLedger(s3, settings.run_bucket) if s3 is not None and settings.run_bucket else None
    leases = SourceLeases(s3, settings.run_bucket) if s3 is not None and settings.run_bucket else None
    return ReconcilerPorts(
        settings=settings,
        gms=gms,
        logs=logs,
        events=events,
        commands=commands,
        slots=slots,
        leases=leases,
        vcpus=vcpus,
    )


@functools.cache
def get_queue() -> SqsAdapter:
    """The SQS client that delays events, created on first use (tests call `get_queue.cache_clear()`)."""
    return SqsAdapter(make_sqs_client(get_settings().aws_region))


def handle_event(event: dict[str, Any], *, may_defer: bool = False) -> ReconcileResult:
    """One EventBridge event (already unwrapped from SQS): validate, reconcile, count."""
    logger.set_correlation_id(None)  # per record: a batch must not carry the previous run's keys
    logger.remove_keys(["task_arn", "event_version", "mapped_from"])
    parsed = TaskStateChangeEvent.model_validate(event)
    ports = get_ports()
    try:
        outcome = reconcile_stopped_task(parsed.detail, ports, may_defer=may_defer)
    except GmsTokenUnreadable as exc:
        # A deployment problem, not GMS: say which secret and how to fix it; the event comes back (DLQ + alarm).
        logger.error(str(exc), extra={"error_type": type(exc).__name__, "secret_arn": exc.secret_arn})
        count("GmsTokenUnreadable", ports.settings.powertools_metrics_namespace)
        raise
    if outcome.action == "written":
        count("RunsReconciled", ports.settings.powertools_metrics_namespace, Reason=outcome.reason or "Unknown")
    if outcome.measured:  # a run of ours seen final for the first time (a duplicate of our own write is not)
        status = str(outcome.status) if outcome.status else None
        emit(run_metrics(parsed.detail, status, ports.settings.prices), ports.settings.powertools_metrics_namespace)
    return outcome


def record_handler(record: SQSRecord) -> dict[str, Any]:
    settings = get_settings()
    already_deferred = DEFERRED_ATTRIBUTE in (record.message_attributes or {})
    queue_url = settings.reconciler_queue_url
    outcome = handle_event(record.json_body, may_defer=bool(queue_url) and not already_deferred)
    if outcome.action == "deferred" and queue_url:
        get_queue().send_delayed(queue_url, record.body, settings.report_grace_seconds, {DEFERRED_ATTRIBUTE: "1"})
    return {"action": outcome.action, "why": outcome.why}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | PartialItemFailureResponse:
    if is_task_state_change(event):
        outcome = handle_event(event)
        return {"action": outcome.action, "why": outcome.why, "status": outcome.status}
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# Validate the environment at cold start in Lambda: a misconfigured stack fails its init, not the tenth
# event. Elsewhere (tests, the local stack) the first event validates it, after the caller set it up.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    get_settings()
