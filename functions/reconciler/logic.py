"""One STOPPED task -> at most one terminal status in DataHub, explained.

Map the task to its run, read DataHub, diagnose, decide (see `ordering` for why no state is needed),
fetch the log's last lines, re-read DataHub right before writing, write. GMS errors propagate so
that the event comes back (SQS batch item failure, or EventBridge's async retry); a log-reading
problem only adds a note, because it must never block the terminal status.

Nothing here sleeps: when a runner that exited 0 may still be landing its final write, the logic
answers "deferred" and the handler sends the event back to its queue with a delivery delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_common.aws.events import EventsAdapter
from executor_common.aws.logs import LogsAdapter
from executor_common.aws.slots import RunSlots
from executor_common.aws.source_lease import SourceLeases, lease_key
from executor_common.aws.sqs import SqsAdapter
from executor_common.aws.vcpu_ledger import VcpuLedger
from executor_common.ecs_task import TaskDetail, epoch_ms
from executor_common.errors import PermanentError, RetryableError
from executor_common.gms_guard import ResultClient
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import ENV_EXECUTION_REQUEST_URN, ENV_SLOT, ENV_SOURCE_LEASE, ENV_VCPUS
from executor_common.status import ExecutionStatus

from reconciler.diagnosis import Diagnosis, diagnose
from reconciler.mapping import map_task_to_run
from reconciler.observability import logger
from reconciler.ordering import STOPPED, decide, parse_marker
from reconciler.report import build_report
from reconciler.run_state import publish_run_state
from reconciler.settings import ReconcilerSettings
from reconciler.spot_rerun import rerun_on_demand, wants_rerun

#: The diagnosis for which the runner may just have been slow to land its final write.
EXITED_WITHOUT_REPORT = "ExitedWithoutReport"


@dataclass
class ReconcilerPorts:
    """What the logic talks to; built once per container by the handler, fakes or moto in tests."""

    settings: ReconcilerSettings
    gms: ResultClient
    logs: LogsAdapter | None
    events: EventsAdapter | None = None
    #: The command queue, for the on-demand re-run of an interrupted Spot run (reconciler/spot_rerun.py).
    commands: SqsAdapter | None = None
    #: The run slots (MaxConcurrentRuns): a stopped task's slot is freed here.
    slots: RunSlots | None = None
    #: The ingestion sources' leases (overlap skip/queue/replace): a stopped task's lease is freed here.
    leases: SourceLeases | None = None
    #: The vCPU ledger (MaxConcurrentVcpus): a stopped task's vCPUs are freed here.
    vcpus: VcpuLedger | None = None


@dataclass(frozen=True)
class ReconcileResult:
    """What happened to one event: `written`, `skipped` (DataHub already final), `ignored` (not ours),
    or `deferred` (to be delivered again after the report grace)."""

    action: str
    why: str
    urn: str | None = None
    status: ExecutionStatus | None = None
    reason: str | None = None
    #: The first time this run's stop is seen as final (not a duplicate of our own earlier write): count it.
    measured: bool = False


def _first_final(current: ExecutionRequestResult | None) -> bool:
    """DataHub's status is not one the reconciler wrote before: this stop has not been measured yet."""
    return current is None or parse_marker(current.report) is None


def free_slot(detail: TaskDetail, slots: RunSlots | None) -> bool:
    """Free the run slot the stopped task held (EXECUTOR_SLOT), if the slot still names its run; first, so that
    a waiting run gets it whatever DataHub answers. A failure is logged: the backstop's sweep frees it later."""
    index, urn = detail.override_env(ENV_SLOT), detail.override_env(ENV_EXECUTION_REQUEST_URN)
    if slots is None or index is None or not index.isdigit() or not urn:
        return False
    try:
        freed = slots.release(int(index), urn)
    except (RetryableError, PermanentError) as exc:
        logger.warning("Could not free the run slot; the backstop will", extra={"slot": index, "error": str(exc)[:300]})
        return False
    logger.info("Run slot freed" if freed else "Run slot already free or held by another run", extra={"slot": index})
    return freed


