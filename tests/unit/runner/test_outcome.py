"""Turning the child's exit into DataHub's status and the sentence a user needs first."""

from __future__ import annotations

import json
import signal

import pytest
from executor_common.runspec import RunSpec
from executor_runner.run import human_duration, interpret_exit
from executor_runner.supervisor import ChildExit, StopReason
from executor_runner.task_metadata import TaskMetadata

SPEC = RunSpec(
    execution_request_urn="urn:li:dataHubExecutionRequest:abc",
    execution_id="abc",
    task="RUN_INGEST",
    recipe=json.dumps({"source": {"type": "file"}}),
    run_timeout_seconds=5400,
    task_cpu="2048",
)


METADATA = TaskMetadata(memory_mib=4096)


@pytest.mark.parametrize(
    ("exit_", "status", "first_line"),
    [
        (ChildExit(0, None), "SUCCESS", "~~~~"),
        (ChildExit(1, None), "FAILURE", None),
        (ChildExit(-signal.SIGKILL, None), "FAILURE", "The ingestion ran out of memory"),
        (ChildExit(-signal.SIGKILL, StopReason.TIMEOUT), "FAILURE", "The ingestion timed out after 1h 30m"),
        (ChildExit(-signal.SIGTERM, StopReason.CANCELLED), "CANCELLED", "The run was cancelled"),
        (ChildExit(-signal.SIGSEGV, None), "FAILURE", "The ingestion process was killed by signal 11"),
    ],
)
def test_interpret_exit(tmp_path, exit_, status, first_line):
    outcome = interpret_exit(exit_, SPEC, METADATA, tmp_path)

    assert outcome.status == status
    if first_line and first_line != "~~~~":
        assert outcome.headline.startswith(first_line)
    else:
        assert outcome.headline is None


def test_interpret_exit_oom_uses_task_metadata_limit_when_no_cgroup(tmp_path):
    outcome = interpret_exit(ChildExit(-signal.SIGKILL, None), SPEC, METADATA, tmp_path)

    assert "4096 MiB (from ECS task metadata)" in outcome.headline
    assert "EXECUTOR_TASK_CPU=2048" in outcome.headline


@pytest.mark.parametrize(("seconds", "text"), [(86400, "1d"), (90, "1m 30s"), (5, "5s"), (0, "0s")])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_interpret_exit_oom_without_metadata_uses_the_run_task_size(tmp_path):
    spec = SPEC.model_copy(update={"task_memory": "8192"})
    outcome = interpret_exit(ChildExit(-signal.SIGKILL, None), spec, TaskMetadata(), tmp_path)

    assert "8192 MiB (from the run's task size)" in outcome.headline
