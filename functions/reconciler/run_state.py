"""The reconciler's run-state event: the terminal status it wrote, for users' EventBridge rules and alerts."""

from __future__ import annotations

from executor_common.aws.events import EventsAdapter
from executor_common.cost import PriceTable, estimate
from executor_common.ecs_task import TaskDetail
from executor_common.results import ExecutionRequestResult
from executor_common.run_event import run_state_detail

from reconciler.observability import logger
from reconciler.run_metrics import source_of, task_usage

INGESTION_SOURCE_URN_PREFIX = "urn:li:dataHubIngestionSource:"


def publish_run_state(
    events: EventsAdapter | None,
    bus: str | None,
    *,
    detail: TaskDetail,
    urn: str,
    result: ExecutionRequestResult,
    headline: str,
    prices: PriceTable,
) -> None:
    """Best effort: an event that cannot be put is logged, never a reason to redeliver the STOPPED event."""
    if events is None or not bus:
        return
    usage = task_usage(detail)
    source = source_of(detail)
    event = run_state_detail(
        urn=urn,
        status=str(result.status),
        executor_id=None,
        source_urn=INGESTION_SOURCE_URN_PREFIX + source if source not in ("unknown", "adhoc") else None,
        duration_ms=result.durationMs,
        cost_usd=estimate(usage, prices).usd if usage else None,
        diagnosis=headline,
        task_arn=detail.taskArn,
        reported_by="reconciler",
    )
    try:
        events.put_run_state(bus, event)
    except Exception as exc:
        logger.warning("Could not publish the run-state event", extra={"bus": bus, "error_type": type(exc).__name__})