def free_vcpus(detail: TaskDetail, vcpus: VcpuLedger | None) -> bool:
    """Remove the stopped task's run from the vCPU ledger (tasks carrying EXECUTOR_VCPUS only), unless its entry
    was claimed after this task stopped: that is the entry of a later task of the same run (a Spot run's
    on-demand re-run), and a late or repeated event must not free it. A failure: the backstop frees it later."""
    urn = detail.override_env(ENV_EXECUTION_REQUEST_URN)
    if vcpus is None or detail.override_env(ENV_VCPUS) is None or not urn:
        return False
    stopped = detail.stoppedAt.timestamp() if detail.stoppedAt is not None else None
    try:
        freed = vcpus.release(urn, claimed_before=stopped)
    except (RetryableError, PermanentError) as exc:
        logger.warning("Could not free the run's vCPUs; the backstop will", extra={"error": str(exc)[:300]})
        return False
    logger.info("Run's vCPUs freed" if freed else "Run's vCPUs already free or held by a later task of it")
    return freed


def free_lease(detail: TaskDetail, leases: SourceLeases | None) -> bool:
    """Free the source lease the stopped task held (EXECUTOR_SOURCE_LEASE), if it still names its run: a run that
    replaced it holds it now. A failure is logged: the backstop's sweep frees it later."""
    held, urn = detail.override_env(ENV_SOURCE_LEASE), detail.override_env(ENV_EXECUTION_REQUEST_URN)
    if leases is None or held is None or not urn:
        return False
    try:
        lease_key(held)
        freed = leases.release(held, urn)
    except ValueError:
        logger.warning("The task names no source lease", extra={"lease": held[:80]})
        return False
    except (RetryableError, PermanentError) as exc:
        logger.warning("Could not free the source lease; the backstop will", extra={"error": str(exc)[:300]})
        return False
    logger.info("Source lease freed" if freed else "Source lease already free or held by another run")
    return freed


def reconcile_stopped_task(detail: TaskDetail, ports: ReconcilerPorts, *, may_defer: bool = False) -> ReconcileResult:
    """`may_defer`: the caller can deliver this event again after the report grace (see the handler).

    The source lease is freed once the run is over: not when the event is deferred (it comes back), nor when
    the run is sent to re-run on on-demand (the same execution request keeps its source)."""
    settings = ports.settings
    if detail.lastStatus != STOPPED:
        return ReconcileResult("ignored", f"lastStatus is {detail.lastStatus}, not STOPPED")
    if detail.cluster_name != settings.cluster_name:
        # No clusterArn is no proof of anything: only a task of our own cluster may touch DataHub.
        cluster = detail.cluster_name or "(none given)"
        return ReconcileResult("ignored", f"task of cluster {cluster}, not {settings.cluster_name}")
    free_slot(detail, ports.slots)
    free_vcpus(detail, ports.vcpus)  # the task's vCPUs are free whatever follows (a Spot re-run claims its own)
    outcome = _reconcile(detail, ports, may_defer=may_defer)
    if outcome.action not in ("deferred", "rerun"):
        free_lease(detail, ports.leases)
    return outcome


