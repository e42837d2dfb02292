"""Per-message flow: parse -> route -> validate -> launch or cancel, and tell DataHub.

Receives its adapters (`Dependencies`) so tests pass moto-backed or fake ones. The adapters
raise the project's errors (they alone know AWS's failure modes): a `RetryableError` leaves
this module (the message comes back); a `PermanentError` becomes a FAILURE result and the
message is consumed; the returned `MessageOutcome` names what happened.

Exactly one ECS call per launched run in steady state: RunTask, whose deterministic
`clientToken` (idempotent for 24 hours on ECS) makes a redelivery launch nothing new. With
MaxConcurrentRuns set, the run first claims a run slot (dispatcher/admission.py); the slot's index
travels in the task's env (EXECUTOR_SLOT) for the reconciler to free, and a launch that fails or
launches nothing new frees it at once. Under the overlap policies skip/queue/replace the run holds its
source's lease the same way (EXECUTOR_SOURCE_LEASE, dispatcher/overlap.py), and under a vCPU limit its entry
in the vCPU ledger (EXECUTOR_VCPUS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from executor_common.aws.ecs import EcsAdapter, is_stopped
from executor_common.aws.errors import RunTaskConflict, TaskDefinitionInactive
from executor_common.aws.s3 import S3Adapter
from executor_common.aws.slots import RunSlots
from executor_common.aws.source_lease import SourceLeases
from executor_common.aws.vcpu_ledger import VcpuLedger
from executor_common.contract import ExecutionTask, RunCommand, SignalCommand
from executor_common.ecs_task import TaskDetail
from executor_common.errors import GmsError, PermanentError, RetryableError
from executor_common.runspec import CANCEL_REASON_PREFIX, ENV_SLOT, ENV_SOURCE_LEASE
from executor_common.status import ExecutionStatus, is_terminal
from executor_common.token_bucket import TokenBucket

from dispatcher import spot
from dispatcher.admission import Admitted, Turn, admit, free_unused
from dispatcher.budget import UNLIMITED, TimeBudget
from dispatcher.gms_guard import GuardedGms
from dispatcher.images import base_task_definition
from dispatcher.line import WaitingLine
from dispatcher.observability import logger
from dispatcher.overrides import with_runner_env
from dispatcher.planner import LaunchPlan, plan_launch, started_by_for
from dispatcher.report import cancelled_result, failure_result, running_result
from dispatcher.routing import Foreign, Ignored, Unparseable, route
from dispatcher.secret_resolution import SecretResolver
from dispatcher.settings import DispatcherSettings
from dispatcher.task_definitions import TaskDefinitionResolver
from dispatcher.validation import ValidatedRun, validate_run
from dispatcher.vcpu_limit import limit_now

KILL_SIGNAL = "KILL"


class MessageOutcome(StrEnum):
    """What one message led to; the handler turns each into a metric."""

    LAUNCHED = "RunsLaunched"
    REJECTED = "RunsRejected"
    CANCELLED = "RunsCancelled"
    CANCEL_FAILED = "CancelsFailed"
    MISROUTED = "MisroutedMessages"
    ALREADY_LAUNCHED = "DuplicateDeliveries"
    ALREADY_FINISHED = "FinishedRunsIgnored"
    IGNORED = "IgnoredMessages"


@dataclass
class Dependencies:
    """The adapters one container uses, built once; caches inside them live as long as this object.

    `gms` is one client for the container's life: the token is fetched per request by the
    GMS client's token provider (cached as powertools caches the secret), so nothing here rebuilds it.
    """

    settings: DispatcherSettings
    ecs: EcsAdapter
    s3: S3Adapter
    secrets: SecretResolver
    task_definitions: TaskDefinitionResolver
    gms: GuardedGms
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    #: This container's RunTask pace (its share of RUN_TASK_RATE); the ECS adapter takes a token per RunTask.
    pace: TokenBucket | None = None
    #: The waiting line (dispatcher/line.py): who is next when a slot frees; None = launch order by arrival.
    line: WaitingLine | None = None
    #: The run slots (executor_common/aws/slots.py), only when MaxConcurrentRuns is set: no S3 call otherwise.
    slots: RunSlots | None = None
    #: The ingestion sources' leases (overlap skip/queue/replace exact across dispatchers); None: ListTasks alone.
    leases: SourceLeases | None = None
    #: The vCPU ledger (executor_common/aws/vcpu_ledger.py), only with a vCPU limit: no S3 call otherwise.
    vcpus: VcpuLedger | None = None
    #: MaxConcurrentVcpus now (dispatcher/vcpu_limit.py: the number, or the account's quota); None: the setting.
    vcpu_limit: Callable[[], float] | None = None


def handle_message(
    body: str,
    deps: Dependencies,
    budget: TimeBudget = UNLIMITED,
    since_ms: int | None = None,
    redelivered: bool = True,
) -> MessageOutcome:
    """Process one SQS message body. Raises RetryableError when the message must come back.

    `since_ms` is when the run started waiting, for a run sent back to wait (its place in the line);
    `redelivered`: SQS delivered this message before (ApproximateReceiveCount > 1).
    """
    budget.check("Not starting this message")
    decision = route(body, deps.settings.executor_id)
    if isinstance(decision, Foreign):
        logger.set_correlation_id(decision.urn)
        return _misrouted(decision.executor_id, deps)
    if isinstance(decision, Ignored):
        logger.set_correlation_id(decision.urn)
        logger.info("Ignored a message this executor has no work for", extra={"reason": decision.reason})
        return MessageOutcome.IGNORED
    if isinstance(decision, Unparseable):
        return _reject_unparseable(decision.urn, decision.reason, deps)
    command = decision.command
    logger.set_correlation_id(command.entityUrn)
    if isinstance(command, SignalCommand):
        return _handle_signal(command, deps)  # ours when a task of ours runs it, whatever its executorId
    return _handle_run(command, deps, budget, since_ms, redelivered)


def _misrouted(message_executor_id: str | None, deps: Dependencies) -> MessageOutcome:
    logger.info(
        "Misrouted message: it is for another executor; launching nothing",
        extra={"message_executor_id": message_executor_id, "executor_id": deps.settings.executor_id},
    )
    return MessageOutcome.MISROUTED


# -- unparseable ------------------------------------------------------------------------------
def _reject_unparseable(urn: str | None, reason: str, deps: Dependencies) -> MessageOutcome:
    logger.set_correlation_id(urn)
    logger.warning("Rejected an unparseable message", extra={"reason": reason, "execution_request_urn": urn})
    if urn is not None:
        write_failure(urn, reason, deps)
    return MessageOutcome.REJECTED


def write_failure(urn: str, reason: str, deps: Dependencies, *, test_connection: bool = False) -> None:
    """FAILURE for a run we refused; a retryable GMS error -> RetryableError, so the reason is not lost."""
    result = failure_result(reason, deps.settings.executor_id, deps.clock_ms(), test_connection=test_connection)
    try:
        deps.gms.write_result(urn, result)
    except GmsError as exc:
        if exc.retryable:
            raise RetryableError(f"Could not report FAILURE to DataHub: {exc}") from None
        logger.error("DataHub refused the FAILURE result", extra={"error": str(exc)[:500]})


# -- runs -------------------------------------------------------------------------------------
def _handle_run(
    command: RunCommand, deps: Dependencies, budget: TimeBudget, since_ms: int | None, redelivered: bool
) -> MessageOutcome:
    try:
        run = validate_run(command, deps.settings)
        if _already_finished(command.entityUrn, deps):
            return MessageOutcome.ALREADY_FINISHED
        secret_arns, in_datahub = deps.secrets.split(
            run.secret_names, datahub_store=deps.settings.datahub_secret_store_enabled
        )
        run = run.model_copy(update={"secret_names": sorted(secret_arns), "datahub_secret_names": in_datahub})
        task_definition_arn = deps.task_definitions.for_secrets(secret_arns, base_task_definition(run, deps.settings))
        launched_at_ms = deps.clock_ms()
        plan = plan_launch(run, deps.settings, task_definition_arn, launched_at_ms)
        # MustWait leaves: the handler sends the run back to wait; `now` is after the reads above
        turn = Turn(deps.line, since_ms, deps.clock_ms(), redelivered)
        vcpu_limit = limit_now(deps.settings, deps.vcpu_limit)
        admitted = admit(run, deps.settings, deps.ecs, turn, deps.slots, deps.leases, deps.vcpus, vcpu_limit)
        try:
            budget.check("Not launching the run")
            if plan.spec_object is not None:
                deps.s3.put_text(plan.spec_object.bucket, plan.spec_object.key, plan.spec_object.body)
            task = spot.run_task(deps.ecs, _holding(plan.request, admitted), run, deps.settings)  # Spot fallback inside
        except BaseException:
            _free_unused(admitted, run, deps, slot=True, lease=True, vcpus=True)  # no task holds them: free them
            raise
        # a clientToken replay returns the run's earlier task, which holds its own slot and lease (or none); its
        # vCPUs are the run's entry, freed only when that task has ended
        slot, lease = (not _holds(task, admitted, name) for name in (ENV_SLOT, ENV_SOURCE_LEASE))
        _free_unused(admitted, run, deps, slot=slot, lease=lease, vcpus=is_stopped(task))
    except RunTaskConflict as conflict:
        return _already_launched(conflict, command, deps)
    except TaskDefinitionInactive as exc:
        if deps.task_definitions.forget(exc.task_definition):
            # A derived revision was deregistered behind our cache: the next attempt registers a fresh one.
            raise RetryableError(f"The cached task definition is no longer active: {exc.reason}") from None
        return _reject(command, exc.reason, deps)
    except PermanentError as exc:
        return _reject(command, exc.reason, deps)
    return _after_launch(run, plan, task, launched_at_ms, deps)


def _holding(request: dict[str, Any], admitted: Admitted) -> dict[str, Any]:
    """The RunTask request with what the run holds in the runner's env, for the reconciler to free."""
    for name, value in admitted.env.items():
        request = with_runner_env(request, name, value)
    return request


