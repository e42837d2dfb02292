"""Fixtures for the runner's integration tests (helpers live in runner_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_harness import RunnerEnv


@pytest.fixture
def runner(gms_standin: Any, tmp_path: Path) -> Iterator[RunnerEnv]:
    yield RunnerEnv(gms_url=gms_standin.url, work_dir=tmp_path)
