"""Overlapping runs of one ingestion source: allow (as before), skip, queue or replace.

Set per source with the extra env var EXECUTOR_OVERLAP_POLICY, with the stack's OverlapPolicy as the
default. A scheduled and a manual run of a source carry the same ingestion source URN, so both are
covered. Ad-hoc runs (no source), connection tests and `allow` read and write nothing.

Under skip/queue/replace a run first claims its source's lease (`sources/<hash>` in the run bucket, a
conditional create: executor_common/aws/source_lease.py), so two dispatchers in parallel cannot both see
the source idle. The lease names the run holding it: the same run (a redelivery, the Spot re-run) goes on;
another run is "going" unless its claim is stale (older than STALE_LEASE_SECONDS and no live task of that
run: a dispatcher that died before RunTask, a lost STOPPED event), which is freed and claimed again. Then
the policy: skip ends the new run, queue makes it wait, replace stops the holder's task and takes the
lease over (If-Match). The live tasks of the source are found by their ECS task group,
`ingestion:<source id>` (the planner sets it on RunTask): ListTasks desiredStatus=RUNNING, DescribeTasks,
keep that group, leave out this run's own task; runs launched without the lease (under `allow`) count too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from executor_common.aws.ecs import EcsAdapter, is_stopped
from executor_common.aws.source_lease import STALE_LEASE_SECONDS, SourceLeases, lease_id
from executor_common.contract import ExecutionTask
from executor_common.ecs_task import TaskDetail
from executor_common.errors import ExecutorError, GmsError, PermanentError, RetryableError
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import (
    CANCEL_REASON_PREFIX,
    ENV_EXECUTION_REQUEST_URN,
    ENV_OVERLAP_POLICY,
    TAG_EXECUTION_REQUEST,
)
from executor_common.status import ExecutionStatus

from dispatcher.gms_guard import GuardedGms
from dispatcher.observability import logger
from dispatcher.planner import group_for, started_by_for
from dispatcher.validation import ValidatedRun

#: Claim, read, (free or take over): rounds before giving up on a lease other dispatchers keep changing.
LEASE_ATTEMPTS = 4


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


class Superseded(OverlapSkipped):
    """Under `replace`, a newer request of the source holds it: an older one never stops it. This is also how a
    redelivery of a run that was itself replaced ends (its task is stopping; its runner reports CANCELLED)."""


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


@dataclass(frozen=True)
class SourceHold:
    """The source lease a run holds: `fresh` when this attempt claimed it (to free if the launch does not happen)."""

    lease_id: str
    fresh: bool


def _run_of(task: dict[str, Any]) -> str | None:
    return TaskDetail.model_validate(task).override_env(ENV_EXECUTION_REQUEST_URN) or _tag(task, TAG_EXECUTION_REQUEST)


def _names(tasks: list[dict[str, Any]]) -> str:
    return ", ".join(_run_of(task) or str(task["taskArn"]) for task in tasks)


def _going(policy: OverlapPolicy, names: str, must_wait: type[Exception]) -> Exception:
    """What skip and queue raise while another run of the source (`names`) is going."""
    if policy is OverlapPolicy.SKIP:
        return OverlapSkipped(
            f"Skipped: another run of this ingestion source is still going ({names}); "
            f"{ENV_OVERLAP_POLICY}=skip ends a run that would overlap it."
        )
    return must_wait(f"another run of this ingestion source is still going ({names}); {ENV_OVERLAP_POLICY}=queue")


def _stop_all(run: ValidatedRun, tasks: list[dict[str, Any]], ecs: EcsAdapter) -> None:
    for task in tasks:
        reason = f"{CANCEL_REASON_PREFIX}: replaced by {run.urn} ({ENV_OVERLAP_POLICY}=replace)"
        ecs.stop_task(str(task["taskArn"]), reason)
        logger.info("Stopped the source's running run to replace it", extra={"task_arn": task["taskArn"]})


def _settle_snapshot(run: ValidatedRun, policy: OverlapPolicy, ecs: EcsAdapter, must_wait: type[Exception]) -> None:
    """Apply the policy to the source's live tasks (a ListTasks snapshot): raise, stop them (replace), or return."""
    others = running_runs_of_source(run, ecs)
    if not others:
        return
    if policy is OverlapPolicy.REPLACE:
        _stop_all(run, others, ecs)
        return
    raise _going(policy, _names(others), must_wait)