def _holds(task: dict[str, Any], admitted: Admitted, name: str) -> bool:
    """The task RunTask returned is live and carries what this attempt holds under `name` in its env."""
    return not is_stopped(task) and TaskDetail.model_validate(task).override_env(name) == admitted.env.get(name)


def _free_unused(
    admitted: Admitted, run: ValidatedRun, deps: Dependencies, *, slot: bool, lease: bool, vcpus: bool
) -> None:
    """Free what this attempt claimed and no task holds (admission.free_unused); the backstop sweeps the rest."""
    free_unused(
        admitted,
        run,
        slots=deps.slots if slot else None,
        leases=deps.leases if lease else None,
        vcpus=deps.vcpus if vcpus else None,
    )


def _reject(command: RunCommand, reason: str, deps: Dependencies) -> MessageOutcome:
    logger.warning("Run rejected", extra={"reason": reason})
    test_connection = command.aspect.task == ExecutionTask.TEST_CONNECTION
    write_failure(command.entityUrn, reason, deps, test_connection=test_connection)
    return MessageOutcome.REJECTED


def _already_finished(urn: str, deps: Dependencies) -> bool:
    """A redelivery after the run ended, or a run cancelled before it launched, must not launch."""
    try:
        current = deps.gms.read_result(urn)
    except GmsError as exc:
        # Whatever the cause (down, or a token refused after a rotation), launching blind is worse than waiting.
        raise RetryableError(f"Reading the run's status from DataHub failed: {exc}") from None
    if current is not None and is_terminal(current.status):
        logger.info("Run already finished in DataHub; launching nothing", extra={"status": str(current.status)})
        return True
    return False


