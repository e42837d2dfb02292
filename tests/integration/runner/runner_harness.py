"""Helpers for running the real runner (`python -m executor_runner`) as a subprocess (fixtures: conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from executor_common.runspec import ENV_RUN_SPEC, RunSpec

from tests.conftest import REPO_ROOT

CHILDREN = Path(__file__).resolve().parent / "children"
#: The test entry point that runs the real runner with a fake child (not part of the image).
FAKE_CHILD_RUNNER = Path(__file__).resolve().parent / "fake_child_runner.py"
TOKEN = "test-token"


def make_spec(
    execution_id: str = "run-1",
    recipe: dict[str, Any] | None = None,
    **fields: Any,
) -> RunSpec:
    recipe = recipe if recipe is not None else {"source": {"type": "file", "config": {"path": "/dev/null"}}}
    return RunSpec(
        execution_request_urn=f"urn:li:dataHubExecutionRequest:{execution_id}",
        execution_id=execution_id,
        task=fields.pop("task", "RUN_INGEST"),
        recipe=json.dumps(recipe),
        **fields,
    )


def child(name: str, *args: str) -> list[str]:
    """The argv of one of the fake children (run with this interpreter) for `child=`; `{report_file}` is substituted."""
    return [sys.executable, str(CHILDREN / name), *args]


@dataclass
class RunnerEnv:
    gms_url: str
    work_dir: Path

    def env(self, spec: RunSpec, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.work_dir),
            "LANG": "C.UTF-8",
            "DATAHUB_GMS_URL": self.gms_url,
            "DATAHUB_GMS_TOKEN": TOKEN,
            ENV_RUN_SPEC: spec.model_dump_json(),
            "RUNNER_WORK_DIR": str(self.work_dir / "runs"),
            "RUNNER_PROGRESS_INTERVAL_SECONDS": "0.5",
            "RUNNER_TERMINAL_WRITE_DEADLINE_SECONDS": "20",
            "RUNNER_KILL_GRACE_SECONDS": "3",
            "DATAHUB_TELEMETRY_ENABLED": "false",
            "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("functions", "runner")),
        }
        env.update(extra or {})
        return env

    def command(self, child: list[str] | None = None) -> list[str]:
        """The production entry point, or the test entry point running `child` instead of `datahub ingest`."""
        if child is None:
            return [sys.executable, "-m", "executor_runner"]
        return [sys.executable, str(FAKE_CHILD_RUNNER), json.dumps(child)]

    def start(
        self, spec: RunSpec, extra: dict[str, str] | None = None, child: list[str] | None = None
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(child),
            env=self.env(spec, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.work_dir,
        )

    def run(
        self, spec: RunSpec, extra: dict[str, str] | None = None, timeout: float = 120, child: list[str] | None = None
    ) -> RunnerResult:
        process = self.start(spec, extra, child)
        stdout, stderr = process.communicate(timeout=timeout)
        return RunnerResult(process.returncode, stdout, stderr)


@dataclass
class RunnerResult:
    returncode: int
    stdout: str
    stderr: str
