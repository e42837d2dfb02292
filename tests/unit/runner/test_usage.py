"""What a run used, read from a fake cgroup directory, and the size advice it leads to."""

from __future__ import annotations

from pathlib import Path

import pytest
from executor_runner.usage import MIB, UsageSampler, cpu_fact, memory_advice, read_cpu_seconds, read_peak_bytes

GIB = 1024 * MIB


def _cgroup(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        path = tmp_path / name.replace("__", "/").replace("_dot_", ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_read_peak_bytes_v2_memory_peak(tmp_path):
    root = _cgroup(tmp_path, memory_dot_peak=f"{GIB}\n")
    assert read_peak_bytes(root) == GIB


def test_read_cpu_seconds_v2_cpu_stat(tmp_path):
    root = _cgroup(tmp_path, cpu_dot_stat="usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    assert read_cpu_seconds(root) == 2.5


def test_usage_sampler_without_memory_peak_keeps_largest_current(tmp_path):
    # GIVEN a 5.10 kernel: memory.current only, which rises then falls during the run
    (tmp_path / "memory.current").write_text(str(3 * GIB))
    sampler = UsageSampler(tmp_path, interval_seconds=0.01).start()
    (tmp_path / "memory.current").write_text(str(GIB))
    usage = sampler.stop()
    assert usage.peak_bytes == 3 * GIB
    assert usage.cpu_seconds is None


def test_usage_sampler_no_cgroup_reports_nothing(tmp_path):
    usage = UsageSampler(tmp_path / "absent", interval_seconds=0.01).start().stop()
    assert (usage.peak_bytes, usage.cpu_seconds) == (None, None)


@pytest.mark.parametrize(
    ("peak_mib", "limit_mib", "cpu", "expected"),
    [
        # 1.1 GiB of 8 GiB at 1 vCPU: 1.1 * 1.5 = 1.65 GiB -> the smallest valid value at 1024 CPU is 2048
        (1126, 8192, 1024, "Memory: peak 1.1 GiB of 8.0 GiB: `EXECUTOR_TASK_MEMORY=2048` would do"),
        # 3 GiB of 16 GiB at 2 vCPU: 4.5 GiB -> 5120
        (3072, 16384, 2048, "Memory: peak 3.0 GiB of 16.0 GiB: `EXECUTOR_TASK_MEMORY=5120` would do"),
        # 7.2 GiB of 8 GiB: within 15 %; 10.8 GiB is beyond 1 vCPU's range
        (7373, 8192, 1024, "within 15 % of the limit"),
        # 3.5 GiB of 4 GiB at 2 vCPU: 5.25 GiB -> 6144
        (3584, 4096, 2048, "`EXECUTOR_TASK_MEMORY=6144` leaves headroom"),
    ],
)
def test_memory_advice_table(peak_mib, limit_mib, cpu, expected):
    advice = memory_advice(peak_mib * MIB, limit_mib, cpu)
    assert advice is not None and expected in advice


@pytest.mark.parametrize(
    ("peak_mib", "limit_mib", "cpu"),
    [
        (4096, 8192, 1024),  # half: fine as is
        (400, 2048, 1024),  # under a quarter, but 2048 is already the smallest at 1 vCPU
        (None, 8192, 1024),  # nothing measured
        (1024, None, 1024),  # no limit known
        (9000, 8192, 1024),  # above the limit: not this task's cgroup
    ],
)
def test_memory_advice_none_when_nothing_to_say(peak_mib, limit_mib, cpu):
    assert memory_advice(peak_mib * MIB if peak_mib else None, limit_mib, cpu) is None


def test_cpu_fact_average_busy_vcpus():
    assert cpu_fact(30.0, 100.0, 1.0) == "CPU: 0.30 of 1 vCPU on average (30 CPU-seconds)."
    assert cpu_fact(None, 100.0, 1.0) is None
    assert cpu_fact(171.0, 100.0, 1.0) is None  # more than one vCPU can do: the host's cgroup, not the task's
