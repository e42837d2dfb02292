"""The backstop's sweep: stop this executor's tasks that ran far past their run timeout; free stale leases.

The runner's own timeout is the primary guard; this catches a hung runner (or one whose
timeout logic never fired). `plan_stops` is pure and table-tested; `sweep` only does the I/O.
Only tasks that carry a run marker (the execution-request tag or override) are considered,
so nothing else on the cluster is ever stopped. The reconciler then sees the STOPPED event and
writes FAILURE with a "timed out" explanation (it recognises the reason's prefix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from executor_common.aws.conditional import Held
from executor_common.aws.ecs import EcsAdapter
from executor_common.aws.slots import Holder, RunSlots
from executor_common.aws.source_lease import Lease, SourceLeases
from executor_common.aws.vcpu_ledger import Entry, VcpuLedger
from executor_common.durations import human_duration
from executor_common.ecs_task import TaskDetail
from executor_common.runspec import ENV_EXECUTION_REQUEST_URN, ENV_RUN_TIMEOUT, TAG_EXECUTION_REQUEST, TAG_RUN_TIMEOUT
from executor_common.stop_reasons import BACKSTOP_REASON_PREFIX, MAX_REASON_CHARS

from backstop.observability import logger


@dataclass(frozen=True)
class StopPlan:
    task_arn: str
    urn: str | None
    running_seconds: float
    timeout_seconds: int
    reason: str


def backstop_reason(running_seconds: float, timeout_seconds: int, grace_seconds: int) -> str:
    """The StopTask reason: starts with the prefix the reconciler recognises (a "timed out" FAILURE)."""
    reason = (
        f"{BACKSTOP_REASON_PREFIX}: running for {human_duration(running_seconds)}, "
        f"longer than its timeout {human_duration(timeout_seconds)} (+{human_duration(grace_seconds)} grace)"
    )
    return reason[:MAX_REASON_CHARS]


def _tags(task: dict[str, Any]) -> dict[str, str]:
    return {t.get("key", ""): t.get("value", "") for t in task.get("tags", []) if isinstance(t, dict)}


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number and number > 0 else None


def run_timeout_seconds(task: dict[str, Any], default_seconds: int) -> int:
    """The run's own timeout: the tag, else the runner override, else the stack's default."""
    detail = TaskDetail.model_validate(task)
    return (
        _positive_int(_tags(task).get(TAG_RUN_TIMEOUT))
        or _positive_int(detail.override_env(ENV_RUN_TIMEOUT))
        or default_seconds
    )


def plan_stops(tasks: list[dict[str, Any]], now: datetime, default_timeout: int, grace: int) -> list[StopPlan]:
    """Which of these described tasks to stop, and with what reason."""
    plans: list[StopPlan] = []
    for task in tasks:
        detail = TaskDetail.model_validate(task)
        urn = _tags(task).get(TAG_EXECUTION_REQUEST) or detail.override_env(ENV_EXECUTION_REQUEST_URN)
        if not urn or detail.desiredStatus == "STOPPED":
            continue
        began = detail.startedAt or detail.createdAt
        if began is None:
            continue
        running = (now - began).total_seconds()
        timeout = run_timeout_seconds(task, default_timeout)
        if running > timeout + grace:
            plans.append(StopPlan(detail.taskArn, urn, running, timeout, backstop_reason(running, timeout, grace)))
    return plans


def live_urns(tasks: list[dict[str, Any]]) -> set[str | None]:
    """The runs of `tasks` (desired RUNNING), by their override or their tag."""
    live = {TaskDetail.model_validate(task).override_env(ENV_EXECUTION_REQUEST_URN) for task in tasks}
    live.update(_tags(task).get(TAG_EXECUTION_REQUEST) for task in tasks)
    return live


C = TypeVar("C", bound=Held)


def stale_claims(holders: Sequence[C], tasks: list[dict[str, Any]], now: datetime, stale_seconds: int) -> list[C]:
    """Slots (or leases) claimed over `stale_seconds` ago whose run has no live task among `tasks` (desired RUNNING)."""
    live = live_urns(tasks)
    cutoff = now.timestamp() - stale_seconds
    return [holder for holder in holders if holder.urn not in live and holder.claimed_at < cutoff]


def sweep_vcpus(vcpus: VcpuLedger, tasks: list[dict[str, Any]], now: datetime, stale_seconds: int) -> list[Entry]:
    """Free the vCPU ledger's entries claimed over `stale_seconds` ago whose run has no live task (a conditional
    write: an entry added since the read is kept, the sweep re-reads and tries again)."""
    if not vcpus.exists():
        return []
    live = live_urns(tasks)
    cutoff = now.timestamp() - stale_seconds
    freed = vcpus.remove(lambda entry: entry.urn not in live and entry.claimed_at < cutoff)
    for entry in freed:
        logger.warning("Backstop freed a stale vCPU ledger entry", extra={"urn": entry.urn, "vcpus": entry.vcpus})
    return freed


def sweep_slots(slots: RunSlots, tasks: list[dict[str, Any]], now: datetime, stale_seconds: int) -> list[Holder]:
    """Free the stale run slots (a conditional delete: a slot claimed again since it was read stays)."""
    freed = [holder for holder in stale_claims(slots.holders(), tasks, now, stale_seconds) if slots.free(holder)]
    for holder in freed:
        logger.warning("Backstop freed a stale run slot", extra={"slot": holder.index, "urn": holder.urn})
    return freed


def sweep_leases(leases: SourceLeases, tasks: list[dict[str, Any]], now: datetime, stale_seconds: int) -> list[Lease]:
    """Free the stale source leases (conditional deletes, as for the slots)."""
    freed = [lease for lease in stale_claims(leases.holders(), tasks, now, stale_seconds) if leases.free(lease)]
    for lease in freed:
        logger.warning("Backstop freed a stale source lease", extra={"source": lease.source, "urn": lease.urn})
    return freed


def sweep(
    ecs: EcsAdapter,
    now: datetime,
    default_timeout: int,
    grace: int,
    slots: RunSlots | None = None,
    stale_slot_seconds: int = 0,
    vcpus: VcpuLedger | None = None,
    leases: SourceLeases | None = None,
) -> list[StopPlan]:
    """List the cluster's running tasks, stop the over-time ones; a failed stop is logged, the rest go on.
    With `slots` / `leases` / `vcpus`, free the run slots, source leases and vCPU ledger entries no live task
    holds."""
    tasks = ecs.describe_tasks_with_tags(ecs.list_running_task_arns())
    if slots is not None:
        try:
            sweep_slots(slots, tasks, now, stale_slot_seconds)
        except Exception:
            logger.exception("Backstop could not sweep the run slots")
    if leases is not None:
        try:
            sweep_leases(leases, tasks, now, stale_slot_seconds)
        except Exception:
            logger.exception("Backstop could not sweep the source leases")
    if vcpus is not None:
        try:
            sweep_vcpus(vcpus, tasks, now, stale_slot_seconds)
        except Exception:
            logger.exception("Backstop could not sweep the vCPU ledger")
    plans = plan_stops(tasks, now, default_timeout, grace)
    stopped: list[StopPlan] = []
    for plan in plans:
        try:
            ecs.stop_task(plan.task_arn, plan.reason)
        except Exception:
            logger.exception("Backstop could not stop a task", extra={"task_arn": plan.task_arn, "urn": plan.urn})
            continue
        logger.warning("Backstop stopped an over-time task", extra={"task_arn": plan.task_arn, "urn": plan.urn})
        stopped.append(plan)
    logger.info("Backstop sweep done", extra={"running": len(tasks), "stopped": len(stopped)})
    return stopped