def _reconcile(detail: TaskDetail, ports: ReconcilerPorts, *, may_defer: bool) -> ReconcileResult:
    settings = ports.settings
    mapping = map_task_to_run(detail)
    if mapping.urn is None:
        why = "an ingestion task without a run id" if mapping.ours else "not launched by this executor"
        logger.info("Ignoring stopped task", extra={"task_arn": detail.taskArn, "why": why})
        return ReconcileResult("ignored", why)
    urn = mapping.urn
    logger.set_correlation_id(urn)
    logger.append_keys(task_arn=detail.taskArn, event_version=detail.version, mapped_from=mapping.source)

    current = ports.gms.read_result(urn)
    if current is None and mapping.source == "startedBy":
        # startedBy may be a sanitized (hashed) id: only trust it for a run DataHub knows.
        logger.warning("startedBy names no run DataHub knows; not writing", extra={"started_by": detail.startedBy})
        return ReconcileResult("ignored", "startedBy names no run DataHub knows", urn=urn)
    diagnosis = diagnose(detail)
    replaces = diagnosis.replaces_runner_cancel
    decision = decide(current, detail.task_id, detail.version, replaces_cancelled=replaces)
    if not decision.write:
        logger.info("Nothing to reconcile", extra={"why": decision.why})
        return ReconcileResult(
            "skipped", decision.why, urn=urn, status=current.status if current else None, measured=_first_final(current)
        )

    if diagnosis.reason == EXITED_WITHOUT_REPORT and may_defer and settings.report_grace_seconds > 0:
        # The runner exited 0: its final write may still be landing in GMS. Look again later, without
        # holding the Lambda (a batch of such events must not run into its timeout).
        logger.info("Runner exited 0 without a final status yet; looking again after the report grace")
        return ReconcileResult("deferred", f"looking again in {settings.report_grace_seconds} s", urn=urn)
    current = ports.gms.read_result(urn)
    decision = decide(current, detail.task_id, detail.version, replaces_cancelled=replaces)
    if not decision.write:
        logger.info("The run reported while we were diagnosing it", extra={"why": decision.why})
        return ReconcileResult(
            "skipped", decision.why, urn=urn, status=current.status if current else None, measured=_first_final(current)
        )
    if ports.commands is not None and settings.command_queue_url and wants_rerun(detail, diagnosis.reason):
        start_ms = (current.startTimeMs if current else None) or epoch_ms(detail.startedAt)
        if rerun_on_demand(urn, detail, ports.gms, ports.commands, settings.command_queue_url, start_ms):
            return ReconcileResult("rerun", "Spot interruption: re-run on on-demand", urn=urn, reason=diagnosis.reason)
    superseded = current if current is not None and current.status == ExecutionStatus.CANCELLED else None
    report = _report(detail, diagnosis, ports, superseded)

    measured = _first_final(current)
    result = _result(detail, diagnosis, report, current)
    ports.gms.write_result(urn, result)
    publish_run_state(
        ports.events,
        settings.event_bus_name,
        detail=detail,
        urn=urn,
        result=result,
        headline=diagnosis.headline,
        prices=settings.prices,
    )
    logger.info(
        "Reconciled a stopped run",
        extra={"status": str(result.status), "reason": diagnosis.reason, "headline": diagnosis.headline},
    )
    return ReconcileResult(
        "written", decision.why, urn=urn, status=diagnosis.status, reason=diagnosis.reason, measured=measured
    )


def _report(
    detail: TaskDetail, diagnosis: Diagnosis, ports: ReconcilerPorts, superseded: ExecutionRequestResult | None
) -> str:
    settings = ports.settings
    log_location = None
    lines: list[str] | None = None
    problem = None
    if settings.log_group_name and ports.logs is not None:
        stream = settings.log_stream_for(detail.task_id)
        log_location = f"CloudWatch log group {settings.log_group_name}, stream {stream}"
        try:
            lines = ports.logs.tail(settings.log_group_name, stream, settings.log_tail_lines)
        except RetryableError as exc:
            problem = str(exc)
            logger.warning("Could not read the run's log lines", extra={"problem": problem})
    return build_report(
        diagnosis,
        task_id=detail.task_id,
        version=detail.version,
        log_location=log_location,
        log_lines=lines,
        log_problem=problem,
        superseded=superseded,
    )


def _result(
    detail: TaskDetail, diagnosis: Diagnosis, report: str, current: ExecutionRequestResult | None
) -> ExecutionRequestResult:
    """Keep the start DataHub already shows; the duration is the task's own run time when ECS knows it."""
    started = epoch_ms(detail.startedAt)
    stopped = epoch_ms(detail.stoppedAt)
    start_ms = (current.startTimeMs if current else None) or started or epoch_ms(detail.createdAt)
    begin = started or start_ms
    duration = max(0, stopped - begin) if stopped is not None and begin is not None else None
    # Replacing the runner's CANCELLED keeps what it reported about the ingestion (counts, warnings).
    structured = current.structuredReport if current is not None and diagnosis.replaces_runner_cancel else None
    return ExecutionRequestResult(
        status=diagnosis.status,
        report=report,
        structuredReport=structured,
        startTimeMs=start_ms,
        durationMs=duration,
    )