def settle_overlap(
    run: ValidatedRun,
    default_policy: str,
    ecs: EcsAdapter,
    must_wait: type[Exception],
    leases: SourceLeases | None = None,
) -> SourceHold | None:
    """Apply the policy: return to launch; raise OverlapSkipped (skip) or `must_wait` (queue); stop others (replace).

    With `leases`, the run holds its source's lease when this returns (None: no lease needed); without,
    the policy decides from a ListTasks snapshot alone, which parallel dispatchers can each see idle.
    """
    policy = policy_for(run, default_policy)
    source = run.command.aspect.source.ingestionSource
    if policy is OverlapPolicy.ALLOW or not source or run.task != ExecutionTask.RUN_INGEST:
        return None
    if leases is None:
        _settle_snapshot(run, policy, ecs, must_wait)
        return None
    own, started_by = lease_id(source), started_by_for(run.execution_id)
    requested_at = run.command.aspect.requestedAt
    for attempt in range(LEASE_ATTEMPTS):
        if leases.claim(source, run.urn, started_by, requested_at):
            try:  # runs launched without the lease (under `allow`, before it existed) still count
                _settle_snapshot(run, policy, ecs, must_wait)
            except BaseException:
                release_hold(SourceHold(own, fresh=True), run, leases)
                raise
            return SourceHold(own, fresh=True)
        try:
            holder = leases.read(own)
        except PermanentError:
            # Without s3:ListBucket, S3 answers 403 (not 404) for a key freed since the claim failed: claim again.
            if attempt == LEASE_ATTEMPTS - 1:
                raise
            continue
        if holder is None:
            continue  # freed between the two requests: claim again
        if holder.urn == run.urn:
            return SourceHold(own, fresh=False)  # a redelivery, or the Spot re-run of the holder
        others = running_runs_of_source(run, ecs)
        live = [t for t in others if _run_of(t) == holder.urn or t.get("startedBy") == holder.started_by]
        if not live and holder.claimed_at < leases.clock() - STALE_LEASE_SECONDS:
            logger.warning("Freed a stale source lease", extra={"holder": holder.urn, "claimed_at": holder.claimed_at})
            leases.free(holder)
            continue
        if policy is not OverlapPolicy.REPLACE:
            raise _going(policy, holder.urn, must_wait)
        if holder.requested_at is not None and holder.requested_at > requested_at:
            raise Superseded(
                f"Skipped: a newer run of this ingestion source ({holder.urn}) is going; "
                f"{ENV_OVERLAP_POLICY}=replace never stops a newer run for an older one."
            )
        if not live:  # launching right now: stopping it is only possible once its task exists
            raise must_wait(
                f"another run of this ingestion source ({holder.urn}) is being launched; "
                f"{ENV_OVERLAP_POLICY}=replace stops it once it runs"
            )
        _stop_all(run, others, ecs)
        if leases.take_over(holder, run.urn, started_by, requested_at):
            return SourceHold(own, fresh=True)
    raise RetryableError(f"The ingestion source's lease changed hands {LEASE_ATTEMPTS} times while claiming it")


def release_hold(hold: SourceHold | None, run: ValidatedRun, leases: SourceLeases | None) -> None:
    """Free a lease this attempt claimed and no task holds; a failure here is left to the next claim's stale check
    and the backstop's sweep."""
    if hold is None or not hold.fresh or leases is None:
        return
    try:
        leases.release(hold.lease_id, run.urn)
    except (RetryableError, PermanentError) as exc:
        logger.warning("Could not free the source lease; the backstop will", extra={"error": str(exc)[:300]})


def report_skipped(urn: str, reason: str, gms: GuardedGms, now_ms: int, *, superseded: bool = False) -> None:
    """DUPLICATE (the DataHub UI's "Duplicate") with the run still going; RetryableError when DataHub is down.

    `superseded`: a run DataHub shows RUNNING was launched and then replaced (this is a redelivery of it); its
    stopping task reports it CANCELLED, so nothing is written over that."""
    try:
        current = gms.read_result(urn) if superseded else None
    except GmsError as exc:
        raise RetryableError(f"Reading the run's status from DataHub failed: {exc}") from None
    if current is not None and current.status == ExecutionStatus.RUNNING:
        logger.info("A redelivery of a run that a newer run replaced: nothing to do", extra={"reason": reason})
        return
    result = ExecutionRequestResult(
        status=ExecutionStatus.DUPLICATE, report=reason + "\n", startTimeMs=now_ms, durationMs=0
    )
    try:
        gms.write_result(urn, result)
    except GmsError as exc:
        if exc.retryable:
            raise RetryableError(f"Could not report the skipped run to DataHub: {exc}") from None
        logger.error("DataHub refused the DUPLICATE result", extra={"error": str(exc)[:500]})
