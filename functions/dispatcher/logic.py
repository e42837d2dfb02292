"""Per-message flow: parse -> route -> validate -> launch or cancel, and tell DataHub.

Receives its adapters (`Dependencies`) so tests pass moto-backed or fake ones. Errors are
either re-raised as `RetryableError` (the message comes back) or turned into a FAILURE
result and the message is consumed; the returned `Outcome` names what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from executor_common.aws.ecs import EcsAdapter
from executor_common.aws.s3 import S3Adapter
from executor_common.contract import RunCommand, SignalCommand
from executor_common.errors import GmsError, PermanentError, RetryableError
from executor_common.gms import GmsClient
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import CANCEL_REASON_PREFIX
from executor_common.status import is_terminal

from dispatcher.classify import Verdict, classify_failures, describe_failures, error_summary, raise_classified
from dispatcher.gms_guard import GuardedGms
from dispatcher.observability import logger
from dispatcher.planner import (
    cancelled_result,
    failure_result,
    plan_launch,
    running_result,
    started_by_for,
)
from dispatcher.routing import Foreign, Ignored, Unparseable, route
from dispatcher.secret_resolution import SecretResolver
from dispatcher.settings import DispatcherSettings
from dispatcher.task_definitions import TaskDefinitionResolver
from dispatcher.validation import validate_run

#: A GMS client lives this long, so a rotated token (cached as long by powertools) is picked up.
GMS_CLIENT_MAX_AGE_SECONDS = 300.0
KILL_SIGNAL = "KILL"
#: GMS answers that mean the payload itself is wrong: retrying the same message cannot help.
PAYLOAD_REFUSED = frozenset({400, 422})


class Outcome(StrEnum):
    """What one message led to; the handler turns each into a metric."""

    LAUNCHED = "RunsLaunched"
    REJECTED = "RunsRejected"
    CANCELLED = "RunsCancelled"
    MISROUTED = "MisroutedMessages"
    ALREADY_LAUNCHED = "DuplicateDeliveries"
    ALREADY_FINISHED = "FinishedRunsIgnored"
    IGNORED = "IgnoredMessages"


@dataclass
class Dependencies:
    """The adapters one container uses; caches inside them live as long as this object."""

    settings: DispatcherSettings
    ecs: EcsAdapter
    s3: S3Adapter
    secrets: SecretResolver
    task_definitions: TaskDefinitionResolver
    gms_factory: Callable[[], GmsClient]
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    _gms: GuardedGms | None = field(default=None, init=False, repr=False)
    _gms_made_at: float = field(default=0.0, init=False, repr=False)

    @property
    def gms(self) -> GuardedGms:
        now = time.monotonic()
        if self._gms is None or now - self._gms_made_at > GMS_CLIENT_MAX_AGE_SECONDS:
            self._gms = GuardedGms(self.gms_factory())
            self._gms_made_at = now
        return self._gms


def handle_message(body: str, deps: Dependencies) -> Outcome:
    """Process one SQS message body. Raises RetryableError when the message must come back."""
    decision = route(body, deps.settings.executor_id)
    if isinstance(decision, Foreign):
        logger.set_correlation_id(decision.urn)
        logger.info(
            "Misrouted message: it is for another executor; launching nothing",
            extra={"message_executor_id": decision.executor_id, "executor_id": deps.settings.executor_id},
        )
        return Outcome.MISROUTED
    if isinstance(decision, Ignored):
        logger.set_correlation_id(decision.urn)
        logger.info("Ignored a message this executor has no work for", extra={"reason": decision.reason})
        return Outcome.IGNORED
    if isinstance(decision, Unparseable):
        return _reject_unparseable(decision.urn, decision.reason, deps)
    command = decision.command
    logger.set_correlation_id(command.entityUrn)
    if isinstance(command, SignalCommand):
        if decision.maybe_ours and not _active_tasks(started_by_for(command.execution_id), deps):
            # No executorId: ours only if this stack runs the request (DataHub copies the source's current id).
            logger.info("Cancel without executorId for a request this executor is not running; ignoring it")
            return Outcome.IGNORED
        return _handle_signal(command, deps)
    return _handle_run(command, deps)


# -- unparseable ------------------------------------------------------------------------------
def _reject_unparseable(urn: str | None, reason: str, deps: Dependencies) -> Outcome:
    logger.set_correlation_id(urn)
    logger.warning("Rejected an unparseable message", extra={"reason": reason, "execution_request_urn": urn})
    if urn is not None:
        _write_failure(urn, reason, deps)
    return Outcome.REJECTED


def _write_failure(urn: str, reason: str, deps: Dependencies) -> None:
    """FAILURE for a run we refused; GMS unavailable -> RetryableError, so the message (and reason) is not lost."""
    result = failure_result(reason, deps.settings.executor_id, deps.clock_ms())
    try:
        deps.gms.write_result(urn, result)
    except GmsError as exc:
        if exc.status_code not in PAYLOAD_REFUSED:
            # Down, throttled, or our token refused: keep the message (DLQ + alarm if it persists).
            raise RetryableError(f"Could not report FAILURE to DataHub: {exc}") from None
        logger.error("DataHub refused the FAILURE result", extra={"error": str(exc)[:500]})


# -- runs -------------------------------------------------------------------------------------
def _handle_run(command: RunCommand, deps: Dependencies) -> Outcome:
    settings = deps.settings
    task_definition_arn = ""
    try:
        run = validate_run(command, settings)
        if _already_finished(command.entityUrn, deps):
            return Outcome.ALREADY_FINISHED
        started_by = started_by_for(run.execution_id)
        if _active_tasks(started_by, deps):
            logger.info(
                "Run already launched: a task with this startedBy is pending or running",
                extra={"started_by": started_by},
            )
            return Outcome.ALREADY_LAUNCHED
        secret_arns = deps.secrets.resolve(run.secret_names)
        task_definition_arn = deps.task_definitions.for_secrets(secret_arns)
        plan = plan_launch(run, settings, task_definition_arn)
        if plan.spec_object is not None:
            try:
                deps.s3.put_text(plan.spec_object.bucket, plan.spec_object.key, plan.spec_object.body)
            except Exception as exc:
                raise_classified(exc, "Writing the run spec to the run bucket")
        task_arn = _run_task(plan.request, deps)
    except PermanentError as exc:
        if "inactive" in exc.reason.lower() and deps.task_definitions.forget(task_definition_arn):
            # A derived revision was deregistered behind our cache: the next attempt registers a fresh one.
            raise RetryableError(f"The cached task definition is no longer active: {exc.reason}") from None
        logger.warning("Run rejected", extra={"reason": exc.reason})
        _write_failure(command.entityUrn, exc.reason, deps)
        return Outcome.REJECTED

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
        deps.gms.write_result(command.entityUrn, running_result(run, settings, task_arn, deps.clock_ms()))
    except GmsError as exc:
        logger.warning(
            "Launched, but could not write RUNNING to DataHub; the runner will", extra={"error": str(exc)[:500]}
        )
    return Outcome.LAUNCHED


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


def _active_tasks(started_by: str, deps: Dependencies) -> list[str]:
    try:
        return deps.ecs.list_active_tasks_started_by(started_by)
    except Exception as exc:
        raise_classified(exc, "Listing the run's tasks (ListTasks)")


def _run_task(request: dict[str, Any], deps: Dependencies) -> str:
    """One RunTask call; the task ARN, or the classified error."""
    try:
        response = deps.ecs.run_task(request)
    except Exception as exc:
        raise_classified(exc, "Starting the ECS task (RunTask)")
    failures = response.get("failures", [])
    tasks = response.get("tasks", [])
    if failures or not tasks:
        detail = describe_failures(failures) or "- RunTask returned no task and no failure"
        message = f"ECS could not start the task:\n{detail}"
        if failures and classify_failures(failures) is Verdict.RETRY:
            raise RetryableError(message)
        raise PermanentError(message)
    return str(tasks[0]["taskArn"])


# -- signals ----------------------------------------------------------------------------------
def _handle_signal(command: SignalCommand, deps: Dependencies) -> Outcome:
    signal = command.aspect.signal
    if signal != KILL_SIGNAL:
        logger.info("Ignoring an unknown signal", extra={"signal": signal[:64]})
        return Outcome.IGNORED
    actor = command.aspect.createdAt.actor if command.aspect.createdAt else "an unknown user"
    reason = f"{CANCEL_REASON_PREFIX} by {actor}"[:255]
    task_arns = _active_tasks(started_by_for(command.execution_id), deps)
    for task_arn in task_arns:
        try:
            deps.ecs.stop_task(task_arn, reason)
        except Exception as exc:
            raise_classified(exc, "Stopping the run's task (StopTask)")
        logger.info("Stopped the run's task", extra={"task_arn": task_arn, "actor": actor})
    if task_arns:
        return Outcome.CANCELLED
    logger.info("Cancel for a run with no pending or running task (unknown, or already stopped)")
    _cancel_in_datahub_if_open(command.entityUrn, actor, deps)
    return Outcome.CANCELLED


def _cancel_in_datahub_if_open(urn: str, actor: str, deps: Dependencies) -> None:
    """Never raises: a cancel for a run that is not running must not loop through the queue."""
    try:
        current: ExecutionRequestResult | None = deps.gms.read_result(urn)
        if current is not None and is_terminal(current.status):
            logger.info("DataHub already shows a final status; writing nothing", extra={"status": str(current.status)})
            return
        deps.gms.write_result(urn, cancelled_result(actor, deps.clock_ms()))
    except GmsError as exc:
        logger.warning("Could not record the cancel in DataHub", extra={"error": error_summary(exc)[:500]})