def _already_launched(conflict: RunTaskConflict, command: RunCommand, deps: Dependencies) -> MessageOutcome:
    """RunTask's clientToken was used before with other parameters: this run has its task. Never a FAILURE.

    When ECS names no task and none is listed for the run's startedBy (ListTasks can lag a fresh
    RunTask), nothing proves a launch: the message comes back rather than being consumed silently.
    """
    task_arns = list(conflict.task_arns)
    if not task_arns:
        try:
            task_arns = [t["taskArn"] for t in deps.ecs.tasks_started_by(started_by_for(command.execution_id))]
        except PermanentError as exc:
            raise RetryableError(
                f"RunTask's clientToken is in use, and finding its task failed: {exc.reason}"
            ) from None
    if not task_arns:
        raise RetryableError(
            "RunTask answered that this run's clientToken is already in use, but ECS names no task for it yet"
        )
    logger.info(
        "Run already launched: RunTask's clientToken names an existing task; launching nothing",
        extra={"task_arns": task_arns},
    )
    return MessageOutcome.ALREADY_LAUNCHED


def _after_launch(
    run: ValidatedRun, plan: LaunchPlan, task: dict[str, Any], launched_at_ms: int, deps: Dependencies
) -> MessageOutcome:
    """RUNNING in DataHub, unless the task already ended, DataHub already shows a status, or a cancel overtook us."""
    task_arn = str(task["taskArn"])
    if is_stopped(task):
        # A clientToken replay: ECS returned the task this run started before, and it has ended. Whatever
        # DataHub shows (the runner's or the reconciler's final word) must not be overwritten with RUNNING.
        logger.info(
            "Run already launched and its task has stopped; writing nothing",
            extra={"task_arn": task_arn, "last_status": task.get("lastStatus")},
        )
        return MessageOutcome.ALREADY_LAUNCHED
    logger.info(
        "Run launched",
        extra={
            "task_arn": task_arn,
            "task_definition": plan.request["taskDefinition"],
            "cpu": run.size.cpu,
            "memory": run.size.memory,
            "spec_via_s3": plan.spec_object is not None,
            "overrides_chars": plan.overrides_chars,
        },
    )
    # The task is running: failing the record now would only bring the message back to find the task
    # already there. If GMS is briefly down, the runner writes RUNNING itself moments later, so a
    # warning is enough here.
    try:
        current = deps.gms.read_result(run.urn, best_effort=True)
        if current is not None and current.status == ExecutionStatus.CANCELLED:
            return _stop_cancelled_launch(task_arn, deps)
        if current is not None and (is_terminal(current.status) or current.status == ExecutionStatus.RUNNING):
            logger.info(
                "DataHub already shows a status for this run; not writing RUNNING over it",
                extra={"status": str(current.status)},
            )
            return MessageOutcome.ALREADY_LAUNCHED
        deps.gms.write_result(run.urn, running_result(run, deps.settings, task_arn, launched_at_ms))
    except GmsError as exc:
        logger.warning(
            "Launched, but could not write RUNNING to DataHub; the runner will", extra={"error": str(exc)[:500]}
        )
    return MessageOutcome.LAUNCHED


