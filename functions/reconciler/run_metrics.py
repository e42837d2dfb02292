"""Per-run metrics from a STOPPED task, for the dashboard: cost and duration per source, time to RUNNING, status.

Emitted here rather than by the runner: the reconciler sees every task of the cluster stop, with
ECS's own times and size (also runs whose container never started or was killed), while the
runner's stdout is the ingestion's log in the runner log group. Fargate bills from the start of the
image pull (`pullStartedAt`) to `stoppedAt`.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_common.cost import INCLUDED_EPHEMERAL_GIB, PriceTable, RunUsage, estimate
from executor_common.ecs_task import TaskDetail
from executor_common.runspec import TASK_GROUP_PREFIX

SPOT_CAPACITY_PROVIDER = "FARGATE_SPOT"


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    unit: str
    dimensions: tuple[tuple[str, str], ...]


def source_of(detail: TaskDetail) -> str:
    """The ingestion source id from the task group `ingestion:<id>` (`adhoc` for a run without a source)."""
    group = detail.group or ""
    return group[len(TASK_GROUP_PREFIX) :] or "unknown" if group.startswith(TASK_GROUP_PREFIX) else "unknown"


def task_usage(detail: TaskDetail) -> RunUsage | None:
    """What Fargate bills the task for; None when the event lacks its size or its times."""
    begin = detail.pullStartedAt or detail.startedAt or detail.createdAt
    cpu = detail.overrides.cpu or detail.cpu
    memory = detail.overrides.memory or detail.memory
    if not (begin and detail.stoppedAt and cpu and memory and cpu.isdigit() and memory.isdigit()):
        return None
    storage = detail.ephemeralStorage.sizeInGiB if detail.ephemeralStorage else None
    return RunUsage(
        cpu_units=int(cpu),
        memory_mib=int(memory),
        seconds=max(0.0, (detail.stoppedAt - begin).total_seconds()),
        ephemeral_gib=storage or INCLUDED_EPHEMERAL_GIB,
        spot=detail.capacityProviderName == SPOT_CAPACITY_PROVIDER,
    )


def run_metrics(detail: TaskDetail, status: str | None, prices: PriceTable) -> list[MetricPoint]:
    """The points for one stopped run: RunsFinished by Status; cost, duration and time to RUNNING by Source."""
    by_source = (("Source", source_of(detail)),)
    points = [MetricPoint("RunsFinished", 1, "Count", (("Status", status or "UNKNOWN"),))]
    usage = task_usage(detail)
    if usage is not None:
        points.append(MetricPoint("RunCostUsd", estimate(usage, prices).usd, "None", by_source))
        points.append(MetricPoint("RunDurationSeconds", usage.seconds, "Seconds", by_source))
    if detail.createdAt and detail.startedAt:
        waited = max(0.0, (detail.startedAt - detail.createdAt).total_seconds())
        points.append(MetricPoint("TimeToRunningSeconds", waited, "Seconds", ()))
    return points


def emit(points: list[MetricPoint], namespace: str) -> None:
    """One EMF document per point (each with its own dimensions), printed for CloudWatch Logs to extract."""
    from aws_lambda_powertools import single_metric
    from aws_lambda_powertools.metrics import MetricUnit

    for point in points:
        with single_metric(
            name=point.name, unit=MetricUnit(point.unit), value=point.value, namespace=namespace
        ) as metric:
            for key, value in point.dimensions:
                metric.add_dimension(name=key, value=value)
