"""Admission control: a stack-wide limit on concurrent runs and on their vCPUs; a run over it waits.

Pure decision (`over_limit`) plus what the limits need (`stack_load`): ListTasks desiredStatus=RUNNING for a
run limit, the vCPU ledger (S3, no ECS read) for a vCPU limit. With no limit (0, or the quota default when
Service Quotas cannot be read) nothing is read, and with a vCPU limit alone nothing from ECS: a launch stays
one ECS call. A run over the limit raises `MustWait`: the handler sends the message back
with a delay (dispatcher/waiting.py) and DataHub shows it PENDING with the reason; it is never failed
and never counts towards the queue's receive count. With a limit, runs waiting for room hold a place in
the waiting line (dispatcher/line.py), and a run launches only when fewer runs are ahead of it there
than there are free slots, so waiting runs are not overtaken by new ones and sources take turns.

ListTasks is a snapshot: dispatchers running in parallel can each see the same free slot. With
MaxConcurrentRuns set, a run that passes those checks must also claim a run slot (S3 conditional
write, executor_common/aws/slots.py); no slot free -> it waits like any run over the limit. With a
vCPU limit (a number, or the account's Fargate quota: dispatcher/vcpu_limit.py), the vCPUs in use are
the vCPU ledger's (executor_common/aws/vcpu_ledger.py, no ECS read), and the run must add itself there
with a conditional write; both limits are exact across parallel dispatchers.
A source lease claimed first (dispatcher/overlap.py) is freed again when the run then waits for room, so a
waiting run does not hold its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_common.aws.ecs import EcsAdapter
from executor_common.aws.slots import Claim, RunSlots
from executor_common.aws.source_lease import SourceLeases
from executor_common.aws.vcpu_ledger import Ledger, VcpuLedger
from executor_common.errors import ExecutorError, PermanentError, RetryableError
from executor_common.fair_queue import command_tenant
from executor_common.runspec import ENV_SLOT, ENV_SOURCE_LEASE, ENV_VCPUS

from dispatcher.line import Place, WaitingLine, ahead_of, free_slots
from dispatcher.observability import logger
from dispatcher.overlap import SourceHold, release_hold, settle_overlap
from dispatcher.planner import started_by_for
from dispatcher.settings import DispatcherSettings
from dispatcher.validation import ValidatedRun
from dispatcher.vcpu_limit import limit_named, limit_now

#: ECS counts task CPU in units: 1024 = 1 vCPU.
CPU_UNITS_PER_VCPU = 1024


class MustWait(ExecutorError):
    """This run cannot launch now (a limit, the overlap policy); it waits and is tried again later.

    `place` is its place in the waiting line when it waits for room (not for its source's other run),
    `ahead` how many runs are before it there.
    """

    def __init__(self, reason: str, place: Place | None = None, ahead: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.place = place
        self.ahead = ahead


@dataclass(frozen=True)
class Load:
    runs: int
    vcpus: float


@dataclass(frozen=True)
class Limits:
    """0 = no limit of this stack's own (RunTask's quota answers still make a run wait)."""

    max_runs: int = 0
    max_vcpus: float = 0
    #: How a waiting reason names `max_vcpus` (`{}` for its value): the parameter, or the account's quota.
    vcpus_named: str = "the stack's limit is {} (MaxConcurrentVcpus)"

    def vcpu_limit_said(self) -> str:
        return self.vcpus_named.format(f"{self.max_vcpus:g}")

    @property
    def any(self) -> bool:
        return self.max_runs > 0 or self.max_vcpus > 0


def over_limit(load: Load, limits: Limits, run_vcpus: float) -> str | None:
    """Why a run of `run_vcpus` must wait under `limits` with `load` running, or None when it may launch."""
    if limits.max_runs > 0 and load.runs + 1 > limits.max_runs:
        return f"{load.runs} runs are running, the stack's limit is {limits.max_runs} (MaxConcurrentRuns)"
    if limits.max_vcpus > 0 and load.vcpus + run_vcpus > limits.max_vcpus:
        return f"{load.vcpus:g} vCPUs are in use and this run needs {run_vcpus:g}; {limits.vcpu_limit_said()}"
    return None


def stack_load(ecs: EcsAdapter, limits: Limits, ledger: Ledger | None, urn: str) -> Load:
    """What the limits need: ListTasks for a run limit (and DescribeTasks for a vCPU limit without the ledger);
    the vCPUs from the ledger when there is one. A vCPU limit with the ledger alone reads no ECS at all."""
    vcpus_from_ecs = limits.max_vcpus > 0 and ledger is None
    load = Load(0, 0.0)
    if limits.max_runs > 0 or vcpus_from_ecs:
        load = cluster_load(ecs, with_vcpus=vcpus_from_ecs)
    if ledger is not None:
        load = Load(load.runs, ledger.used(but=urn))
    return load


def cluster_load(ecs: EcsAdapter, *, with_vcpus: bool) -> Load:
    """The cluster's tasks that are (or will be) running, and their vCPUs when asked."""
    arns = ecs.list_running_task_arns()
    if not with_vcpus or not arns:
        return Load(runs=len(arns), vcpus=0.0)
    tasks = ecs.describe_tasks_with_tags(arns)
    units = sum(int(task.get("cpu") or 0) for task in tasks)
    return Load(runs=len(arns), vcpus=units / CPU_UNITS_PER_VCPU)


