"""The Fargate size table, as a table."""

from __future__ import annotations

import pytest
from executor_common.fargate_sizes import (
    FARGATE_MEMORY_BY_CPU,
    ephemeral_storage_problem,
    size_problem,
    smallest_cpu_for,
    smallest_memory_for,
)

VALID = [
    ("256", "512"), ("256", "2048"), ("512", "1024"), ("512", "4096"), ("1024", "2048"), ("1024", "8192"),
    ("2048", "4096"), ("2048", "16384"), ("4096", "8192"), ("4096", "30720"), ("8192", "16384"),
    ("8192", "61440"), ("16384", "32768"), ("16384", "122880"), (1024, 4096),
]  # fmt: skip
INVALID = [
    ("256", "4096", "use one of 512, 1024, 2048"),
    ("512", "512", "use one of 1024, 2048, 3072, 4096"),
    ("1024", "1024", "use one of 2048, 3072, 4096, 5120, 6144, 7168, 8192"),
    ("2048", "3072", "memory 3072 MiB is not valid with CPU 2048"),
    ("4096", "31744", "memory 31744 MiB is not valid with CPU 4096"),
    ("8192", "20000", "use one of 16384, 20480,"),
    ("16384", "36864", "use one of 32768, 40960,"),
    ("3000", "4096", "CPU 3000 is not a Fargate CPU value; use one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
    ("1 vCPU", "4096", "CPU 1 vCPU is not a Fargate CPU value"),
    ("1024", "4GB", "memory 4GB MiB is not valid with CPU 1024"),
]


@pytest.mark.parametrize(("cpu", "memory"), VALID)
def test_size_problem_valid_pair_is_none(cpu, memory):
    assert size_problem(cpu, memory) is None


@pytest.mark.parametrize(("cpu", "memory", "expected"), INVALID)
def test_size_problem_invalid_pair_names_valid_values(cpu, memory, expected):
    problem = size_problem(cpu, memory)
    assert problem is not None and expected in problem


def test_table_step_sizes_match_fargate():
    assert FARGATE_MEMORY_BY_CPU[8192][1] - FARGATE_MEMORY_BY_CPU[8192][0] == 4096
    assert FARGATE_MEMORY_BY_CPU[16384][1] - FARGATE_MEMORY_BY_CPU[16384][0] == 8192
    assert len(FARGATE_MEMORY_BY_CPU[4096]) == 23  # 8 GiB .. 30 GiB by 1 GiB


@pytest.mark.parametrize(("size", "ok"), [(21, True), ("200", True), (20, False), (201, False), ("lots", False)])
def test_ephemeral_storage_problem_bounds(size, ok):
    assert (ephemeral_storage_problem(size) is None) is ok


def test_smallest_compatible_values():
    assert smallest_memory_for("4096") == 8192
    assert smallest_cpu_for("30720") == 4096
    assert smallest_cpu_for("999") is None
