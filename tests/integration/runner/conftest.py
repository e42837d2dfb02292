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


@pytest.fixture
def foreign_server() -> Iterator[Any]:
    """A server that is not the executor's GMS; it records what reaches it."""
    from foreign_server import ForeignServer

    server = ForeignServer().start()
    yield server
    server.stop()