@dataclass(frozen=True)
class Turn:
    """Where the run stands: its waiting line, the time it started waiting (None: it is new), the time now."""

    line: WaitingLine | None
    since_ms: int | None
    now_ms: int
    #: SQS delivered this message before: the run may hold a slot already (a launch whose record then failed).
    redelivered: bool = True


@dataclass(frozen=True)
class Admitted:
    """What a run admitted to launch holds: its run slot (MaxConcurrentRuns), its source's lease (overlap), its
    entry in the vCPU ledger (MaxConcurrentVcpus)."""

    slot: Claim | None = None
    lease: SourceHold | None = None
    #: The run holds vCPUs in the ledger (the task carries EXECUTOR_VCPUS, for the reconciler to free them).
    vcpus: float | None = None
    #: This attempt added that entry (not a redelivery's): freed again if nothing launches.
    vcpus_fresh: bool = False

    @property
    def env(self) -> dict[str, str]:
        """The runner env that tells the reconciler what to free when the task stops."""
        env = {ENV_SLOT: str(self.slot.index)} if self.slot is not None else {}
        env |= {ENV_SOURCE_LEASE: self.lease.lease_id} if self.lease is not None else {}
        return env | ({ENV_VCPUS: f"{self.vcpus:g}"} if self.vcpus is not None else {})


def admit(
    run: ValidatedRun,
    settings: DispatcherSettings,
    ecs: EcsAdapter,
    turn: Turn | None = None,
    slots: RunSlots | None = None,
    leases: SourceLeases | None = None,
    vcpus: VcpuLedger | None = None,
    vcpu_limit: float | None = None,
) -> Admitted:
    """Raise `MustWait` when `run` must wait (its source's overlap policy, the stack's limits, runs ahead of it
    in the waiting line, no run slot free, no room in the vCPU ledger), `OverlapSkipped` when it must not run
    at all; with `replace`, the source's running run is stopped first. Returns what it holds (nothing without
    `slots` / `leases` / `vcpus`, or when it needs none).

    `vcpu_limit`: MaxConcurrentVcpus now (dispatcher/vcpu_limit.py); None: the setting's number."""
    lease = settle_overlap(run, settings.overlap_policy, ecs, MustWait, leases)
    try:
        room = _claim_room(run, settings, ecs, turn, slots, vcpus, vcpu_limit)
    except BaseException:
        release_hold(lease, run, leases)  # a waiting run does not hold its source
        raise
    return Admitted(room.slot, lease, room.vcpus, room.vcpus_fresh)


