"""What the run used, from the container's cgroup (v2, else v1), and what that says about its size.

Fargate gives each container a cgroup; `memory.peak` (Linux 5.19+) is the high-water mark, and
where it is absent (Fargate's 5.10 kernels) a sampler keeps the largest `memory.current` it saw.
`cpu.stat` `usage_usec` is the CPU time used. Anything missing leaves its figure out: sampling
must never fail a run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from executor_common.fargate_sizes import FARGATE_MEMORY_BY_CPU
from executor_common.runspec import ENV_TASK_MEMORY

MIB = 1024 * 1024
#: Under this share of the limit, a smaller size would do.
OVERSIZED_SHARE = 0.25
#: Within this share of the limit, the next run may be killed.
NEAR_LIMIT_SHARE = 0.85
#: A suggested size leaves this headroom over the peak.
HEADROOM = 1.5


def _read_int(path: Path) -> int | None:
    try:
        raw = path.read_text().strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None


def read_peak_bytes(root: Path) -> int | None:
    """cgroup v2 `memory.peak`, else v1 `memory.max_usage_in_bytes`."""
    return _read_int(root / "memory.peak") or _read_int(root / "memory" / "memory.max_usage_in_bytes")


def read_current_bytes(root: Path) -> int | None:
    return _read_int(root / "memory.current") or _read_int(root / "memory" / "memory.usage_in_bytes")


def read_cpu_seconds(root: Path) -> float | None:
    """cgroup v2 `cpu.stat` `usage_usec`, else v1 `cpuacct.usage` (nanoseconds)."""
    try:
        for line in (root / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
    except OSError:
        pass
    nanoseconds = _read_int(root / "cpuacct" / "cpuacct.usage")
    return nanoseconds / 1e9 if nanoseconds is not None else None


@dataclass(frozen=True)
class Usage:
    peak_bytes: int | None
    cpu_seconds: float | None


class UsageSampler:
    """Samples `memory.current` in a daemon thread until `stop()`; `stop()` returns what the run used."""

    def __init__(self, root: Path, interval_seconds: float = 1.0) -> None:
        self._root = root
        self._interval = interval_seconds
        self._done = threading.Event()
        self._sampled_peak: int | None = None
        self._cpu_start = read_cpu_seconds(root)
        self._thread = threading.Thread(target=self._loop, name="usage-sampler", daemon=True)

    def start(self) -> UsageSampler:
        self._sample()
        self._thread.start()
        return self

    def _sample(self) -> None:
        current = read_current_bytes(self._root)
        if current is not None:
            self._sampled_peak = max(current, self._sampled_peak or 0)

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            self._sample()

    def stop(self) -> Usage:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._sample()
        peaks = [p for p in (read_peak_bytes(self._root), self._sampled_peak) if p]
        cpu_end = read_cpu_seconds(self._root)
        cpu = cpu_end - (self._cpu_start or 0.0) if cpu_end is not None else None
        return Usage(peak_bytes=max(peaks) if peaks else None, cpu_seconds=cpu)


def _gib(mib: float) -> str:
    return f"{mib / 1024:.1f} GiB"


def memory_advice(peak_bytes: int | None, limit_mib: int | None, cpu_units: int | None) -> str | None:
    """A sentence when the run used under a quarter of its memory (a smaller size) or came near the limit."""
    if not peak_bytes or not limit_mib:
        return None
    peak_mib = peak_bytes / MIB
    if peak_mib > limit_mib:
        return None  # not this task's cgroup (a runner outside a container of its own): say nothing
    seen = f"Memory: peak {_gib(peak_mib)} of {_gib(limit_mib)}"
    allowed = FARGATE_MEMORY_BY_CPU.get(cpu_units or 0, ())
    if peak_mib >= NEAR_LIMIT_SHARE * limit_mib:
        bigger = next((m for m in allowed if m >= peak_mib * HEADROOM and m > limit_mib), None)
        advice = f"`{ENV_TASK_MEMORY}={bigger}`" if bigger else f"a larger {ENV_TASK_MEMORY} (and CPU)"
        return f"{seen}, within 15 % of the limit: the next run may run out of memory; {advice} leaves headroom."
    if peak_mib < OVERSIZED_SHARE * limit_mib:
        smaller = next((m for m in allowed if m >= peak_mib * HEADROOM), None)
        if smaller is not None and smaller < limit_mib:
            return f"{seen}: `{ENV_TASK_MEMORY}={smaller}` would do (peak x {HEADROOM} headroom, at this CPU)."
    return None


def cpu_fact(cpu_seconds: float | None, wall_seconds: float, vcpus: float | None) -> str | None:
    """How busy the task's CPUs were on average, e.g. "CPU: 0.3 of 1 vCPU on average"."""
    if cpu_seconds is None or wall_seconds <= 0 or not vcpus or cpu_seconds > 1.05 * vcpus * wall_seconds:
        return None  # more than the task's CPUs could do: not this task's cgroup
    return f"CPU: {cpu_seconds / wall_seconds:.2f} of {vcpus:g} vCPU on average ({cpu_seconds:,.0f} CPU-seconds)."
