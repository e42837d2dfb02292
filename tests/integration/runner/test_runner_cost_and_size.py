"""The final report tells what the run cost and used, and whether a smaller size would do (issue 15)."""

from __future__ import annotations

import pytest
from runner_harness import child, make_spec

from local_stack.task_metadata import TaskMetadataServer, task_metadata

TASK_ID = "5a69788796a5b4c3d2e1f00f1e2d3c4b"
TASK_ARN = f"arn:aws:ecs:us-east-1:123456789012:task/datahub-executor/{TASK_ID}"
MIB = 1024 * 1024


@pytest.fixture
def metadata_uri():
    """The task metadata endpoint of a 1 vCPU / 8192 MiB task with 50 GiB of ephemeral storage."""
    server = TaskMetadataServer().start()
    definition = {"family": "datahub-executor-runner", "containerDefinitions": [{"name": "runner", "image": "runner"}]}
    document = task_metadata({"taskArn": TASK_ARN, "cpu": "1024", "memory": "8192"}, definition)
    document["EphemeralStorageMetrics"] = {"Utilized": 300, "Reserved": 50 * 1024}
    try:
        yield server.register(TASK_ID, document)
    finally:
        server.stop()


@pytest.fixture
def cgroup(tmp_path):
    """A cgroup v2 directory as Fargate's container sees it: 8 GiB limit, 1.1 GiB peak, 12 CPU-seconds."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "memory.max").write_text(f"{8192 * MIB}\n")
    (root / "memory.peak").write_text(f"{1126 * MIB}\n")
    (root / "memory.current").write_text(f"{700 * MIB}\n")
    (root / "cpu.stat").write_text("usage_usec 12000000\nuser_usec 10000000\nsystem_usec 2000000\n")
    return root


def test_runner_report_states_cost_and_right_size(runner, gms_standin, metadata_uri, cgroup):
    # GIVEN a Spot run of 1 vCPU / 8 GiB / 50 GiB storage whose ingestion peaked at 1.1 GiB
    spec = make_spec("cost-1")
    extra = {
        "ECS_CONTAINER_METADATA_URI_V4": metadata_uri,
        "RUNNER_CGROUP_ROOT": str(cgroup),
        "CAPACITY_PROVIDER": "FARGATE_SPOT",
    }

    # WHEN it succeeds
    result = runner.run(spec, extra, child=child("exit_code.py", "0"))

    # THEN DataHub's report states the estimate with its meters, and the smaller size that would do
    assert result.returncode == 0, result.stderr
    head = gms_standin.result(spec.execution_request_urn)["report"].split("~~~~ Execution Summary")[0]
    assert "Estimated cost: $" in head
    assert "(Fargate Spot; 60 vCPU-seconds, 480 GB-seconds, 1,800 GB-seconds of ephemeral storage over 20 GiB;" in head
    assert "image pull over NAT" in head
    assert "Memory: peak 1.1 GiB of 8.0 GiB: `EXECUTOR_TASK_MEMORY=2048` would do" in head
    assert "CPU: " in head and "of 1 vCPU on average" in head


def test_runner_report_without_cgroup_or_metadata_leaves_usage_out(runner, gms_standin, tmp_path):
    # GIVEN no task metadata and no cgroup files (outside ECS)
    spec = make_spec("cost-2")

    result = runner.run(spec, {"RUNNER_CGROUP_ROOT": str(tmp_path / "none")}, child=child("exit_code.py", "0"))

    # THEN the run still succeeds, and the report makes no claim it cannot back
    assert result.returncode == 0, result.stderr
    report = gms_standin.result(spec.execution_request_urn)["report"]
    assert "Memory: peak" not in report and "would do" not in report
