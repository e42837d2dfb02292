"""Admission control: a stack-wide limit on concurrent runs and on their vCPUs; a run over it waits.

Pure decision (`over_limit`) plus one read of the cluster (`cluster_load`: ListTasks desiredStatus=RUNNING,
and DescribeTasks only when a vCPU limit is set). With no limit set (0, the default) nothing is read, so
a launch stays one ECS call. A run over the limit raises `MustWait`: the handler sends the message back
with a delay (dispatcher/waiting.py) and DataHub shows it PENDING with the reason; it is never failed
and never counts towards the queue's receive count.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_common.aws.ecs import EcsAdapter
from executor_common.errors import ExecutorError

from dispatcher.overlap import settle_overlap
from dispatcher.settings import DispatcherSettings
from dispatcher.validation import ValidatedRun

#: ECS counts task CPU in units: 1024 = 1 vCPU.
CPU_UNITS_PER_VCPU = 1024


class MustWait(ExecutorError):
    """This run cannot launch now (a limit, the overlap policy); it waits and is tried again later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Load:
    runs: int
    vcpus: float


@dataclass(frozen=True)
class Limits:
    """0 = no limit of this stack's own (RunTask's quota answers still make a run wait)."""

    max_runs: int = 0
    max_vcpus: float = 0

    @property
    def any(self) -> bool:
        return self.max_runs > 0 or self.max_vcpus > 0


def over_limit(load: Load, limits: Limits, run_vcpus: float) -> str | None:
    """Why a run of `run_vcpus` must wait under `limits` with `load` running, or None when it may launch."""
    if limits.max_runs > 0 and load.runs + 1 > limits.max_runs:
        return f"{load.runs} runs are running, the stack's limit is {limits.max_runs} (MaxConcurrentRuns)"
    if limits.max_vcpus > 0 and load.vcpus + run_vcpus > limits.max_vcpus:
        return (
            f"{load.vcpus:g} vCPUs are in use and this run needs {run_vcpus:g}; the stack's limit is "
            f"{limits.max_vcpus:g} (MaxConcurrentVcpus)"
        )
    return None


def cluster_load(ecs: EcsAdapter, *, with_vcpus: bool) -> Load:
    """The cluster's tasks that are (or will be) running, and their vCPUs when asked."""
    arns = ecs.list_running_task_arns()
    if not with_vcpus or not arns:
        return Load(runs=len(arns), vcpus=0.0)
    tasks = ecs.describe_tasks_with_tags(arns)
    units = sum(int(task.get("cpu") or 0) for task in tasks)
    return Load(runs=len(arns), vcpus=units / CPU_UNITS_PER_VCPU)


def admit(run: ValidatedRun, settings: DispatcherSettings, ecs: EcsAdapter) -> None:
    """Raise `MustWait` when `run` must wait (its source's overlap policy, the stack's limits), `OverlapSkipped`
    when it must not run at all; with `replace`, the source's running run is stopped first."""
    settle_overlap(run, settings.overlap_policy, ecs, MustWait)
    limits = Limits(settings.max_concurrent_runs, settings.max_concurrent_vcpus)
    if not limits.any:
        return
    run_vcpus = int(run.size.cpu) / CPU_UNITS_PER_VCPU
    reason = over_limit(cluster_load(ecs, with_vcpus=limits.max_vcpus > 0), limits, run_vcpus)
    if reason is not None:
        raise MustWait(reason)