def _stop_cancelled_launch(task_arn: str, deps: Dependencies) -> MessageOutcome:
    """A KILL was recorded between our status read and RunTask: stop the task we just started."""
    try:
        deps.ecs.stop_task(task_arn, f"{CANCEL_REASON_PREFIX} while the run was being launched")
    except (RetryableError, PermanentError) as exc:
        logger.error(
            "The run was cancelled while launching, and its task could not be stopped",
            extra={"task_arn": task_arn, "error": str(exc)[:500]},
        )
        return MessageOutcome.CANCEL_FAILED
    logger.info("The run was cancelled while launching; stopped its task", extra={"task_arn": task_arn})
    return MessageOutcome.CANCELLED


# -- signals ----------------------------------------------------------------------------------
def _handle_signal(command: SignalCommand, deps: Dependencies) -> MessageOutcome:
    """KILL: stop the run's live tasks, or record CANCELLED when it has none. Ours if we hold a task for it."""
    signal = command.aspect.signal
    if signal != KILL_SIGNAL:
        logger.info("Ignoring an unknown signal", extra={"signal": signal[:64]})
        return MessageOutcome.IGNORED
    actor = command.aspect.createdAt.actor if command.aspect.createdAt else "an unknown user"
    reason = f"{CANCEL_REASON_PREFIX} by {actor}"[:255]
    try:
        tasks = deps.ecs.tasks_started_by(started_by_for(command.execution_id))
        if not tasks and command.executor_id != deps.settings.executor_id:
            return _misrouted(command.executor_id, deps)
        live = [task for task in tasks if not is_stopped(task)]
        for task in live:
            deps.ecs.stop_task(task["taskArn"], reason)
            logger.info("Stopped the run's task", extra={"task_arn": task["taskArn"], "actor": actor})
    except PermanentError as exc:
        # Access denied and the like: a retry cannot help, so say so loudly (metric + error log) and consume.
        logger.error("Could not cancel the run", extra={"reason": exc.reason})
        return MessageOutcome.CANCEL_FAILED
    if live:
        return MessageOutcome.CANCELLED
    logger.info("Cancel for a run with no pending or running task (not launched yet, or already stopped)")
    _cancel_in_datahub_if_open(command.entityUrn, actor, deps)
    return MessageOutcome.CANCELLED


def _cancel_in_datahub_if_open(urn: str, actor: str, deps: Dependencies) -> None:
    """CANCELLED unless DataHub shows a final status; a retryable GMS error brings the KILL back, never lost.

    Recording it matters: the run message may still be on its way, and it launches nothing once
    DataHub shows CANCELLED.
    """
    try:
        current = deps.gms.read_result(urn)
        if current is not None and is_terminal(current.status):
            logger.info("DataHub already shows a final status; writing nothing", extra={"status": str(current.status)})
            return
        deps.gms.write_result(urn, cancelled_result(actor, deps.clock_ms()))
    except GmsError as exc:
        if exc.retryable:
            raise RetryableError(f"Could not record the cancel in DataHub: {exc}") from None
        logger.error("DataHub refused the CANCELLED result", extra={"error": str(exc)[:500]})
