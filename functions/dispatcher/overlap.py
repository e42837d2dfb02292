"""Overlapping runs of one ingestion source: allow (as before), skip, queue or replace.

Set per source with the extra env var EXECUTOR_OVERLAP_POLICY, with the stack's OverlapPolicy as the
default. A scheduled and a manual run of a source carry the same ingestion source URN, so both are
covered. The runs of a source are found by their ECS task group, `ingestion:<source id>` (the planner
sets it on RunTask): ListTasks desiredStatus=RUNNING, DescribeTasks, keep that group, leave out this run's
own task (a redelivery after its launch). Ad-hoc runs (no source) never overlap.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from executor_common.aws.ecs import EcsAdapter, is_stopped
from executor_common.contract import ExecutionTask
from executor_common.errors import ExecutorError, GmsError, PermanentError, RetryableError
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import CANCEL_REASON_PREFIX, ENV_OVERLAP_POLICY, TAG_EXECUTION_REQUEST
from executor_common.status import ExecutionStatus

from dispatcher.gms_guard import GuardedGms
from dispatcher.observability import logger
from dispatcher.planner import group_for, started_by_for
from dispatcher.validation import ValidatedRun


class OverlapPolicy(StrEnum):
    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"
    REPLACE = "replace"


class OverlapSkipped(ExecutorError):
    """The run ends at once (DUPLICATE in DataHub): another run of its source is still going."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def policy_for(run: ValidatedRun, default: str) -> OverlapPolicy:
    """The source's EXECUTOR_OVERLAP_POLICY, else the stack's; PermanentError for a value that is none of them."""
    raw = (run.args.extra_env_vars.get(ENV_OVERLAP_POLICY) or default).strip().lower()
    try:
        return OverlapPolicy(raw)
    except ValueError:
        allowed = ", ".join(p.value for p in OverlapPolicy)
        raise PermanentError(f"{ENV_OVERLAP_POLICY}: {raw[:32]!r} is not one of {allowed}") from None


def _tag(task: dict[str, Any], key: str) -> str | None:
    return next((t.get("value") for t in task.get("tags", []) if t.get("key") == key), None)


def running_runs_of_source(run: ValidatedRun, ecs: EcsAdapter) -> list[dict[str, Any]]:
    """The live tasks of `run`'s ingestion source other than its own."""
    source = run.command.aspect.source.ingestionSource
    if not source or run.task != ExecutionTask.RUN_INGEST:  # a connection test never overlaps anything
        return []
    arns = ecs.list_running_task_arns()
    if not arns:
        return []
    group, own = group_for(source), started_by_for(run.execution_id)
    return [
        task
        for task in ecs.describe_tasks_with_tags(arns)
        if task.get("group") == group and task.get("startedBy") != own and not is_stopped(task)
    ]


def settle_overlap(run: ValidatedRun, default_policy: str, ecs: EcsAdapter, must_wait: type[Exception]) -> None:
    """Apply the policy: return to launch; raise OverlapSkipped (skip) or `must_wait` (queue); stop others (replace)."""
    policy = policy_for(run, default_policy)
    if policy is OverlapPolicy.ALLOW:
        return
    others = running_runs_of_source(run, ecs)
    if not others:
        return
    names = ", ".join(_tag(task, TAG_EXECUTION_REQUEST) or str(task["taskArn"]) for task in others)
    if policy is OverlapPolicy.SKIP:
        raise OverlapSkipped(
            f"Skipped: another run of this ingestion source is still going ({names}); "
            f"{ENV_OVERLAP_POLICY}=skip ends a run that would overlap it."
        )
    if policy is OverlapPolicy.QUEUE:
        raise must_wait(f"another run of this ingestion source is still going ({names}); {ENV_OVERLAP_POLICY}=queue")
    for task in others:
        reason = f"{CANCEL_REASON_PREFIX}: replaced by {run.urn} ({ENV_OVERLAP_POLICY}=replace)"
        ecs.stop_task(str(task["taskArn"]), reason)
        logger.info("Stopped the source's running run to replace it", extra={"task_arn": task["taskArn"]})


def report_skipped(urn: str, reason: str, gms: GuardedGms, now_ms: int) -> None:
    """DUPLICATE (the DataHub UI's "Duplicate") with the run still going; RetryableError when DataHub is down."""
    result = ExecutionRequestResult(
        status=ExecutionStatus.DUPLICATE, report=reason + "\n", startTimeMs=now_ms, durationMs=0
    )
    try:
        gms.write_result(urn, result)
    except GmsError as exc:
        if exc.retryable:
            raise RetryableError(f"Could not report the skipped run to DataHub: {exc}") from None
        logger.error("DataHub refused the DUPLICATE result", extra={"error": str(exc)[:500]})
