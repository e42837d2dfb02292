"""Out-of-memory diagnosis: the memory limit the child hit, and how a DataHub admin raises it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from executor_common.fargate_sizes import FARGATE_MEMORY_BY_CPU, MAX_CPU_UNITS
from executor_common.runspec import ENV_TASK_CPU, ENV_TASK_MEMORY

CGROUP_ROOT = Path("/sys/fs/cgroup")
MIB = 1024 * 1024


@dataclass(frozen=True)
class MemoryLimit:
    mib: int
    source: str


def read_cgroup_limit(root: Path = CGROUP_ROOT) -> MemoryLimit | None:
    """cgroup v2 `memory.max`, else v1 `memory/memory.limit_in_bytes`; None when unlimited or absent."""
    candidates = ((root / "memory.max", "cgroup memory.max"), (root / "memory" / "memory.limit_in_bytes", "cgroup v1"))
    for path, source in candidates:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 1 << 60:
            return MemoryLimit(mib=int(raw) // MIB, source=source)
    return None


def memory_limit(
    task_memory_mib: int | None, root: Path = CGROUP_ROOT, source: str = "ECS task metadata"
) -> MemoryLimit | None:
    """The tightest limit we can see: the container's cgroup, else the task's memory (metadata or run spec)."""
    limit = read_cgroup_limit(root)
    if limit is not None:
        return limit
    if task_memory_mib:
        return MemoryLimit(mib=task_memory_mib, source=source)
    return None


def valid_memory_hint(task_cpu: str | int | float | None) -> str:
    """Valid EXECUTOR_TASK_MEMORY values for the task's CPU, in words."""
    try:
        cpu = int(float(task_cpu)) if task_cpu is not None else None
    except ValueError:
        cpu = None
    if cpu in FARGATE_MEMORY_BY_CPU:
        allowed = FARGATE_MEMORY_BY_CPU[cpu]
        low, high, step = allowed[0], allowed[-1], allowed[1] - allowed[0]
        return (
            f"with {ENV_TASK_CPU}={cpu} Fargate accepts {low} to {high} MiB in steps of {step}; "
            f"for more, raise {ENV_TASK_CPU} too (e.g. {ENV_TASK_CPU}={min(cpu * 2, MAX_CPU_UNITS)})"
        )
    return f"Fargate's valid values depend on {ENV_TASK_CPU} (e.g. 1024 CPU allows 2048-8192 MiB)"


def oom_message(limit: MemoryLimit | None, task_cpu: str | int | float | None) -> str:
    """The first line of the FAILURE report when the child was SIGKILLed."""
    if limit is not None:
        seen = f"the task's memory limit is {limit.mib} MiB (from {limit.source})"
        suggestion = limit.mib * 2
    else:
        seen = "the task's memory limit could not be read"
        suggestion = 8192
    return (
        "The ingestion ran out of memory: the ingestion process was killed (SIGKILL), "
        f"{seen}. To raise it, set {ENV_TASK_MEMORY} in the ingestion source's extra env vars "
        f"(e.g. {ENV_TASK_MEMORY}={suggestion}); {valid_memory_hint(task_cpu)}."
    )
