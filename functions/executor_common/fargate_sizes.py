"""The Fargate task-size table: which memory values each CPU value allows.

Pure data and checks, so a bad pair is refused with the list of valid values
instead of an opaque RunTask error.
"""

from __future__ import annotations

MIN_EPHEMERAL_GIB = 21
MAX_EPHEMERAL_GIB = 200


def _steps(start: int, stop: int, step: int) -> tuple[int, ...]:
    return tuple(range(start, stop + 1, step))


#: CPU units -> allowed memory in MiB (AWS Fargate task size table).
FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}
MAX_CPU_UNITS = max(FARGATE_MEMORY_BY_CPU)
MAX_MEMORY_MIB = FARGATE_MEMORY_BY_CPU[MAX_CPU_UNITS][-1]


def _as_int(value: str | int) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def size_problem(cpu: str | int, memory: str | int) -> str | None:
    """None when (cpu, memory) is a valid Fargate size, else a sentence naming the valid values."""
    cpu_units = _as_int(cpu)
    if cpu_units not in FARGATE_MEMORY_BY_CPU:
        valid = ", ".join(str(c) for c in FARGATE_MEMORY_BY_CPU)
        return f"CPU {cpu!s} is not a Fargate CPU value; use one of {valid}"
    memory_mib = _as_int(memory)
    allowed = FARGATE_MEMORY_BY_CPU[cpu_units]
    if memory_mib not in allowed:
        return f"memory {memory!s} MiB is not valid with CPU {cpu_units}; use one of {', '.join(map(str, allowed))}"
    return None


def smallest_memory_for(cpu: str | int) -> int | None:
    cpu_units = _as_int(cpu)
    return FARGATE_MEMORY_BY_CPU[cpu_units][0] if cpu_units in FARGATE_MEMORY_BY_CPU else None


def smallest_cpu_for(memory: str | int) -> int | None:
    memory_mib = _as_int(memory)
    return next((cpu for cpu, allowed in FARGATE_MEMORY_BY_CPU.items() if memory_mib in allowed), None)


def ephemeral_storage_problem(size_gib: str | int) -> str | None:
    size = _as_int(size_gib)
    if size is None or not MIN_EPHEMERAL_GIB <= size <= MAX_EPHEMERAL_GIB:
        return f"ephemeral storage {size_gib!s} GiB is outside Fargate's {MIN_EPHEMERAL_GIB}-{MAX_EPHEMERAL_GIB} GiB"
    return None