def _claim_room(
    run: ValidatedRun,
    settings: DispatcherSettings,
    ecs: EcsAdapter,
    turn: Turn | None,
    slots: RunSlots | None,
    vcpus: VcpuLedger | None,
    vcpu_limit: float | None,
) -> Admitted:
    """The stack's limits, the waiting line, the run slot and the vCPU ledger: `MustWait`, or what it claimed."""
    limits = Limits(
        settings.max_concurrent_runs,
        limit_now(settings, None) if vcpu_limit is None else vcpu_limit,
        limit_named(settings),
    )
    if not limits.any:
        return Admitted()
    run_vcpus = int(run.size.cpu) / CPU_UNITS_PER_VCPU
    ledger = vcpus.read() if vcpus is not None and limits.max_vcpus > 0 else None
    load = stack_load(ecs, limits, ledger, run.urn)
    reason = over_limit(load, limits, run_vcpus)
    places = turn.line.places(turn.now_ms) if turn is not None and turn.line is not None else None
    me: Place | None = None
    ahead: int | None = None
    if turn is not None and places is not None:
        me = Place.of(turn.since_ms or turn.now_ms, command_tenant(run.command), run.execution_id)
        ahead = ahead_of(me, places)
    if reason is not None:
        raise MustWait(reason, me, ahead)
    if me is not None and ahead is not None:
        free = free_slots(load.runs, load.vcpus, limits.max_runs, limits.max_vcpus, run_vcpus)
        if ahead >= free:
            raise MustWait(
                f"{ahead} run{'s' if ahead != 1 else ''} waiting longer {'are' if ahead != 1 else 'is'} ahead of it "
                f"for the {free} free slot{'s' if free != 1 else ''} (first come, first served, the sources taking "
                "turns)",
                me,
                ahead,
            )
    slot: Claim | None = None
    maybe_held = turn is None or turn.redelivered
    if slots is not None and limits.max_runs > 0:
        slot = slots.claim(run.urn, started_by_for(run.execution_id), maybe_held=maybe_held)
        if slot is None:
            raise MustWait(
                f"all {limits.max_runs} run slots are held by runs launching or running (MaxConcurrentRuns)", me, ahead
            )
    if vcpus is None or ledger is None:
        return Admitted(slot)
    try:
        claim = vcpus.claim(run.urn, started_by_for(run.execution_id), run_vcpus, limits.max_vcpus, seen=ledger)
    except BaseException:
        free_unused(Admitted(slot), run, slots=slots)
        raise
    if not claim.granted:
        free_unused(Admitted(slot), run, slots=slots)
        why = (
            "other dispatchers kept changing the vCPU ledger; trying again shortly"
            if claim.busy
            else f"{claim.used:g} vCPUs are held by runs launching or running and this run needs {run_vcpus:g}; "
            f"{limits.vcpu_limit_said()}"
        )
        raise MustWait(why, me, ahead)
    return Admitted(slot, vcpus=run_vcpus, vcpus_fresh=claim.fresh)


def free_unused(
    admitted: Admitted,
    run: ValidatedRun,
    *,
    slots: RunSlots | None = None,
    leases: SourceLeases | None = None,
    vcpus: VcpuLedger | None = None,
) -> None:
    """Free what this attempt claimed and no task holds (pass the stores to free from); a failure here is left
    to the backstop's sweep."""
    claim = admitted.slot
    if claim is not None and claim.fresh and slots is not None:
        try:
            slots.release(claim.index, run.urn)
        except (RetryableError, PermanentError) as exc:
            logger.warning(
                "Could not free the run slot; the backstop will", extra={"slot": claim.index, "error": str(exc)[:300]}
            )
    if leases is not None:
        release_hold(admitted.lease, run, leases)
    if admitted.vcpus_fresh and vcpus is not None:
        try:
            vcpus.release(run.urn)
        except (RetryableError, PermanentError) as exc:
            logger.warning("Could not free the run's vCPUs; the backstop will", extra={"error": str(exc)[:300]})
